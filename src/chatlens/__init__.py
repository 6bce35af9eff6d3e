"""chatlens: self-hosted analytics for chatbots and live chat."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chatlens")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
