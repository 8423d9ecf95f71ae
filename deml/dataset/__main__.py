"""`python -m deml.dataset prepare|package`: the dvc.yaml stages (see deml.dataset.pipeline)."""

import sys

from deml.dataset.pipeline import main

sys.exit(main())
