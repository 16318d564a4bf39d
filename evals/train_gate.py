"""python -m evals.train_gate [--reader [DIR] [--out-of-fold DIR:BATCH,...]] [--out FILE] [--hidden N]

Trains the learned refusal gate (``answering.decision.GateModel``) on the
training batches (``evals/train/*``, 5,000+ questions by writers who saw no
code, a quarter of them near-misses written against a passage) and writes it
into ``assistant/answering/weights.json`` (``gate_model``), or with
``--reader`` into the reader's ``weights-reader.json``, or into ``--out``.

1. *Data*: every question is asked through the real retrieval and ranking
   (history replayed as the eval runner replays it); its ranking becomes
   ``decision.gate_inputs`` and its label is "the sources answer it". The
   questions refused before the gate (a name no source mentions, no words,
   nothing on topic) are left out, as the gate never sees them.
2. *With a reader* the inputs include its scores (``READER_GATE_INPUTS``). A
   reader scores the questions it was trained on far more surely than new
   ones, and a gate trained on such scores would trust it too much on a user's
   folder. So a batch the reader was trained on is scored by an *out-of-fold*
   reader trained without it (``--out-of-fold DIR:t01,t02``, trained with
   ``python -m evals.train_reader --batches ...``), or left out.
3. *Model*: standardised inputs, one hidden layer of rectified units, a
   logistic output; binary cross-entropy, AdamW, dropout, fixed seeds.
4. *Choice*: after each epoch the dev splits (never a holdout) give the AUC of
   answerable against unanswerable; the best epoch is kept. Its probability
   threshold is then chosen end to end by ``python -m evals.calibrate
   --sweep-only --write [--reader DIR]``, as for the linear gate, or, with
   ``--max-false-refusals linear|RATE``, here: gates trained without one fold
   of batches score it, and the threshold is the highest at which those
   out-of-fold scores refuse no more answerable questions than the linear gate
   does on the same questions (or than RATE). Why: a few hundred dev questions
   pick a threshold whose false refusals swing by points on a new folder;
   5,000 questions scored out of fold pin it down. The rate is the gate's
   alone: the steps after it (``other_event``, ``no_figure``) refuse answerable
   questions too, so RATE must sit below the product's budget.

Run after ``evals.calibrate`` has fitted the ranker (the gate reads its
logits). The rankings are cached under ``evals/out/gate-data/``; training
itself takes seconds. Never in CI.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant import Assistant, Settings
from assistant.answering.decision import (
    GATE_FEATURES,
    LEARNED_GATE_INPUTS,
    READER_GATE_INPUTS,
    GateModel,
    Ranker,
    Weights,
    gate_inputs,
    sigmoid,
)
from evals import reader_data

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ANSWERING = ROOT / "assistant" / "answering"
WEIGHTS = ANSWERING / "weights.json"
CACHE = HERE / "out" / "gate-data"


def rankings(source: reader_data.Source, bot: Assistant, inputs: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) of every question of ``source`` that reaches the gate."""
    xs, ys = [], []
    for line in source.questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        history: list[dict] = []
        for turn in case.get("history") or []:
            prior = bot.ask(turn["content"], history=list(history))
            history += [{"role": "user", "content": turn["content"]}, {"role": "assistant", "content": prior.text}]
        r = bot.retrieve(case["question"], history or None)
        if bot.ranker.gate(r)[1] not in ("unlikely", "answer"):
            continue  # refused before the gate is asked (no words, an unknown name, nothing on topic)
        xs.append(gate_inputs(r.candidates, inputs))
        ys.append(0.0 if case.get("unanswerable") else 1.0)
    return np.asarray(xs).reshape(len(xs), len(inputs)), np.asarray(ys)


def trained_batches(folder: Path | None) -> set[str]:
    """The training batches a reader was trained on (its ``reader.json``)."""
    from assistant.answering.reader import ReaderInfo, default_folder

    return set(ReaderInfo.load(folder or default_folder()).trained.get("batches", []))


def readers_by_batch(main: Path | None, folds: list[str], batches: list[str], log) -> dict[str, Path | None]:  # noqa: ANN001
    """Which reader scores each batch: an out-of-fold one if given, else the main one unless it was trained on it."""
    chosen: dict[str, Path | None] = {}
    for spec in folds:
        folder, _, names = spec.partition(":")
        seen = trained_batches(Path(folder))
        for name in filter(None, names.split(",")):
            if name in seen:
                raise SystemExit(f"{folder} was trained on {name}: it cannot score it out of fold")
            chosen[name] = Path(folder)
    inside = trained_batches(main)
    for name in batches:
        if name not in chosen and name not in inside:
            chosen[name] = main
    left = [b for b in batches if b not in chosen]
    if left:
        log(f"left out (the reader was trained on them and no out-of-fold reader was given): {' '.join(left)}")
    return chosen


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


