"""python -m evals.train_gate [--out FILE] [--hidden N] [--epochs N]

Trains the learned refusal gate (``answering.decision.GateModel``) on the
training batches (``evals/train/*``, 4,000+ questions by writers who saw no
code, a quarter of them near-misses written against a passage) and writes it
into ``assistant/answering/weights.json`` (``gate_model``), or into ``--out``.

1. *Data*: every question is asked through the real retrieval and ranking
   (history replayed as the eval runner replays it); its ranking becomes
   ``decision.gate_inputs`` and its label is "the sources answer it". The
   questions refused before the gate (a name no source mentions, no words)
   are left out, as the gate never sees them.
2. *Model*: standardised inputs, one hidden layer of rectified units, a
   logistic output; binary cross-entropy, AdamW, dropout, fixed seeds.
3. *Choice*: after each epoch the dev splits (never a holdout) give the AUC of
   answerable against unanswerable; the best epoch is kept. Its probability
   threshold is then chosen end to end by ``python -m evals.calibrate
   --sweep-only --write``, as for the linear gate.

Run after ``evals.calibrate`` has fitted the ranker (the gate reads its
logits). Seconds of training once the questions are asked (a few minutes);
never in CI.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from assistant import Assistant, Settings
from assistant.answering.decision import LEARNED_GATE_INPUTS, GateModel, Ranker, Weights, gate_inputs
from evals import reader_data

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WEIGHTS = ROOT / "assistant" / "answering" / "weights.json"


def rankings(source: reader_data.Source, bot: Assistant) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(inputs, labels, categories) of every question of ``source`` that reaches the gate."""
    import json

    xs, ys, cats = [], [], []
    for line in source.questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        history: list[dict] = []
        for turn in case.get("history") or []:
            prior = bot.ask(turn["content"], history=list(history))
            history += [{"role": "user", "content": turn["content"]}, {"role": "assistant", "content": prior.text}]
        r = bot.retrieve(case["question"], history or None)
        if r.question.wordless or r.question.unknown_terms or not r.candidates:
            continue
        xs.append(gate_inputs(r.candidates))
        ys.append(0.0 if case.get("unanswerable") else 1.0)
        cats.append(case.get("category", ""))
    return np.asarray(xs), np.asarray(ys), cats


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that an answerable question scores above an unanswerable one (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / max(len(pos) * len(neg), 1))


def train(x: np.ndarray, y: np.ndarray, dev_x: np.ndarray, dev_y: np.ndarray, *, hidden: int, epochs: int, lr: float,
          weight_decay: float, dropout: float, seed: int, log) -> tuple[GateModel, list[dict]]:  # noqa: ANN001
    """The network of the epoch with the best dev AUC, and every epoch's metrics."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    xt = torch.from_numpy(((x - mean) / scale).astype(np.float32))
    xd = torch.from_numpy(((dev_x - mean) / scale).astype(np.float32))
    yt = torch.from_numpy(y.astype(np.float32))
    net = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, 1))
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history, best, best_auc = [], None, -1.0
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(yt), generator=gen)
        for k in range(0, len(order), 64):
            b = order[k : k + 64]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[b]).reshape(-1), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            m = {"epoch": epoch, "train_auc": auc(net(xt).reshape(-1).numpy(), y),
                 "dev_auc": auc(net(xd).reshape(-1).numpy(), dev_y)}
        history.append(m)
        log(f"epoch {epoch}: train AUC {m['train_auc']:.3f}  dev AUC {m['dev_auc']:.3f}")
        if m["dev_auc"] > best_auc:
            best_auc = m["dev_auc"]
            lin1, lin2 = net[1], net[3]
            best = GateModel(mean, scale, lin1.weight.detach().numpy().astype(np.float64).copy(),
                             lin1.bias.detach().numpy().astype(np.float64).copy(),
                             lin2.weight.detach().numpy().reshape(-1).astype(np.float64).copy(),
                             float(lin2.bias.detach()[0]))
    assert best is not None
    return best, history


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS, help="weights file to write the gate into")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-3)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data-train", help="stores of the training folders")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f}s] {msg}", file=sys.stderr, flush=True)

    base = Weights.load(args.out) if args.out.exists() else Weights.load()
    ranker_weights = Weights(**{**base.to_dict(), "gate_model": {}})  # history replays decide with the linear gate
    embedder = None
    parts: dict[str, list] = {"train": [], "dev": []}
    for source in reader_data.train_sources() + reader_data.dev_sources():
        settings = Settings(data_dir=args.data_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", source.name),
                            knowledge_dir=source.knowledge, reader=False)
        bot = Assistant(settings, embedder=embedder, ranker=Ranker(ranker_weights))
        embedder = bot.embedder
        x, y, _ = rankings(source, bot)
        parts[source.split].append((x, y))
        log(f"{source.name}: {len(y)} questions reach the gate, {int((y == 0).sum())} unanswerable")
        bot.store.close()
    x, y = (np.concatenate([p[i] for p in parts["train"]]) for i in (0, 1))
    dx, dy = (np.concatenate([p[i] for p in parts["dev"]]) for i in (0, 1))
    log(f"training on {len(y)} questions ({int((y == 0).sum())} unanswerable), choosing on {len(dy)} dev questions")
    model, history = train(x, y, dx, dy, hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                           weight_decay=args.weight_decay, dropout=args.dropout, seed=args.seed, log=log)
    best = max(history, key=lambda m: m["dev_auc"])
    notes = dict(base.notes, gate_model=(
        f"python -m evals.train_gate: {len(LEARNED_GATE_INPUTS)} inputs, {args.hidden} hidden units, trained on "
        f"{len(y)} training-batch questions, epoch {best['epoch']} of {args.epochs} chosen by dev AUC "
        f"{best['dev_auc']:.3f} (train {best['train_auc']:.3f})"))
    out = Weights(**{**base.to_dict(), "gate_model": model.to_dict(), "notes": notes})
    out.save(args.out)
    log(f"wrote the gate into {args.out}; now choose its threshold: python -m evals.calibrate --sweep-only --write")
    return 0


if __name__ == "__main__":
    sys.exit(main())
