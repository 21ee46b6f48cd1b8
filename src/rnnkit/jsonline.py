"""One line of strict JSON, for every JSON line rnnkit writes: ``--json`` outputs and the metrics log.

Python's ``json`` writes a float that is not finite as ``NaN`` or ``Infinity``, which are not JSON:
``jq``, JavaScript and most other readers refuse the line.  Here such a value (an undefined score,
a missing validation loss, an overflowed perplexity) is written as ``null``.  Text is written as itself,
not as ``\\uXXXX`` escapes, so a Chinese sentence stays readable: in the output's encoding, as every other
line rnnkit prints (UTF-8 in the metrics log), where a character it cannot hold is said as an error.
"""
from __future__ import annotations

import json
import math
from typing import Any


def json_line(obj: Any) -> str:
    """``obj`` as one line of strict JSON: a float that is not finite (an undefined score, nan, or an
    overflowed perplexity, inf) becomes ``null``, since ``NaN`` and ``Infinity`` are not JSON and
    break other readers (``jq``, JavaScript)."""
    def finite(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(obj), allow_nan=False, ensure_ascii=False)
