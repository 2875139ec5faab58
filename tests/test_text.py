"""The one decoding-loop detector (bundlekd.text): chat trims, distillation rejects with it."""

from __future__ import annotations

from bundlekd.text import Loop, find_loop, is_repetitive, trim_repetition

LOOPED_REPLY = "These are two products. For example, " + "a product that is " * 4 + "a"


def test_a_loop_is_found_where_it_starts() -> None:
    assert find_loop(LOOPED_REPLY) == Loop(start=37, phrase="a product that is ")
    assert (
        trim_repetition(LOOPED_REPLY) == "These are two products. For example, a product that is …"
    )


def test_plain_text_is_left_alone() -> None:
    plain = "Because they protect the camera. The case and the glass fit the same phone model."
    assert find_loop(plain) is None
    assert trim_repetition(plain) == plain
    assert not is_repetitive(plain)


def test_what_counts_as_a_loop() -> None:
    loop = "the bundles are made of products that go together; " * 8
    assert is_repetitive(loop)
    assert is_repetitive("Bundle Phone cases with cases. " + "phone cases with " * 3)  # any case
    assert not is_repetitive("phone cases with " * 2)  # two copies are not a loop
    assert not is_repetitive("the the the the")  # a phrase must have 12+ characters
    assert is_repetitive("very " * 9)  # ...which "very very very " has
    assert not is_repetitive("")