def linear_gate_probs(x: np.ndarray, inputs: tuple[str, ...], weights: Weights) -> np.ndarray:
    """What the linear gate of ``weights`` says for rankings ``x`` (its features are among the learned inputs)."""
    column = {name: i for i, name in enumerate(inputs)}
    cols = [x[:, column["top_logit" if f == "top_logit" else f"top.{f}"]] if f != "bias" else np.ones(len(x))
            for f in GATE_FEATURES]
    return np.asarray([sigmoid(v) for v in np.stack(cols, axis=1) @ weights.gate_vector()])


def out_of_fold(batches: list[tuple[np.ndarray, np.ndarray]], dev_x: np.ndarray, dev_y: np.ndarray, folds: int,
                log, **train_kw) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Every training question's probability from a gate trained without its fold (batch i in fold i % folds)."""
    scores, labels = [], []
    for k in range(folds):
        held = [b for i, b in enumerate(batches) if i % folds == k]
        rest = [b for i, b in enumerate(batches) if i % folds != k]
        model, _ = train(np.concatenate([b[0] for b in rest]), np.concatenate([b[1] for b in rest]), dev_x, dev_y,
                         log=lambda _m: None, **train_kw)
        for x, y in held:
            scores += [sigmoid(model.logit(row)) for row in x]
            labels += list(y)
        log(f"fold {k + 1}/{folds}: {sum(len(b[1]) for b in held)} questions scored out of fold")
    return np.asarray(scores), np.asarray(labels)


def capped_threshold(scores: np.ndarray, labels: np.ndarray, rate: float) -> float:
    """The highest threshold (to 0.01) at which at most ``rate`` of the answerable ``scores`` fall below it."""
    pos = np.sort(scores[labels == 1])
    t = float(pos[min(int(rate * len(pos)), len(pos) - 1)])
    return math.floor(t * 100) / 100


@lru_cache(maxsize=1)
def _answer_path_code() -> bytes:
    return b"".join(f.read_bytes() for f in sorted((ROOT / "assistant").rglob("*.py")))


