"""python -m evals.reader_cost [--base PATH ...] [--layers N ...]

What a reader of a given base model would cost on these CPUs, before spending hours training it: training pairs
per second (forward, backward and an AdamW step on a batch of 32 pairs, word embeddings frozen as
``train_reader`` does) and the time to score the 8 candidates of one question (torch fp32, no grad; ONNX int8 is
faster by a roughly constant factor, so the ratio between bases is what this measures).

Why: the learning curve flattened and three layers read worse than six, so the next model step is a bigger base;
whether one fits the training budget and the 60 ms answer budget is a measurement, not a guess. Pairs are
made-up text of the training length (64 tokens), so only the shapes matter. Never runs in CI.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any


def measure(base: Path, layers: int, threads: int, tokens: int = 64, batch: int = 32, steps: int = 6) -> dict[str, Any]:
    """Pairs per second in training and ms per 8-candidate question in inference, for one base."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from evals.train_reader import keep_bottom_layers

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    if layers:
        keep_bottom_layers(model, layers)
    for p in model.base_model.embeddings.parameters():
        p.requires_grad = False
    vocab = model.config.vocab_size
    ids = torch.randint(1000, min(vocab, 20000), (batch, tokens))
    mask = torch.ones_like(ids)
    target = torch.rand(batch)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    model.train()
    timings = []
    for _ in range(steps):
        t0 = time.perf_counter()
        logits = model(input_ids=ids, attention_mask=mask).logits.view(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        loss.backward()
        opt.step()
        opt.zero_grad()
        timings.append(time.perf_counter() - t0)
    train_pps = batch / sorted(timings[1:])[len(timings[1:]) // 2]
    model.eval()
    reads = []
    with torch.no_grad():
        for _ in range(12):
            t0 = time.perf_counter()
            model(input_ids=ids[:8], attention_mask=mask[:8])
            reads.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    name = base.parent.name if base.name == "model" else base.name  # the packaged MiniLM's folder is "model"
    return {"base": name, "layers": len(model.base_model.encoder.layer), "hidden": model.config.hidden_size,
            "params_m": params / 1e6, "train_pairs_per_s": train_pps,
            "read_8_ms": 1000 * sorted(reads[2:])[len(reads[2:]) // 2]}


def main(argv: list[str] | None = None) -> int:
    from assistant.index.embedder import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, nargs="+", default=None,
                    help="model folders (default: the packaged MiniLM, at 6 and 3 layers)")
    ap.add_argument("--layers", type=int, nargs="+", default=None, help="layers kept per base (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=30_790, help="training pairs per epoch, for the minutes column")
    args = ap.parse_args(argv)
    bases = args.base or [default_model_path(), default_model_path()]
    layers = args.layers or ([0, 3] if args.base is None else [0] * len(bases))
    print(f"{'base':28s} layers hidden params(M) train pairs/s  min/epoch  read 8 pairs ms (torch fp32)")
    for base, n in zip(bases, layers, strict=True):
        m = measure(base, n, args.threads)
        print(f"{m['base'][:28]:28s} {m['layers']:6d} {m['hidden']:6d} {m['params_m']:9.1f} {m['train_pairs_per_s']:14.1f}"
              f" {args.pairs / m['train_pairs_per_s'] / 60:10.0f}  {m['read_8_ms']:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
