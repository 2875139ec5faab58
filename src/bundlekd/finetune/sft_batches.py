"""Token rows for SFT: the prompt as inference renders it, the answer as the only target.

The prompt is the chat template with the generation prompt, tokenized without special tokens,
exactly as `TransformersLLM` does it (vLLM applies the same template server-side). The answer
is what the template writes after that prompt for the assistant turn (e.g. the JSON plus
``<|im_end|>\\n``), tokenized on its own: the model learns to continue the inference prompt
token for token, and to end its turn. Labels are -100 on the prompt and the padding
(completion-only loss).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE = -100


@dataclass(frozen=True, slots=True)
class TokenRow:
    input_ids: tuple[int, ...]
    n_prompt: int  # the first n_prompt tokens carry no loss

    def __len__(self) -> int:
        return len(self.input_ids)


def render_prompt(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The chat-templated prompt, ending where the assistant's answer starts."""
    return str(
        tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
    )


def answer_text(tokenizer: Any, messages: Sequence[dict[str, str]], answer: str) -> str:
    """What the template writes after the prompt for `answer` (end-of-turn marker included)."""
    prompt = render_prompt(tokenizer, messages)
    full = str(
        tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": answer}], tokenize=False
        )
    )
    if full.startswith(prompt) and answer in full[len(prompt) :]:
        return full[len(prompt) :]
    # A template that rewrites earlier turns: fall back to the answer and the EOS token.
    return answer + (tokenizer.eos_token or "")


def encode_row(tokenizer: Any, messages: Sequence[dict[str, str]], answer: str) -> TokenRow:
    prompt_ids = tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)
    answer_ids = tokenizer(answer_text(tokenizer, messages, answer), add_special_tokens=False)
    ids = list(prompt_ids["input_ids"]) + list(answer_ids["input_ids"])
    return TokenRow(input_ids=tuple(ids), n_prompt=len(prompt_ids["input_ids"]))


def encode_rows(
    tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int
) -> tuple[list[TokenRow], int]:
    """Token rows of SFT rows ({"prompt": messages, "completion": [assistant message]}).

    Rows longer than `max_length` are dropped, not cut (a cut answer teaches broken JSON);
    returns (kept rows, number dropped).
    """
    kept: list[TokenRow] = []
    dropped = 0
    for row in rows:
        encoded = encode_row(tokenizer, row["prompt"], completion_of(row))
        if len(encoded) > max_length:
            dropped += 1
            continue
        kept.append(encoded)
    return kept, dropped


def completion_of(row: dict[str, Any]) -> str:
    """The answer text of a row (conversational or plain-string completion)."""
    completion = row["completion"]
    if isinstance(completion, str):
        return completion
    return str(completion[-1]["content"])


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), in a shuffled order.

    Rows are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into
    batches; the batches are then shuffled, so no epoch runs short-to-long.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(rows: Sequence[TokenRow], pad_id: int) -> dict[str, Any]:
    """Right-padded input_ids, attention_mask and labels (-100 on prompt and padding)."""
    import torch

    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids = torch.tensor(row.input_ids, dtype=torch.long)
        input_ids[i, : len(ids)] = ids
        mask[i, : len(ids)] = 1
        labels[i, row.n_prompt : len(ids)] = ids[row.n_prompt :]
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def completion_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy over the answer tokens of a batch.

    The output layer runs only on the answer positions: the prompt is most of each row, and
    its (rows x length x 49k-vocab) logits would dominate time and memory for no loss.
    """
    import torch.nn.functional as F  # noqa: N812

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = base.get_decoder() if hasattr(base, "get_decoder") else None
    head = base.get_output_embeddings() if hasattr(base, "get_output_embeddings") else None
    labels = batch["labels"]
    if decoder is None or head is None:  # an architecture without the usual accessors
        return model(**batch).loss
    hidden = decoder(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = head(hidden[:, :-1][keep]).float()
    return F.cross_entropy(logits, targets[keep])
