"""Web and e-mail addresses in ``rnnkit segment``'s output (rnnkit.data.segment_rules): where one ends,
through the rules and through the command line, and that finding them stays linear in the text."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.data import segment_rules
from rnnkit.data.segment_rules import _ADDRESS, keep_whole

_USER_START = r"(?<![A-Za-z0-9._%+-])"  # an e-mail's user part starts where its run of user characters does


def test_an_email_address_is_tried_only_from_the_start_of_its_user_run():
    """Tried from every character of a run of 10^5 dots, the e-mail pattern took 15 s (the square of the
    run); from its start alone, one pass."""
    assert _ADDRESS.match("ab@c.com", 1) is None and _ADDRESS.match("ab@c.com").group() == "ab@c.com"
    assert keep_whole(["." * 100_000 + "中a@b.com"]) == ["." * 100_000 + "中", "a@b.com"]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="ab.@-_%+中文/:w", max_size=20))
def test_starting_at_the_run_finds_the_same_addresses(text):
    """The look-behind only skips starts that cannot give a different match: the leftmost start of a run
    already took the longest user part."""
    assert _USER_START in _ADDRESS.pattern
    before = segment_rules.re.compile(_ADDRESS.pattern.replace(_USER_START, ""))
    assert [m.span() for m in _ADDRESS.finditer(text)] == [m.span() for m in before.finditer(text)]
