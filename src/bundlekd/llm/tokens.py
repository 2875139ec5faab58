"""Token counts for prompt budgets: one tokenizer-free estimate, or a backend's own tokenizer.

Budgets (knowledge snippets, worked examples, retrieval) are counted by a `TokenCounter`:
`approx_tokens` by default, or `LLM.count_tokens` of the backend that will read the prompt
(`TransformersLLM` counts with the model's tokenizer).
"""

from __future__ import annotations

import math
from collections.abc import Callable

TokenCounter = Callable[[str], int]

# SmolLM2's tokenizer averages 2.58 characters per token on AICL Electronic product listings
# (model numbers and sizes split finely); erring low keeps the estimate an over-estimate, the
# safe side for a 2048-token context.
CHARS_PER_TOKEN = 2.5
ELLIPSIS = "…"


def approx_tokens(text: str) -> int:
    """Cheap, tokenizer-free over-estimate of a text's token count (0 for an empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def truncate_to_tokens(text: str, max_tokens: int, count_tokens: TokenCounter | None = None) -> str:
    """`text` cut so that it, with an ellipsis appended, counts at most `max_tokens` tokens.

    Without a counter the cut is computed from `CHARS_PER_TOKEN`; with one, the longest prefix
    that fits is found by bisection (a few tokenizer calls).
    """
    if count_tokens is None:
        return text[: int(max_tokens * CHARS_PER_TOKEN) - 1].rstrip() + ELLIPSIS
    low, high = 0, len(text)  # the longest fitting prefix length lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle].rstrip() + ELLIPSIS) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS
