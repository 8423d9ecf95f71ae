"""DeML: decentralized machine-learning competitions on Ethereum."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deml")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
