"""DeML: decentralized machine-learning competitions on Ethereum."""

import os
from importlib.metadata import PackageNotFoundError, version

# ONNX Runtime otherwise starts a telemetry thread and keeps a database (a device id, the graph
# names of every model it loads: hostile ones too) under ~/.cache/Microsoft/. Set before any
# DeML module loads it; the scoring sandbox sets it in its own clean environment as well.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

try:
    __version__ = version("deml")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
