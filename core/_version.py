"""The installed version of trainhooks."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trainhooks")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
