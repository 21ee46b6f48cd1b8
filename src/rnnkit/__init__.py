"""rnnkit: recurrent neural networks in numpy, with hand-derived and verified gradients.

The main pieces, each in its own module:

- ``rnnkit.recurrent``: :class:`RNN`, :class:`LSTM`, :class:`GRU` stacks (PyTorch's names and layouts);
- ``rnnkit.cells``: the single-direction kernels with the equations;
- ``rnnkit.rtrl``: real-time recurrent learning;
- ``rnnkit.nn``, ``rnnkit.init``, ``rnnkit.optim``: blocks, initialisation, optimizers;
- ``rnnkit.lm``, ``rnnkit.crf``, ``rnnkit.hmm``: language models, CRF output layer, HMM baseline;
- ``rnnkit.train``, ``rnnkit.checkpoint``, ``rnnkit.torch_io``: training loop, checkpoints, PyTorch interop.
"""
from rnnkit._version import __version__
from rnnkit.checkpoint import load_checkpoint, save_checkpoint
from rnnkit.errors import CheckpointError, DataError, RnnkitError, TrainingDivergedError
from rnnkit.recurrent import GRU, LSTM, RNN, RecurrentConfig, make_recurrent

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "CheckpointError",
    "DataError",
    "RecurrentConfig",
    "RnnkitError",
    "TrainingDivergedError",
    "__version__",
    "load_checkpoint",
    "make_recurrent",
    "save_checkpoint",
]
