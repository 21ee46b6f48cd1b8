"""The configurations of the encoder-decoder models: :class:`Seq2SeqConfig` for
:class:`rnnkit.seq2seq.model.Seq2Seq` and :class:`VectorDecoderConfig` for
:class:`rnnkit.seq2seq.vector_decoder.VectorDecoder`, checked when made (sizes positive, a known cell
and attention, rates in [0, 1), flags stored as Python bools for the checkpoint's JSON metadata).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rnnkit.cells.layout import KERNELS
from rnnkit.checks import check_bool, check_dtype_name, check_int, check_rate
from rnnkit.fielddoc import fields_in_doc
from rnnkit.recurrent_checks import ln_over_one_unit
from rnnkit.seq2seq.attention import KINDS


def _check_tie(config: Any, embedding: str, hidden: str) -> None:
    """With ``tie_weights``, the target embedding size (field ``embedding``) must equal the decoder's hidden
    size (field ``hidden``): the output layer reads h~_t (B, H), and its (V, H) weight can be the (V, E)
    target embedding only if E == H."""
    e, h = getattr(config, embedding), getattr(config, hidden)
    if config.tie_weights and e != h:
        raise ValueError(f"Expected {embedding} == {hidden} to tie the output layer to the target embedding, got "
                         f"{embedding}={e} and {hidden}={h}: make them equal or set tie_weights=False")


def _check_layer_norm(config: Any, *hidden: str) -> None:
    """``layer_norm`` with one hidden unit in a field of ``hidden`` for the Elman RNN or the LSTM (LN over one
    unit is its shift whatever it reads): ValueError."""
    for name in hidden:
        why = ln_over_one_unit(config.cell, config.layer_norm, getattr(config, name))
        if why:
            raise ValueError(f"Expected {name} >= 2 with layer_norm=True for {config.cell.upper()} ({why}), got 1")


def _check_common(cfg: Any, ints: tuple[str, ...], bools: tuple[str, ...]) -> None:
    for name in bools:  # stored as Python bools: the checkpoint's JSON metadata holds them
        object.__setattr__(cfg, name, check_bool(name, getattr(cfg, name)))
    for name in ints:
        check_int(name, getattr(cfg, name), 1)
    if cfg.cell not in KERNELS:
        raise ValueError(f"Expected cell 'rnn', 'lstm' or 'gru', got {cfg.cell!r}")
    for name in ("dropout", "weight_drop"):
        check_rate(name, getattr(cfg, name))
    object.__setattr__(cfg, "dtype", check_dtype_name("dtype", cfg.dtype))  # np.float64 too, kept as its name


@fields_in_doc
@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes, cell, attention and dropout of a :class:`Seq2Seq`."""

    src_vocab_size: int  # V_src
    tgt_vocab_size: int  # V
    cell: str = "lstm"  # rnn (tanh), lstm or gru, for encoder and decoder
    src_embedding_dim: int = 64
    tgt_embedding_dim: int = 64  # E
    encoder_hidden_size: int = 128  # H_enc, per direction
    decoder_hidden_size: int = 128  # H
    encoder_layers: int = 1
    decoder_layers: int = 1  # L
    bidirectional: bool = True  # encoder only
    attention: str = "general"  # none, additive (Bahdanau's score, Luong's placement), dot or general (Luong)
    attention_size: int = 128  # A, additive only
    input_feeding: bool = True  # feed h~_{t-1} into the decoder's first layer
    dropout: float = 0.0  # embeddings, between layers, on h~
    dtype: str = "float32"
    weight_drop: float = 0.0  # DropConnect on the encoder's and the decoder's W_hh, one mask per batch
    tie_weights: bool = False  # output.weight is tgt_embedding.weight (Press & Wolf 2017; needs E == H)
    residual: bool = False  # encoder only: residual connections between its layers, from the second on (GNMT)
    peephole: bool = False  # LSTM only, encoder and decoder: peephole connections (weight_ci, weight_cf, weight_co)
    layer_norm: bool = False  # encoder and decoder: layer-normalized cells (Ba, Kiros & Hinton 2016; ln_*_l{k})
    copy: bool = False  # copy attention, the pointer-generator (See et al. 2017; rnnkit.seq2seq.copy): needs attention
    coverage: bool = False  # coverage (Tu et al. 2016; rnnkit.seq2seq.coverage): needs additive attention

    def __post_init__(self) -> None:
        _check_common(self, ("src_vocab_size", "tgt_vocab_size", "src_embedding_dim", "tgt_embedding_dim",
                             "encoder_hidden_size", "decoder_hidden_size", "encoder_layers", "decoder_layers",
                             "attention_size"), ("bidirectional", "input_feeding", "tie_weights", "residual",
                                                 "peephole", "layer_norm", "copy", "coverage"))
        if self.copy and self.attention == "none":
            raise ValueError("Expected an attention other than 'none' for copy=True (the copy distribution is the "
                             "attention weights), got attention='none'")
        if self.coverage and self.attention != "additive":
            raise ValueError(f"Expected attention='additive' for coverage=True (the coverage term sits inside the "
                             f"additive score's tanh; {self.attention!r} has none), got attention={self.attention!r}")
        if self.peephole and self.cell != "lstm":
            raise ValueError(f"Expected peephole=False for cell {self.cell!r} (peepholes read an LSTM's cell c), "
                             "got True")
        _check_layer_norm(self, "encoder_hidden_size", "decoder_hidden_size")
        _check_tie(self, "tgt_embedding_dim", "decoder_hidden_size")
        if self.attention not in KINDS:
            raise ValueError(f"Expected attention one of {KINDS}, got {self.attention!r}")
        hk = self.encoder_hidden_size * (2 if self.bidirectional else 1)
        if self.attention == "dot" and hk != self.decoder_hidden_size:
            raise ValueError(f"Expected decoder_hidden_size == {hk} (dirs * encoder_hidden_size) for dot "
                             f"attention, got {self.decoder_hidden_size}")

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)


@fields_in_doc
@dataclass(frozen=True)
class VectorDecoderConfig:
    """Sizes, cell and dropout of a :class:`VectorDecoder`."""

    feature_size: int  # F
    tgt_vocab_size: int  # V
    cell: str = "gru"
    embedding_dim: int = 32  # E
    hidden_size: int = 64  # H
    num_layers: int = 1  # L
    input_feeding: bool = False
    dropout: float = 0.0
    dtype: str = "float32"
    weight_drop: float = 0.0  # DropConnect on the decoder's W_hh, one mask per batch
    tie_weights: bool = False  # output.weight is tgt_embedding.weight (Press & Wolf 2017; needs E == H)

    def __post_init__(self) -> None:
        _check_common(self, ("feature_size", "tgt_vocab_size", "embedding_dim", "hidden_size", "num_layers"),
                      ("input_feeding", "tie_weights"))
        _check_tie(self, "embedding_dim", "hidden_size")

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict of its fields."""
        return asdict(self)
