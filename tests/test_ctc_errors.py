"""rnnkit.nn.ctc and its decoders refuse bad arguments in one line that names the fix."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.nn import ctc_beam_decode, ctc_greedy_decode, ctc_loss, ctc_loss_backward

LOGITS = np.zeros((5, 2, 4))  # (T, B, C)
TARGETS = np.array([[1, 2], [3, 0]])
INPUT_LENGTHS = np.array([5, 4])
TARGET_LENGTHS = np.array([2, 1])


def _refused(kind, match, **changes):
    args = {"logits": LOGITS, "targets": TARGETS, "input_lengths": INPUT_LENGTHS, "target_lengths": TARGET_LENGTHS}
    args.update(changes)
    with pytest.raises(kind, match=match) as info:
        ctc_loss(**args)
    message = str(info.value)
    assert "\n" not in message and message.startswith("Expected "), message
    return message


@pytest.mark.parametrize("kind,match,changes", [
    (ValueError, r"Expected target_lengths <= input_lengths \(one frame per label at least\), got 3 > 2 for "
                 r"sequence 0: .*or pass zero_infinity=True",
     {"targets": np.array([[1, 2, 3], [3, 0, 0]]), "target_lengths": np.array([3, 1]),
      "input_lengths": np.array([2, 4])}),
    (ValueError, r"Expected no target label equal to the blank 0: .*pass the blank's index as blank",
     {"targets": np.array([[1, 0], [3, 0]]), "target_lengths": np.array([2, 1])}),
    (ValueError, r"Expected target labels in \[0, 4\) \(C = 4 classes\), got 4",
     {"targets": np.array([[1, 4], [3, 0]])}),
    (ValueError, r"Expected input_lengths in \[1, 5\] \(T, the logits' first axis\), got 6 for sequence 1",
     {"input_lengths": np.array([5, 6])}),
    (ValueError, r"Expected input_lengths in \[1, 5\] .*got 0 for sequence 0", {"input_lengths": np.array([0, 4])}),
    (ValueError, r"Expected input_lengths of shape \(2,\) \(one per sequence of the batch\), got \(3,\)",
     {"input_lengths": np.array([5, 4, 3])}),
    (TypeError, r"Expected input_lengths to be an integer numpy array \(B,\), got float64",
     {"input_lengths": np.array([5.0, 4.0])}),
    (ValueError, r"Expected target_lengths >= 0, got -1", {"target_lengths": np.array([2, -1])}),
    (ValueError, r"Expected padded targets of shape \(2, S\) with S >= 3 \(the longest target_length\), got \(2, 2\)",
     {"target_lengths": np.array([3, 1])}),
    (ValueError, r"Expected concatenated targets of length 3 \(the sum of target_lengths\), got 2",
     {"targets": np.array([1, 2])}),
    (TypeError, r"Expected targets to be an integer numpy array, got float64", {"targets": TARGETS.astype(float)}),
    (TypeError, r"Expected logits of dtype float32 or float64, got float16: convert with logits.astype\(np.float32\)",
     {"logits": LOGITS.astype(np.float16)}),
    (TypeError, r"Expected logits of dtype float32 or float64, got int64", {"logits": np.zeros((5, 2, 4), int)}),
    (TypeError, r"Expected logits to be a numpy array \(T, B, C\), got list", {"logits": LOGITS.tolist()}),
    (ValueError, r"Expected logits of shape \(T, B, C\) .*got \(5, 4\): a single sequence \(T, C\) is "
                 r"logits\[:, None, :\]", {"logits": LOGITS[:, 0]}),
    (ValueError, r"Expected logits of shape \(T, B, C\) with T, B >= 1 and C >= 2 .*got \(5, 2, 1\)",
     {"logits": LOGITS[:, :, :1]}),
    (ValueError, r"Expected blank to be a class index in \[0, 4\) \(C = 4 classes\), got 4", {"blank": 4}),
    (ValueError, r"Expected reduction in \('none', 'sum', 'mean'\), got 'avg'", {"reduction": "avg"}),
])
def test_bad_arguments_are_refused_in_one_line(kind, match, changes):
    _refused(kind, match, **changes)


def test_a_torch_tensor_is_told_how_to_convert(monkeypatch):
    torch = pytest.importorskip("torch")
    message = _refused(TypeError, "a torch tensor: pass t.detach", logits=torch.zeros(5, 2, 4))
    assert message.startswith("Expected logits to be a numpy array (T, B, C), got Tensor")


def test_backward_refuses_a_dloss_of_the_wrong_shape():
    _, cache = ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="mean")
    with pytest.raises(ValueError, match=r"Expected dloss to be a scalar for reduction='mean', got shape \(2,\)"):
        ctc_loss_backward(np.ones(2), cache)
    _, cache = ctc_loss(LOGITS, TARGETS, INPUT_LENGTHS, TARGET_LENGTHS, reduction="none")
    with pytest.raises(ValueError, match=r"Expected dloss of shape \(2,\) \(one per sequence, reduction='none'\) or a "
                                         r"scalar, got \(3,\)"):
        ctc_loss_backward(np.ones(3), cache)
    assert ctc_loss_backward(2.0, cache).shape == LOGITS.shape  # a scalar weighs every sequence alike


def test_the_decoders_check_their_arguments():
    with pytest.raises(ValueError, match=r"Expected input_lengths in \[1, 5\]"):
        ctc_greedy_decode(LOGITS, np.array([5, 9]))
    with pytest.raises(ValueError, match=r"Expected beam_width to be an integer >= 1, got 0"):
        ctc_beam_decode(LOGITS, beam_width=0)
    with pytest.raises(ValueError, match=r"Expected blank to be a class index in \[0, 4\)"):
        ctc_beam_decode(LOGITS, blank=-1)
