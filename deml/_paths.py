"""Where the DeML checkout is: the source tree holding configs/, contracts/ and node_modules/.

DeML installs editable from a checkout (`make setup`); the tools it drives (anvil, solcjs,
the dashboard's chart library) and its default configs live beside the package, not in it.
"""

from __future__ import annotations

from pathlib import Path

# deml/_paths.py -> deml/ -> the checkout.
CHECKOUT = Path(__file__).resolve().parents[1]


def checkout() -> Path:
    """The source tree this package was installed from."""
    return CHECKOUT


def node_modules() -> Path:
    """The checkout's npm packages (anvil, solc, OpenZeppelin, uPlot)."""
    return CHECKOUT / "node_modules"