def cached_rankings(source: reader_data.Source, bot: Assistant, inputs: tuple[str, ...], key: str,
                    cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """``rankings`` of ``source``, kept under ``cache`` per reader, weights and answer-path code (asking 5,000
    questions takes minutes; a changed feature must not be read from an old ranking)."""
    digest = hashlib.sha256(f"{key}|{json.dumps(bot.ranker.weights.to_dict(), sort_keys=True)}|{inputs}".encode()
                            + _answer_path_code())
    path = cache / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', source.name)}-{digest.hexdigest()[:12]}.npz"
    if path.exists() and path.stat().st_mtime >= source.questions.stat().st_mtime:
        with np.load(path) as f:
            return f["x"], f["y"]
    x, y = rankings(source, bot, inputs)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y)
    return x, y


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="weights file to write the gate into")
    ap.add_argument("--reader", nargs="?", const="", default=None, metavar="DIR",
                    help="train the gate used with the trained reader (the shipped one, or the one in DIR)")
    ap.add_argument("--out-of-fold", action="append", default=[], metavar="DIR:BATCH,...",
                    help="score these training batches with the reader in DIR (trained without them)")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-3)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the training questions (learning curve)")
    ap.add_argument("--max-false-refusals", default=None, metavar="linear|RATE",
                    help="choose the threshold here, on out-of-fold scores of the training questions: refuse no more "
                         "answerable ones than the linear gate does on them, or than RATE")
    ap.add_argument("--folds", type=int, default=5, help="folds of training batches for --max-false-refusals")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data-train", help="stores of the training folders")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the questions' rankings are kept")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f}s] {msg}", file=sys.stderr, flush=True)

    with_reader = args.reader is not None
    main_dir = Path(args.reader) if args.reader else None
    if with_reader:
        local = main_dir / "weights-reader.json" if main_dir else None
        out = args.out or (local if local else ANSWERING / "weights-reader.json")
        base = Weights.load(local) if local and local.exists() else Weights.load(reader=True)
        inputs = READER_GATE_INPUTS
    else:
        out = args.out or WEIGHTS
        base = Weights.load(out) if out.exists() else Weights.load()
        inputs = LEARNED_GATE_INPUTS
    ranker_weights = Weights(**{**base.to_dict(), "gate_model": {}})  # history replays decide with the linear gate
    train_src = reader_data.train_sources()
    scorer: dict[str, Path | None] = {}
    if with_reader:
        scorer = readers_by_batch(main_dir, args.out_of_fold, [s.name for s in train_src], log)
        train_src = [s for s in train_src if s.name in scorer]
    readers: dict[Any, Any] = {}

    def reader_for(folder: Path | None) -> Any:
        from assistant.answering.reader import Reader

        if folder not in readers:
            readers[folder] = Reader(folder)
        return readers[folder]

    embedder = None
    parts: dict[str, list] = {"train": [], "dev": []}
    for source in train_src + reader_data.dev_sources():
        folder = scorer.get(source.name, main_dir)
        reader = reader_for(folder) if with_reader else None
        settings = Settings(data_dir=args.data_dir / re.sub(r"[^A-Za-z0-9_.-]+", "_", source.name),
                            knowledge_dir=source.knowledge, reader=False)
        bot = Assistant(settings, embedder=embedder, ranker=Ranker(ranker_weights, reader=reader))
        embedder = bot.embedder
        x, y = cached_rankings(source, bot, inputs, str(folder.resolve() if folder else "shipped") if with_reader
                               else "", args.cache)
        parts[source.split].append((x, y))
        by = f" (reader {folder or 'shipped'})" if with_reader else ""
        log(f"{source.name}: {len(y)} questions reach the gate, {int((y == 0).sum())} unanswerable{by}")
        bot.store.close()
    x, y = (np.concatenate([p[i] for p in parts["train"]]) for i in (0, 1))
    dx, dy = (np.concatenate([p[i] for p in parts["dev"]]) for i in (0, 1))
    if args.fraction < 1.0:
        keep = np.random.default_rng(args.seed).permutation(len(y))[: round(len(y) * args.fraction)]
        x, y = x[np.sort(keep)], y[np.sort(keep)]
    log(f"training on {len(y)} questions ({int((y == 0).sum())} unanswerable), choosing on {len(dy)} dev questions")
    train_kw = dict(hidden=args.hidden, epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                    dropout=args.dropout, seed=args.seed)
    model, history = train(x, y, dx, dy, log=log, **train_kw)
    model = GateModel(model.mean, model.scale, model.w1, model.b1, model.w2, model.b2, inputs)
    best = max(history, key=lambda m: m["dev_auc"])
    folds = "".join(f"; {spec.partition(':')[2]} scored by a reader trained on "
                    f"{','.join(sorted(trained_batches(Path(spec.partition(':')[0]))))}" for spec in args.out_of_fold)
    notes = dict(base.notes, gate_model=(
        f"python -m evals.train_gate: {len(inputs)} inputs, {args.hidden} hidden units, trained on "
        f"{len(y)} training-batch questions{folds}, epoch {best['epoch']} of {args.epochs} chosen by dev AUC "
        f"{best['dev_auc']:.3f} (train {best['train_auc']:.3f})"))
    chosen: dict[str, Any] = {}
    if args.max_false_refusals:
        if args.fraction < 1.0:
            raise SystemExit("--max-false-refusals needs every training question (no --fraction)")
        if args.max_false_refusals == "linear" and base.gate_model:
            raise SystemExit("--max-false-refusals linear compares with the linear gate, but these weights hold a "
                             "learned one (and its threshold): start from weights without it, or give a RATE")
        oof, labels = out_of_fold(parts["train"], dx, dy, args.folds, log, **train_kw)
        lin = linear_gate_probs(x, inputs, base)
        lin_frr = float((lin[y == 1] < base.min_prob).mean())
        rate = lin_frr if args.max_false_refusals == "linear" else float(args.max_false_refusals)
        t = capped_threshold(oof, labels, rate)
        summary = (f"threshold {t:.2f} from {len(labels)} training questions scored out of fold ({args.folds} folds): "
                   f"refuses {(oof[labels == 1] < t).mean():.1%} of the answerable (cap {rate:.1%}) and "
                   f"{(oof[labels == 0] < t).mean():.1%} of the unanswerable, AUC {auc(oof, labels):.3f}; the linear "
                   f"gate at {base.min_prob}: {lin_frr:.1%} and {(lin[y == 0] < base.min_prob).mean():.1%}, "
                   f"AUC {auc(lin, y):.3f}")
        log(summary)
        chosen = {"min_prob": t}
        notes["min_prob"] = f"python -m evals.train_gate --max-false-refusals {args.max_false_refusals}: {summary}"
    result = Weights(**{**base.to_dict(), **chosen, "gate_model": model.to_dict(), "notes": notes})
    result.save(out)
    again = f" --reader {args.reader}" if args.reader else (" --reader" if with_reader else "")
    if not chosen:
        log(f"wrote the gate into {out}; now choose its threshold: python -m evals.calibrate --sweep-only "
            f"--write{again}")
    else:
        log(f"wrote the gate and its threshold into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
