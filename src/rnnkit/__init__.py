"""rnnkit: recurrent neural networks in numpy, with hand-derived and verified gradients.

The main pieces, each in its own module:

- ``rnnkit.recurrent``: :class:`RNN`, :class:`LSTM`, :class:`GRU` stacks (PyTorch's names and layouts);
- ``rnnkit.cells``: the single-direction kernels with the equations;
- ``rnnkit.rtrl``: real-time recurrent learning;
- ``rnnkit.nn``, ``rnnkit.init``, ``rnnkit.optim``: blocks, initialisation, optimizers;
- ``rnnkit.lm``: RNN and n-gram language models, sampling, perplexity;
- ``rnnkit.tagging``, ``rnnkit.crf``, ``rnnkit.hmm``: sequence labelling (BiLSTM-CRF taggers and segmenters),
  the CRF output layer, the HMM baseline;
- ``rnnkit.classify``: sentence classifiers; ``rnnkit.seq2seq``: encoder-decoder with attention, beam
  search; ``rnnkit.treenet``: recursive networks over trees;
- ``rnnkit.diagnostics``: gradient norms through time (vanishing and exploding gradients);
- ``rnnkit.train``, ``rnnkit.checkpoint``, ``rnnkit.torch_io``: training loop, checkpoints, PyTorch interop;
- ``rnnkit.export``, ``rnnkit.export_torch``, ``rnnkit.export_onnx``: a trained model without its training state,
  to ship (or for PyTorch, or as an ONNX graph for onnxruntime).
"""
from __future__ import annotations

from rnnkit._lazy import lazy_exports
from rnnkit._version import __version__
from rnnkit.errors import CheckpointError, DataError, RnnkitError, TrainingDivergedError

# loaded on first use (PEP 562), so that `import rnnkit` and the command line's start do not wait for
# numpy: a Ctrl-C in that time would otherwise end in a traceback rather than the CLI's one line
_LAZY = {"load_checkpoint": "rnnkit.checkpoint", "save_checkpoint": "rnnkit.checkpoint",
         "GRU": "rnnkit.recurrent", "LSTM": "rnnkit.recurrent", "RNN": "rnnkit.recurrent",
         "RecurrentConfig": "rnnkit.recurrent", "make_recurrent": "rnnkit.recurrent"}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


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
