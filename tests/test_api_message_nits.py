"""Wording of a few refusals met when using rnnkit as a library: beam_search's nbest range, training without an
rng, torch_io's articles, and HMMTagger's order refused when it is built."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.hmm import HMMTagger
from rnnkit.seq2seq import Seq2Seq, Seq2SeqConfig, beam_search
from rnnkit.tagging import Tagger, TaggerConfig, TaggerEncoder, TaggingData, make_batch


def test_beam_search_says_nbest_is_at_most_beam_size():
    model = Seq2Seq(Seq2SeqConfig(src_vocab_size=6, tgt_vocab_size=6, src_embedding_dim=4, tgt_embedding_dim=4,
                                  encoder_hidden_size=4, decoder_hidden_size=4, attention_size=4),
                    np.random.default_rng(0))
    src = np.array([[3], [4]])
    with pytest.raises(ValueError, match=r"^Expected nbest to be an integer in \[1, beam_size\] = \[1, 2\], got 3$"):
        beam_search(model, src, np.array([2]), beam_size=2, max_len=3, bos=1, eos=2, nbest=3)
    assert len(beam_search(model, src, np.array([2]), beam_size=2, max_len=3, bos=1, eos=2, nbest=2)[0]) == 2


def test_training_without_an_rng_says_how_to_give_one():
    data = TaggingData([["a", "b"]], [["X", "Y"]], None)
    enc = TaggerEncoder.build(data)
    model = Tagger(TaggerConfig(vocab_size=len(enc.words), num_tags=len(enc.tags), embedding_dim=4, hidden_size=4,
                                dropout=0.5), np.random.default_rng(0))
    batch = make_batch(enc.encode(data), np.arange(1))
    with pytest.raises(TypeError, match=r"^Expected rng .*got NoneType: .*rng=np\.random\.default_rng\(seed\)"):
        model.loss(batch, training=True)
    model.loss(batch, training=True, rng=np.random.default_rng(1))


def test_layer_from_torch_uses_the_right_article():
    torch = pytest.importorskip("torch")
    from rnnkit.torch_io import layer_from_torch

    with pytest.raises(ValueError, match=r"^Expected an LSTM with proj_size=0"):
        layer_from_torch(torch.nn.LSTM(4, 3, proj_size=2))
    with pytest.raises(ValueError, match=r"^Expected an RNN with bias=True"):
        layer_from_torch(torch.nn.RNN(4, 3, bias=False))
    with pytest.raises(ValueError, match=r"^Expected a GRU with batch_first=False"):
        layer_from_torch(torch.nn.GRU(4, 3, batch_first=True))


@pytest.mark.parametrize("options", [{"order": 4}, {"emission": "kn"}, {"k": 0.0}, {"rare_threshold": 0}])
def test_hmm_tagger_refuses_a_bad_option_when_built(options):
    with pytest.raises(ValueError, match="^Expected "):
        HMMTagger(**options)
