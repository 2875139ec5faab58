"""GPU probe for SFT: LoRA training step time and batched generation throughput.

Builds a randomly initialised SmolLM2-135M from its config (no weights or network needed:
hidden 576, intermediate 1536, 30 layers, 9 heads, 3 KV heads, vocab 49152, tied embeddings,
as in the converted model's config.json), puts PEFT LoRA on it and measures

1. LoRA training steps (AdamW, completion-only loss on the answer tokens, the bundlekd
   trainer's recipe) at a few batch sizes: seconds per step, tokens per second, peak memory;
2. full fine-tuning steps (float32 master weights, bf16 autocast) at one batch size;
3. batched greedy generation with the adapter active: new tokens per second.

Rows are shaped like the real SFT rows of one domain (prompt ~300 tokens, answer ~40 tokens,
`bundlekd finetune data --source aicl --domain electronic`), and one epoch's time is
extrapolated for 623 sessions (x4 with `--augment 3`).

Dependencies: torch, transformers, peft only (it does not import bundlekd).

    python benchmarks/gpu_sft_probe.py                       # on the GPU machine (cuda)
    python benchmarks/gpu_sft_probe.py --device cpu --steps 2 --gen-tokens 8 --batch-sizes 2
"""

from __future__ import annotations

import argparse
import math
import time

SMOLLM2_135M = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 100000.0,
    "tie_word_embeddings": True,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 2,
}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPT_TOKENS, ANSWER_TOKENS = 300, 40  # electronic SFT rows: mean 340 tokens, answer 41
TRAIN_SESSIONS = 623  # electronic training split


def build_model(device: str, dtype, seed: int = 0):  # type: ignore[no-untyped-def]
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(**SMOLLM2_135M)
    return LlamaForCausalLM(config).to(device=device, dtype=dtype)


def make_batch(batch_size: int, device: str, seed: int = 0):  # type: ignore[no-untyped-def]
    import torch

    generator = torch.Generator().manual_seed(seed)
    length = PROMPT_TOKENS + ANSWER_TOKENS
    ids = torch.randint(3, SMOLLM2_135M["vocab_size"], (batch_size, length), generator=generator)
    labels = ids.clone()
    labels[:, :PROMPT_TOKENS] = -100  # completion-only loss
    mask = torch.ones_like(ids)
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "labels": labels.to(device),
    }


def answer_loss(model, batch):  # type: ignore[no-untyped-def]
    """Cross-entropy on the answer tokens, the output layer on those positions only."""
    import torch.nn.functional as F  # noqa: N812

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = base.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != -100
    logits = base.get_output_embeddings()(hidden[:, :-1][keep]).float()
    return F.cross_entropy(logits, targets[keep])


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_memory_gb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return float("nan")


def time_training(model, device: str, batch_size: int, steps: int, autocast: bool) -> dict:  # type: ignore[no-untyped-def]
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-4)
    batch = make_batch(batch_size, device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for step in range(steps + 1):  # step 0 warms up (kernels, allocator) and is not timed
        sync(device)
        started = time.perf_counter()
        with torch.autocast(
            device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=autocast
        ):
            loss = answer_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        sync(device)
        if step:
            times.append(time.perf_counter() - started)
        losses.append(float(loss.detach()))
    per_step = sorted(times)[len(times) // 2]
    tokens = batch_size * (PROMPT_TOKENS + ANSWER_TOKENS)
    epoch_steps = math.ceil(TRAIN_SESSIONS / batch_size)
    return {
        "batch": batch_size,
        "s/step": per_step,
        "tok/s": tokens / per_step,
        "epoch s (623 rows)": per_step * epoch_steps,
        "epoch s (x4 aug)": per_step * math.ceil(4 * TRAIN_SESSIONS / batch_size),
        "peak GiB": peak_memory_gb(device),
        "loss first->last": f"{losses[0]:.3f}->{losses[-1]:.3f}",
    }


def time_generation(model, device: str, batch_size: int, new_tokens: int) -> dict:  # type: ignore[no-untyped-def]
    import torch

    model.eval()
    ids = make_batch(batch_size, device, seed=1)["input_ids"][:, :PROMPT_TOKENS]
    mask = torch.ones_like(ids)
    kwargs = {
        "max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False,
        "pad_token_id": 2, "eos_token_id": None,
    }  # fmt: skip
    with torch.inference_mode():
        model.generate(input_ids=ids, attention_mask=mask, **{**kwargs, "max_new_tokens": 2,
                       "min_new_tokens": 2})  # fmt: skip  # warm-up
        sync(device)
        started = time.perf_counter()
        out = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
        sync(device)
    seconds = time.perf_counter() - started
    generated = (out.shape[1] - ids.shape[1]) * batch_size
    model.train()
    return {
        "batch": batch_size,
        "new tokens": generated,
        "s": seconds,
        "tok/s": generated / seconds,
    }


def print_table(title: str, rows: list[dict]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    cells = [
        [f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in columns] for r in rows
    ]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print(f"\n{title}")
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def main() -> None:
    import torch
    from peft import LoraConfig, get_peft_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per setting")
    parser.add_argument("--batch-sizes", default="8,16,32", help="LoRA batch sizes")
    parser.add_argument("--gen-batch-sizes", default="1,8,32", help="generation batch sizes")
    parser.add_argument("--gen-tokens", type=int, default=64, help="new tokens per row")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--no-full", action="store_true", help="skip full fine-tuning")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    args = parser.parse_args()
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu for a smoke test")
    if args.threads:
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    targets = ",".join(TARGETS)
    print(
        f"device {device} ({name}); torch {torch.__version__}; steps {args.steps}; "
        f"rows {PROMPT_TOKENS}+{ANSWER_TOKENS} tokens; LoRA r={args.rank} on {targets}"
    )

    lora_rows, gen_rows = [], []
    base = build_model(device, torch.bfloat16)  # the trainer's LoRA default: a frozen bf16 base
    model = get_peft_model(
        base,
        LoraConfig(
            r=args.rank, lora_alpha=2 * args.rank, target_modules=TARGETS, task_type="CAUSAL_LM"
        ),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"LoRA trainable parameters: {trainable:,}")
    for size in (int(b) for b in args.batch_sizes.split(",")):
        lora_rows.append(time_training(model, device, size, args.steps, autocast=False))
    for size in (int(b) for b in args.gen_batch_sizes.split(",")):
        gen_rows.append(time_generation(model, device, size, args.gen_tokens))
    print_table("LoRA training (bf16 base, fp32 adapter)", lora_rows)
    print_table("batched greedy generation with the adapter (KV cache)", gen_rows)
    del model, base
    if not args.no_full:
        full = build_model(device, torch.float32)
        size = int(args.batch_sizes.split(",")[0])
        row = time_training(full, device, size, args.steps, autocast=True)
        print_table("full fine-tuning (fp32 weights, bf16 autocast)", [row])


if __name__ == "__main__":
    main()
