"""Building blocks around the recurrent layers: embedding, linear, dropout, softmax and losses (cross-entropy,
mean squared error, connectionist temporal classification: ``ctc_loss`` and its decoders), the output layer
fused with its loss (``LinearCrossEntropy``) that language models and decoders use, and attention pooling of a
sequence's states into one vector (``attention_pool_forward``).

Each block is a pair of functions, ``forward(...) -> (out, cache)`` and
``backward(dout, cache) -> (dinput, grads)``, with ``grads`` keyed like PyTorch's parameters; the losses'
backward returns the gradient of their input alone (``softmax_cross_entropy_backward(dloss, cache) ->
dlogits``), and ``softmax`` / ``log_softmax`` are plain functions with no backward of their own.
``Embedding`` and ``Linear`` are thin holders of a ``params`` dict around those functions.
"""
from rnnkit.nn.attention_pool import (
    AttentionPoolCache,
    attention_pool_backward,
    attention_pool_forward,
    init_attention_pool,
)
from rnnkit.nn.ctc import CTCCache, ctc_loss, ctc_loss_backward
from rnnkit.nn.ctc_decode import ctc_beam_decode, ctc_greedy_decode
from rnnkit.nn.dropout import DropoutCache, dropout_backward, dropout_forward, variational_dropout_forward
from rnnkit.nn.embedding import Embedding, EmbeddingCache, embedding_backward, embedding_forward
from rnnkit.nn.linear import Linear, LinearCache, add_tied_grad, linear_backward, linear_forward, tie_weights
from rnnkit.nn.linear_softmax import LinearCrossEntropy, LinearCrossEntropyCache
from rnnkit.nn.mse import MSECache, mse_loss, mse_loss_backward
from rnnkit.nn.softmax import (
    CrossEntropyCache,
    log_softmax,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_backward,
)

__all__ = [
    "AttentionPoolCache",
    "CTCCache",
    "CrossEntropyCache",
    "DropoutCache",
    "Embedding",
    "EmbeddingCache",
    "Linear",
    "LinearCache",
    "LinearCrossEntropy",
    "LinearCrossEntropyCache",
    "MSECache",
    "add_tied_grad",
    "attention_pool_backward",
    "attention_pool_forward",
    "ctc_beam_decode",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_loss_backward",
    "dropout_backward",
    "dropout_forward",
    "embedding_backward",
    "embedding_forward",
    "init_attention_pool",
    "linear_backward",
    "linear_forward",
    "log_softmax",
    "mse_loss",
    "mse_loss_backward",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "tie_weights",
    "variational_dropout_forward",
]
