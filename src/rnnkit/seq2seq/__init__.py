"""Sequence to sequence: an attentional encoder-decoder, a vector-conditioned decoder, decoding, toy tasks.

    model = Seq2Seq(Seq2SeqConfig(src_vocab_size=12, tgt_vocab_size=12, cell="gru"), rng)
    loss, cache = model.forward(src, src_lengths, tgt_in, tgt_out, tgt_mask, training=True, rng=rng)
    grads = model.backward(1.0 / tgt_mask.sum(), cache)
    hyps = beam_search(model, src, src_lengths, beam_size=5, max_len=50, bos=1, eos=2, length_norm=0.6)

Text in, text out: ``from rnnkit.seq2seq.translate import translate``, then
``translate(load_translator(path), ["ein hund ."], beam_size=5)`` (the package does not re-export it: the name
would hide its module ``rnnkit.seq2seq.translate``).
"""
from rnnkit.seq2seq.decode import Hypothesis, beam_search, greedy_decode, length_penalty
from rnnkit.seq2seq.io import Translator, load_translator, save_translator
from rnnkit.seq2seq.model import Seq2Seq, Seq2SeqConfig, VectorDecoder, VectorDecoderConfig
from rnnkit.seq2seq.task import Seq2SeqTask

__all__ = [
    "Hypothesis",
    "Seq2Seq",
    "Seq2SeqConfig",
    "Seq2SeqTask",
    "Translator",
    "VectorDecoder",
    "VectorDecoderConfig",
    "beam_search",
    "greedy_decode",
    "length_penalty",
    "load_translator",
    "save_translator",
]
