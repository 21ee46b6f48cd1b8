"""rnnkit: recurrent neural networks in numpy, with hand-derived and verified gradients."""
from rnnkit._version import __version__

__all__ = ["__version__"]
