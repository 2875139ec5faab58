"""Decoding loops in generated text: the one detector, for chat replies and distilled knowledge.

Small models decoding greedily fall into loops ("a product that is a product that is ...").
`bundlekd chat` trims a looping reply (`trim_repetition`); distillation rejects a rule or a
thought that loops (`is_repetitive`). Both ask `find_loop`, so they agree on what a loop is: a
phrase of at least 12 characters repeated at least 3 times in a row, compared word by word
(case and spacing ignored). Pure Python, linear in the text for a bounded phrase length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
MIN_PHRASE_CHARS = 12
MIN_COPIES = 3
# Longer periods are not loops a small model falls into, and the bound keeps the scan linear.
MAX_PHRASE_WORDS = 50


@dataclass(frozen=True, slots=True)
class Loop:
    """Where a loop starts in a text and the phrase it repeats.

    Attributes:
        start: character offset of the loop's first copy.
        phrase: the first copy as written (trailing whitespace included).
    """

    start: int
    phrase: str


def find_loop(
    text: str,
    *,
    min_chars: int = MIN_PHRASE_CHARS,
    min_copies: int = MIN_COPIES,
    max_words: int = MAX_PHRASE_WORDS,
) -> Loop | None:
    """The earliest loop in `text`: a phrase of >= `min_chars` characters (and at most
    `max_words` words) repeated >= `min_copies` times in a row; None when there is none.

    Example:
        >>> find_loop("Why? " + "a product that is " * 3)
        Loop(start=5, phrase='a product that is ')
    """
    spans = [m.span() for m in _WORD.finditer(text)]
    ids: dict[str, int] = {}
    words = [ids.setdefault(text[a:b].lower(), len(ids)) for a, b in spans]
    best: tuple[int, int] | None = None  # (first word, period in words)
    for period in range(1, min(max_words, len(words) // min_copies) + 1):
        need = (min_copies - 1) * period  # words equal to the word one period later
        run = 0
        for i in range(len(words) - period - 1, -1, -1):  # backwards: the earliest start wins
            run = run + 1 if words[i] == words[i + period] else 0
            if (
                run >= need
                and spans[i + period][0] - spans[i][0] >= min_chars
                and (best is None or i < best[0])
            ):
                best = (i, period)
    if best is None:
        return None
    first, period = best
    start = spans[first][0]
    return Loop(start=start, phrase=text[start : spans[first + period][0]])


def is_repetitive(text: str) -> bool:
    """True when `text` contains a decoding loop (see `find_loop`)."""
    return find_loop(text) is not None


def trim_repetition(text: str) -> str:
    """Cut `text` where a loop starts, keeping one copy of the repeated phrase and an ellipsis.

    Example:
        >>> trim_repetition("For example, " + "a product that is " * 4 + "a")
        'For example, a product that is …'
    """
    loop = find_loop(text)
    if loop is None:
        return text
    return text[: loop.start] + loop.phrase.rstrip() + " …"
