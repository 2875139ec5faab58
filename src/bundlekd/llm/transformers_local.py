"""Local chat backend on transformers: batched, left-padded generation with optional LoRA adapters.

Requests are grouped by (sampling, constrained or not, adapter); rows with different JSON
schemas share a batch (xgrammar keeps one grammar per row). Groups are sorted by length and cut
into batches of `batch_size`. Latency is measured per batch and split evenly across its rows.
Seeded sampling is reproducible for the same batch; a row's sample depends on what else is in
its batch. `generate` is serialised by a lock.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlekd.errors import BackendUnavailableError, ConfigError, LLMError
from bundlekd.llm.adapter_check import check_adapter_folder
from bundlekd.llm.base import LLM, ChatRequest, Completion, Sampling
from bundlekd.llm.model_store import DEFAULT_MODEL_NAME, ensure_default_model
from bundlekd.llm.precision import DTYPE_SETTINGS, DtypeChoice, resolve_dtype
from bundlekd.llm.structured import JsonSchemaConstrainer, xgrammar_available

logger = logging.getLogger(__name__)

_NO_ADAPTER = ""  # group key for "base model"


class TransformersLLM(LLM):
    """A causal LM from an HF folder (default: the converted SmolLM2-135M-Instruct).

    Args:
        model_path_or_default: an HF model folder, or None for the default model.
        adapter: a PEFT adapter folder applied to requests that name no adapter.
        dtype: "auto" (default: bf16 where the CPU or GPU computes it natively, else float32;
            see `llm.precision`), "bfloat16", "float32" or "float16".
        num_threads: torch intra-op threads (process-wide!); default $BUNDLEKD_NUM_THREADS,
            else torch's default (all cores). On a busy shared CPU, 1 thread can be 10x faster
            than 2: waiting OpenMP threads spin when their partner is descheduled.
        batch_size: most rows per `model.generate` call.
        max_batch_tokens: most padded prompt tokens (rows x longest prompt) per call.
        device: "auto" (CUDA when torch sees a GPU, else CPU), "cpu" or "cuda" (or "cuda:N").
    """

    name = "transformers"
    supports_json_schema = True
    supports_adapters = True

    def __init__(
        self,
        model_path_or_default: str | Path | None = None,
        adapter: str | Path | None = None,
        dtype: str = "auto",
        num_threads: int | None = None,
        batch_size: int = 8,
        max_batch_tokens: int = 8192,
        device: str = "auto",
    ) -> None:
        if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
        if dtype not in DTYPE_SETTINGS:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPE_SETTINGS)}, got {dtype!r}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self._path = Path(model_path_or_default) if model_path_or_default else None
        self._default_adapter = str(adapter) if adapter else None
        self._dtype = dtype
        self._dtype_choice: DtypeChoice | None = None
        self._device = device
        env_threads = os.environ.get("BUNDLEKD_NUM_THREADS", "").strip()
        if num_threads is None and env_threads:
            if not env_threads.isdigit() or int(env_threads) < 1:
                raise ConfigError(
                    f"BUNDLEKD_NUM_THREADS must be a positive integer: {env_threads!r}"
                )
            num_threads = int(env_threads)
        self._num_threads = num_threads
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.supports_json_schema = xgrammar_available()  # instance value shadows the ClassVar
        self._model: Any = None
        self._tokenizer: Any = None
        self._constrainer: JsonSchemaConstrainer | None = None
        self._eos_ids: list[int] = []
        self._adapter_names: dict[str, str] = {}  # request string -> PEFT adapter name
        self._lock = threading.RLock()

    @property
    def model_id(self) -> str:
        base = str(self._path) if self._path else DEFAULT_MODEL_NAME
        return f"{base}+{self._default_adapter}" if self._default_adapter else base

    # ------------------------------------------------------------------ loading
    def _model_dir(self) -> Path:
        path = self._path or ensure_default_model()
        if not (path / "config.json").is_file():
            raise ConfigError(f"{path}: not an HF model folder (no config.json)")
        return path

    def _load_tokenizer(self) -> Any:
        """The tokenizer alone (no weights, no torch threads): enough to count tokens."""
        if self._tokenizer is not None:  # no lock: counting must not wait for a generate call
            return self._tokenizer
        with self._lock:
            if self._tokenizer is not None:
                return self._tokenizer
            try:
                from transformers import AutoTokenizer
            except ImportError as exc:
                raise BackendUnavailableError(
                    f"the local backend needs transformers ({exc}): pip install 'bundlekd[local]'"
                ) from exc
            path = self._model_dir()
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            if not getattr(tokenizer, "chat_template", None):
                raise ConfigError(f"{path}: the tokenizer has no chat template")
            tokenizer.padding_side = "left"  # decoder-only batches must be left padded
            self._tokenizer = tokenizer
            return tokenizer

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` by the model's own tokenizer (loads the tokenizer only)."""
        return len(self._load_tokenizer().encode(text, add_special_tokens=False))

    def load(self) -> None:
        """Load tokenizer and weights now (otherwise done on the first `generate`)."""
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForCausalLM
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # our CLI draws its own bars; theirs is noise
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the local backend needs torch and transformers ({exc}): "
                "pip install 'bundlekd[local]'"
            ) from exc
        if self._num_threads:
            torch.set_num_threads(self._num_threads)
        path = self._model_dir()
        started = time.perf_counter()
        tokenizer = self._load_tokenizer()
        device = resolve_device(self._device)
        choice = self.dtype_choice()
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(path), dtype=getattr(torch, choice.dtype)
        )
        model.to(device)
        self._adopt(model, tokenizer)
        if self._default_adapter:
            self._adapter_name(self._default_adapter)
        logger.info(
            "loaded %s (%s: %s; %s) in %.1f s",
            path,
            choice.dtype,
            choice.reason,
            device,
            time.perf_counter() - started,
        )

    def dtype_choice(self) -> DtypeChoice:
        """The dtype the weights run in, and why (resolved once; no weights loaded)."""
        if self._dtype_choice is None:
            self._dtype_choice = resolve_dtype(self._dtype, resolve_device(self._device))
        return self._dtype_choice

    def runtime(self) -> dict[str, str]:
        """How this backend computes (for manifests): dtype, why, and the device."""
        return {**self.dtype_choice().to_dict(), "device": resolve_device(self._device)}

    def _adopt(self, model: Any, tokenizer: Any) -> None:
        """Make a loaded model and tokenizer this backend's (EOS ids, padding, grammar)."""
        model.eval()
        self._eos_ids = _eos_token_ids(model, tokenizer)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.convert_ids_to_tokens(self._eos_ids[0])
        self._model = model
        self._constrainer = JsonSchemaConstrainer(
            tokenizer, model.config.vocab_size, self._eos_ids, max_threads=self._num_threads or 2
        )

    @classmethod
    def from_loaded(
        cls, model: Any, tokenizer: Any, *, label: str = "in-memory", batch_size: int = 8
    ) -> TransformersLLM:
        """A backend over a model already in memory (e.g. one being fine-tuned, adapters and
        all): the same prompting, batching and constrained decoding as a loaded folder."""
        llm = cls(label, batch_size=batch_size)
        tokenizer.padding_side = "left"  # decoder-only batches must be left padded
        llm._tokenizer = tokenizer
        llm._adopt(model, tokenizer)
        dtype = str(getattr(model, "dtype", "unknown")).removeprefix("torch.")
        llm._dtype_choice = DtypeChoice(dtype, "the model it was given")
        return llm

    def _adapter_name(self, adapter: str) -> str:
        """Load the PEFT adapter `adapter` (a folder) once; return its PEFT name."""
        if adapter in self._adapter_names:
            return self._adapter_names[adapter]
        check_adapter_folder(adapter)
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise BackendUnavailableError(
                f"LoRA adapters need peft ({exc}): pip install peft"
            ) from exc
        # PEFT adapter names become module keys: no dots or slashes.
        name = "a" + hashlib.sha1(adapter.encode()).hexdigest()[:12]
        try:
            if isinstance(self._model, PeftModel):
                self._model.load_adapter(adapter, adapter_name=name)
            else:
                self._model = PeftModel.from_pretrained(self._model, adapter, adapter_name=name)
        except (RuntimeError, ValueError, KeyError, OSError) as exc:  # e.g. another base model
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"adapter {adapter}: does not load onto {self.model_id.split('+')[0]}: {first}"
            ) from exc
        self._model.eval()
        self._adapter_names[adapter] = name
        logger.info("loaded adapter %s as %s", adapter, name)
        return name

    # --------------------------------------------------------------- generation
    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Answer every request, in order (see the module docstring for grouping)."""
        if not requests:
            return []
        with self._lock:  # one model, one adapter switch at a time
            return self._generate_locked(requests)

    def _generate_locked(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        self.load()
        # Rows with different schemas still share a batch: xgrammar keeps one grammar per row.
        groups: dict[tuple[Sampling, bool, str], list[int]] = {}
        for index, request in enumerate(requests):
            adapter = request.adapter or self._default_adapter or _NO_ADAPTER
            key = (request.sampling, request.json_schema is not None, adapter)
            groups.setdefault(key, []).append(index)
        results: list[Completion | None] = [None] * len(requests)
        # Templated once: the texts give the batching lengths and then the model's input.
        prompts = [self.prompt_text(r) for r in requests]
        lengths = {
            i: len(ids)
            for i, ids in enumerate(self._tokenizer(prompts, add_special_tokens=False)["input_ids"])
        }
        for (sampling, _constrained, adapter), indices in groups.items():
            # Similar lengths share a batch: less padding to compute.
            indices.sort(key=lambda i: lengths[i])
            for chunk in token_budget_batches(
                indices, lengths, self.batch_size, self.max_batch_tokens
            ):
                batch = [requests[i] for i in chunk]
                schemas = [request.json_schema for request in batch]
                texts = [prompts[i] for i in chunk]
                for i, completion in zip(
                    chunk,
                    self._generate_batch(batch, texts, sampling, schemas, adapter),
                    strict=True,
                ):
                    results[i] = completion
        return [c for c in results if c is not None]

    def prompt_text(self, request: ChatRequest) -> str:
        """The chat-templated prompt the model sees for `request`."""
        self.load()
        messages = [m.to_dict() for m in request.messages]
        return self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )

    def _generate_batch(
        self,
        batch: list[ChatRequest],
        prompts: list[str],
        sampling: Sampling,
        schemas: list[dict[str, Any] | None],
        adapter: str,
    ) -> list[Completion]:
        import torch

        tokenizer, eos_ids = self._tokenizer, self._eos_ids
        # The chat template already holds the special tokens (e.g. <|im_start|>).
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        encoded = encoded.to(self._model.device)  # the model's device (CPU or a GPU)
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": eos_ids,
        }
        if sampling.temperature > 0:
            # OpenAI semantics: temperature and top_p only, no top-k cut.
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
            kwargs["top_k"] = 0
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        processor = self._constrainer.logits_processor(schemas) if self._constrainer else None
        if processor is not None:
            kwargs["logits_processor"] = [processor]

        started = time.perf_counter()
        try:
            with torch.inference_mode(), self._adapter_context(adapter):
                output = self._model.generate(**encoded, **kwargs)
        except (RuntimeError, ValueError) as exc:
            raise LLMError(f"generation failed on a batch of {len(batch)}: {exc}") from exc
        per_request = (time.perf_counter() - started) / len(batch)

        prompt_width = encoded["input_ids"].shape[1]
        prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
        completions = []
        for row, prompt_tokens in zip(
            output[:, prompt_width:].tolist(), prompt_lengths, strict=True
        ):
            cut = next((i for i, token in enumerate(row) if token in eos_ids), None)
            if cut is None:
                tokens, count = row, len(row)
                finish = "length" if count >= sampling.max_new_tokens else "stop"
            else:
                tokens, count, finish = row[:cut], cut + 1, "stop"  # the EOS token counts
            completions.append(
                Completion(
                    text=tokenizer.decode(tokens, skip_special_tokens=True),
                    prompt_tokens=int(prompt_tokens),
                    completion_tokens=count,
                    latency_s=per_request,
                    finish_reason=finish,
                    model=self.model_id if not adapter else f"{self.model_id}@{adapter}",
                )
            )
        return completions

    def _adapter_context(self, adapter: str) -> Any:
        """Activate `adapter` for one generate call, or disable adapters for the base model."""
        import contextlib

        if adapter:
            name = self._adapter_name(adapter)  # may wrap self._model: look it up after
            self._model.set_adapter(name)
            return contextlib.nullcontext()
        if self._adapter_names:  # a PeftModel serving a base-model request
            return self._model.disable_adapter()
        return contextlib.nullcontext()

    def close(self) -> None:
        """Drop the model so its memory can be freed."""
        self._model = self._tokenizer = self._constrainer = None
        self._adapter_names.clear()


def token_budget_batches(
    indices: Sequence[int], lengths: dict[int, int], max_rows: int, max_tokens: int
) -> list[list[int]]:
    """Cut length-sorted requests into batches of at most `max_rows` rows whose padded size
    (rows x longest prompt) stays within `max_tokens`; a single longer prompt still runs alone.

    A count-only cut puts eight 1,600-token few-shot prompts in one batch (13k tokens of
    prefill) as readily as eight 300-token ones; the padded-token budget keeps prefill per
    batch bounded while short prompts still batch widely.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in indices:
        widest = max(longest, lengths[index])
        if current and (len(current) >= max_rows or widest * (len(current) + 1) > max_tokens):
            batches.append(current)
            current, widest = [], lengths[index]
        current.append(index)
        longest = widest
    if current:
        batches.append(current)
    return batches


def resolve_device(device: str) -> str:
    """ "auto" -> "cuda" when torch sees a GPU, else "cpu"; "cuda" without one is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    return device


def _eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token id that ends a turn: generation config EOS(es) plus the tokenizer's EOS."""
    ids: list[int] = []
    configured = model.generation_config.eos_token_id
    if isinstance(configured, int):
        ids.append(configured)
    elif configured:
        ids.extend(configured)
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ConfigError("the model defines no EOS token: cannot tell where a reply ends")
    return ids
