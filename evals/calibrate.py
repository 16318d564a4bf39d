"""python -m evals.calibrate [--write] [--sweep-only] [--reader [DIR]]

Fits the decision component's weights (``assistant/answering/weights.json``: the
sentence ranker, the refusal gate, its threshold and margins; with ``--reader``,
``weights-reader.json``: how the trained reader's score and the features' ranker
mix, the gate over both, and which refusal rules still earn their place) on the
development split of every corpus — the shipped
article's ``evals/dataset.jsonl`` and each ``evals/corpora/<name>/dev.jsonl`` —
and never on a holdout, which stays unseen so the eval report can say how well
the fit carries to questions and documents it was not chosen on.

1. Every candidate sentence the retriever offers for every dev question is
   labelled: positive when it holds the question's support text or an answer
   alias.
2. The ranker (``answering.evidence.FEATURES``) is fitted as a conditional logit:
   for each answerable question, the softmax over its candidates should put its
   mass on the positives (ridge-penalised, L-BFGS-B with each weight kept to its
   feature's sign, each corpus weighted equally).
3. The gate (``answering.decision.GATE_FEATURES`` of the best candidate under that
   ranker) is a logistic regression of "answerable" against "unanswerable".
4. The gate's threshold and the evidence margins are swept end to end: the eval
   runner scores each dev set at each setting; the threshold is cross-validated
   over the dev sets and capped by the false-refusal limit.

With ``--reader`` the features' ranker is kept as it is (it chooses what the
reader reads); step 2 fits the mix of ``RERANK_FEATURES`` over the candidates
the reader read, and a last step drops each optional refusal rule (``Weights.rules``)
in turn: a rule the reader makes unnecessary (dev accuracy no lower without it)
is turned off.

It prints the values and, with ``--write``, writes them into ``weights.json``
(or ``weights-reader.json``); the hand-set floors and the notes are kept.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant import Assistant, Settings
from assistant.answering.decision import GATE_FEATURES, OPTIONAL_RULES, RERANK_FEATURES, Ranker, Weights
from assistant.answering.evidence import FEATURES
from assistant.answering.extractive import ExtractiveAnswerer
from evals.dataset import load_dataset
from evals.metrics import contains
from evals.run import EvalRunner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def dev_sets() -> list[tuple[str, Path, Path]]:
    """(name, knowledge folder, dev set) of every corpus: the shipped article, then evals/corpora/*."""
    sets = [("seed", ROOT / "knowledge", HERE / "dataset.jsonl")]
    for dev in sorted(HERE.glob("corpora/*/dev*.jsonl")):  # dev.jsonl, dev2.jsonl …: never holdout.jsonl
        sets.append((f"{dev.parent.name}/{dev.stem}", dev.parent / "knowledge", dev))
    return sets


def _flex(fragment: str) -> re.Pattern[str]:
    """``fragment`` as a pattern that ignores differences in white space and case."""
    return re.compile(r"\s+".join(re.escape(w) for w in fragment.split()), re.I)


def label(case: dict, sentence) -> int:  # noqa: ANN001 - a Candidate
    """1 when the candidate sentence holds the case's support text or an answer alias, 0 otherwise.

    A training question's support may be a list (a sentence per document, or a title line and a sentence).
    """
    if case.get("unanswerable"):
        return 0
    support = case.get("support") or []
    p = sentence.passage
    for s in [support] if isinstance(support, str) else support:
        if not s.strip():
            continue
        m = _flex(s).search(p.text)
        if m and sentence.start < p.start + m.end() and p.start + m.start() < sentence.end:
            return 1
    return int(any(contains(sentence.text, alias) for alias in case.get("answers") or []))


@dataclass
class Question:
    """One dev question's candidates: ranker inputs, gate inputs, labels."""

    case: dict
    question: str
    x: np.ndarray  # candidates x the ranker's inputs (FEATURES, or RERANK_FEATURES with a reader)
    g: np.ndarray  # candidates x GATE_FEATURES[2:]
    y: np.ndarray  # 1 = the candidate answers
    missing: bool  # a name or figure no source mentions: refused before any model


def collect(bot: Assistant, cases: list[dict], names: tuple[str, ...] = FEATURES) -> list[Question]:
    """The candidates of every case, asked as the eval runner asks them (history replayed).

    With a reader only the candidates it read are kept: the mix is fitted where it applies.
    """
    out = []
    for case in cases:
        history: list[dict] = []
        for turn in case.get("history") or []:
            prior = bot.ask(turn["content"], history=list(history))
            history += [{"role": "user", "content": turn["content"]}, {"role": "assistant", "content": prior.text}]
        r = bot.retrieve(case["question"], history or None)
        cands = [c for c in r.candidates if names is FEATURES or "reader_margin" in c.features]
        x = np.asarray([[c.features[n] for n in names] for c in cands], dtype=np.float64).reshape(len(cands), len(names))
        g = np.asarray([[c.features.get(n, 0.0) for n in GATE_FEATURES[2:]] for c in cands], dtype=np.float64)
        y = np.asarray([label(case, c) for c in cands], dtype=np.float64)
        out.append(Question(case, r.text, x, g.reshape(len(cands), len(GATE_FEATURES) - 2), y,
                            bool(r.question.unknown_terms)))
    return out


def fit_ranker(groups: list[list[Question]], l2: float, names: tuple[str, ...] = FEATURES,
               share: list[float] | None = None) -> np.ndarray:
    """Conditional-logit weights: per answerable question, softmax mass on its positive candidates.

    Each corpus weighs ``share`` of the total (the same by default); a bias would cancel in a softmax and stays 0.
    Weights keep the sign of what their feature means (``RANKER_SIGNS``).
    """
    d = len(names)
    usable = [[q for q in g if not q.case.get("unanswerable") and q.y.sum() > 0] for g in groups]
    share = share or [1.0] * len(groups)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = l2 * float(w[1:] @ w[1:]), 2 * l2 * np.r_[0.0, w[1:]]
        for qs, part in zip(usable, share):
            if not qs:
                continue
            a = part / len(qs)
            for q in qs:
                s = q.x @ w
                p = np.exp(s - s.max())
                p /= p.sum()
                pos = q.y > 0
                value -= a * float(np.log(p[pos].sum()))
                t = p * pos / p[pos].sum()
                grad -= a * (q.x.T @ t - q.x.T @ p)
        return value, grad

    return _minimize(loss, d, RANKER_SIGNS, names, fixed_zero={"bias"})


# the sign each weight must keep: evidence that matches the question better may never count against
# an answer, a contradiction may never count for it (0: either sign). Without these, a small dev set
# teaches the gate that an exact match is suspicious (near-misses share the question's words).
RANKER_SIGNS = {"dense": 1, "dense_window": 1, "dense_passage": 1, "lexical": 1, "lexical_window": 1,
                "lexical_context": 1, "key": 1, "key_window": 1, "key_context": 1, "type": 1, "type_window": 1,
                "type_x_lexical_window": 1, "rank": 1, "dense_own": 1, "topic_window": 1, "conflict": -1,
                "attributed_reason": -1, "cheap": 1, "reader": 1}
GATE_SIGNS = {"top_logit": 1, "dense_window": 1, "dense_passage": 1, "lexical": 1, "lexical_window": 1,
              "key_context": 1, "type_window": 1, "topic_window": 1, "conflict": -1, "reader": 1, "reader_margin": 1}


def _minimize(loss, d: int, signs: dict[str, int], names: tuple[str, ...],  # noqa: ANN001
              fixed_zero: set[str] = frozenset()) -> np.ndarray:
    """``loss`` (value, gradient) minimised by L-BFGS-B within the sign bounds."""
    from scipy.optimize import minimize

    bounds = []
    for name in names:
        sign = signs.get(name, 0)
        if name in fixed_zero:
            bounds.append((0.0, 0.0))
        else:
            bounds.append((0.0, None) if sign > 0 else (None, 0.0) if sign < 0 else (None, None))
    res = minimize(loss, np.zeros(d), jac=True, method="L-BFGS-B", bounds=bounds)
    return res.x


def gate_rows(groups: list[list[Question]], ranker: np.ndarray,
              share: list[float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gate features of every question's best candidate under ``ranker``, answerable labels, corpus weights
    (each corpus ``share`` of the total, the same by default)."""
    xs, ys, ws = [], [], []
    for g, part in zip(groups, share or [1.0] * len(groups)):
        rows = [q for q in g if len(q.y) and not q.missing]
        for q in rows:
            logits = q.x @ ranker
            i = int(np.argmax(logits))
            xs.append(np.r_[1.0, logits[i], q.g[i]])
            ys.append(0.0 if q.case.get("unanswerable") else 1.0)
            ws.append(part / len(rows))
    w = np.asarray(ws)
    return np.asarray(xs), np.asarray(ys), w / w.mean()


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1.0,
                 names: tuple[str, ...] = GATE_FEATURES) -> np.ndarray:
    """Weighted L2-regularised logistic regression of the gate (the bias, column 0, is not penalised),
    with weights keeping their features' signs (``GATE_SIGNS``)."""

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.clip(x @ w, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        value = -float(weight @ (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) + 0.5 * l2 * float(w[1:] @ w[1:])
        grad = x.T @ (weight * (p - y)) + l2 * np.r_[0.0, w[1:]]
        return value, grad

    # a feature outside ``names`` keeps weight 0 (the reader's features, without a reader)
    return _minimize(loss, x.shape[1], GATE_SIGNS, GATE_FEATURES, fixed_zero=set(GATE_FEATURES) - set(names))


def cross_validated_threshold(groups: list[list[Question]], sets: list[tuple[str, list[dict]]], trials: list,
                              weights: Weights, ranker: np.ndarray, l2: float, gate_names: tuple[str, ...],
                              extra: list[list[Question]] = ()) -> float:
    """The gate threshold that does best on dev sets the gate was not fitted on.

    Fitted and judged on the same questions, the gate looks surer than it is: on a set written
    by someone else it refuses answerable questions far more often. So each dev set is held out
    in turn, the gate is fitted on the others (and on ``extra``, the training batches, which are never held out),
    and the threshold with the best mean held-out
    accuracy is chosen (the gate itself is then fitted on all of them).
    """
    grid = [round(float(t), 2) for t in np.arange(0.05, 0.96, 0.05)]
    held: dict[float, list[float]] = {t: [] for t in grid}
    for h, (name, cases) in enumerate(sets):
        gx, gy, gw = gate_rows([g for i, g in enumerate(groups) if i != h] + list(extra), ranker)
        gate_h = dict(zip(GATE_FEATURES, (float(v) for v in fit_logistic(gx, gy, gw, l2=l2, names=gate_names))))
        for t in grid:
            trials[h].answerer = answerer(replace(weights, gate=gate_h, min_prob=t))
            held[t].append(accuracy(trials[h], cases)[0])
        print(f"held out {name}: " + " ".join(f"{t:.2f}:{held[t][-1]:.3f}" for t in grid), flush=True)
    best = max(grid, key=lambda t: (round(float(np.mean(held[t])), 4), -t))
    print(f"cross-validated threshold {best} (mean held-out accuracy {np.mean(held[best]):.3f})", flush=True)
    return best


class _Memo:
    """An Assistant whose retrievals are remembered: a sweep changes only how answers are made from them."""

    def __init__(self, bot: Assistant) -> None:
        self.bot = bot
        self.answerer = bot.answerer
        self._seen: dict[str, object] = {}

    def retrieve(self, question: str, history: list[dict] | None = None):  # noqa: ANN201
        key = json.dumps([question, history])
        if key not in self._seen:
            self._seen[key] = self.bot.retrieve(question, history)
        return self._seen[key]

    def ask(self, question: str, history: list[dict] | None = None):  # noqa: ANN201
        r = self.retrieve(question, history)
        ans = self.answerer.answer(r, history)
        ans.question, ans.standalone_question = r.text, r.standalone
        return ans

    def source_text(self, path: str) -> str:
        return self.bot.source_text(path)


def accuracy(bot: Assistant | _Memo, cases: list[dict]) -> tuple[float, float, float]:
    """(accuracy, refusal recall, false refusal rate) of the eval runner on ``cases``."""
    rows = EvalRunner(bot, progress=False, warmup=False).run(cases)
    ans = [r for r in rows if not r["unanswerable"]]
    una = [r for r in rows if r["unanswerable"]]
    acc = sum(r["scores"]["correct"] for r in rows) / len(rows)
    recall = sum(r["scores"]["correct"] for r in una) / max(len(una), 1)
    frr = sum(not r["answered"] for r in ans) / max(len(ans), 1)
    return acc, recall, frr


ANSWERING = ROOT / "assistant" / "answering"


def answerer(weights: Weights) -> ExtractiveAnswerer:
    """An extractive answerer deciding with ``weights`` (retrieval, and so the ranking, is unchanged)."""
    return ExtractiveAnswerer(Ranker(weights))


def mean_accuracy(trials: list, sets: list[tuple[str, list[dict]]], weights: Weights) -> tuple[float, float, list]:
    """Mean dev accuracy and mean false-refusal rate of ``weights`` over the memoised trials."""
    scores = []
    for trial, (_, cases) in zip(trials, sets):
        trial.answerer = answerer(weights)  # retrieval (and its ranking) does not depend on these
        scores.append(accuracy(trial, cases))
    return float(np.mean([s[0] for s in scores])), float(np.mean([s[2] for s in scores])), scores


def training_groups(data_dir: Path, embedder, weights: Weights, reader, names: tuple[str, ...]) -> list[list[Question]]:  # noqa: ANN001
    """The candidates of every question of every training batch (``evals/train/*``), a store per batch.

    Why: the dev splits hold a few hundred questions by four writers; the training batches hold thousands, by
    fifteen more, on other topics, so a fit on them all learns what reading is rather than one writer's habits.
    They only fit weights: thresholds and margins are still chosen on the dev splits. With a reader, the batches
    it was trained on are left out: it reads them far more surely than new text, and the mix would trust it too much.
    """
    from evals.reader_data import train_sources

    seen: set[str] = set()
    if reader is not None:
        seen = set(reader.info.trained.get("batches", []))
    out = []
    for source in (s for s in train_sources() if s.name not in seen):
        bot = Assistant(Settings(data_dir=data_dir / f"train-{source.name}", knowledge_dir=source.knowledge,
                                 reader=False), embedder=embedder, ranker=Ranker(weights, reader=reader))
        # the training format (a support may be a list), read as reader_data reads it
        cases = [json.loads(line) for line in source.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
        out.append(collect(bot, cases, names))
        have = sum(1 for q in out[-1] if q.y.sum() > 0)
        print(f"train {source.name}: {len(cases)} questions, {have} with a positive, {bot.store.count()} passages",
              flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data-calibrate", help="stores of the dev corpora")
    ap.add_argument("--l2", type=float, default=0.05, help="ridge penalty of the ranker and the gate")
    ap.add_argument("--sweep-only", action="store_true", help="keep the ranker and gate weights, sweep the rest only")
    ap.add_argument("--write", action="store_true", help="write the fitted values into the weights file")
    ap.add_argument("--reader", nargs="?", const="", default=None, metavar="DIR",
                    help="fit the weights used with the trained reader (the shipped one, or the one in DIR)")
    ap.add_argument("--reader-top", type=int, default=None, help="with --reader: candidates the reader reads")
    ap.add_argument("--with-train", action="store_true",
                    help="also fit the ranker and the gate on the reader's training batches (evals/train/*)")
    ap.add_argument("--keep-rule", action="append", default=[], choices=OPTIONAL_RULES,
                    help="with --reader: keep this refusal rule even if dev accuracy does not need it")
    ap.add_argument("--max-frr", type=float, default=0.05, help="highest mean false refusal rate a setting may have")
    ap.add_argument("--second-margins", type=float, nargs="+", default=[0.2, 0.4, 0.7, 1.0, 2.0])
    ap.add_argument("--next-margins", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    args = ap.parse_args(argv)

    with_reader = args.reader is not None
    reader = None
    if with_reader:
        from assistant.answering.reader import Reader

        reader = Reader(Path(args.reader) if args.reader else None)
        cheap = Weights.load()
        local = Path(args.reader) / "weights-reader.json" if args.reader else None
        try:  # a reader trained elsewhere may carry its own weights (a gate trained for it)
            base = Weights.load(local) if local and local.exists() else Weights.load(reader=True)
        except FileNotFoundError:  # the first fit: start from the features' weights
            base = replace(cheap, reader_top=8, rerank={"cheap": 1.0, "reader": 1.0}, notes={})
        # the features' ranker chooses what the reader reads: always the shipped one
        base = replace(base, ranker=cheap.ranker, reader_top=args.reader_top or base.reader_top)
        names, gate_names = RERANK_FEATURES, GATE_FEATURES
        # a reader trained elsewhere gets its weights beside it; the shipped one, in the package
        target = (Path(args.reader) if args.reader else ANSWERING) / "weights-reader.json"
    else:
        base = Weights.load()
        names, gate_names = FEATURES, GATE_FEATURES[:-2]
        target = ANSWERING / "weights.json"

    bots, sets = [], []
    embedder = None
    by_folder: dict[Path, Assistant] = {}
    for name, knowledge, dev in dev_sets():
        if knowledge not in by_folder:  # splits of one corpus share its store
            store_dir = args.data_dir / name.split("/")[0]
            by_folder[knowledge] = Assistant(Settings(data_dir=store_dir, knowledge_dir=knowledge, reader=False),
                                             embedder=embedder, ranker=Ranker(base, reader=reader))
        bot = by_folder[knowledge]
        embedder = bot.embedder
        bots.append(bot)
        sets.append((name, load_dataset(dev)))
        print(f"{name}: {len(sets[-1][1])} dev cases, {bot.store.count()} passages", flush=True)

    fitted = base
    if not args.sweep_only:
        groups = [collect(bot, cases, names) for bot, (_, cases) in zip(bots, sets)]
        for (name, _), g in zip(sets, groups):
            have = sum(1 for q in g if q.y.sum() > 0)
            print(f"{name}: {sum(len(q.y) for q in g)} candidates; {have} questions with a positive", flush=True)
        extra: list[list[Question]] = []
        if args.with_train:
            extra = training_groups(args.data_dir, embedder, base, reader, names)
        w = fit_ranker(groups + extra, l2=args.l2, names=names)
        mix = {f: round(float(v), 3) for f, v in zip(names, w)}
        for f, v in mix.items():
            print(f"  ranker {f:>22} {v:+.3f}")
        gx, gy, gw = gate_rows(groups + extra, w)
        gate = {f: round(float(v), 3) for f, v in zip(GATE_FEATURES, fit_logistic(gx, gy, gw, l2=args.l2,
                                                                                     names=gate_names))}
        for f, v in gate.items():
            print(f"  gate   {f:>22} {v:+.3f}")
        fitted = replace(base, rerank=mix, gate=gate) if with_reader else replace(base, ranker=mix, gate=gate)
        if fitted.gate_model:
            # the learned gate reads the ranker's logits: a new ranker needs it retrained
            fitted = replace(fitted, gate_model={})
            print("the learned gate was dropped (it reads the old ranker's logits): run python -m evals.train_gate, "
                  "then python -m evals.calibrate --sweep-only --write", flush=True)

    best = None
    feasible: dict[tuple[float, float, float], float] = {}
    grid = [(m2, mn, round(float(t), 2)) for m2 in args.second_margins for mn in args.next_margins
            for t in np.arange(0.05, 0.96, 0.05)]
    trials = [_Memo(Assistant(bot.settings, embedder=bot.embedder, store=bot.store, ranker=Ranker(fitted, reader=reader),
                              auto_ingest=False)) for bot in bots]
    for second_margin, next_margin, threshold in grid:
        weights = replace(fitted, min_prob=threshold, second_margin=second_margin, next_margin=next_margin)
        mean, frr, scores = mean_accuracy(trials, sets, weights)
        detail = "  ".join(f"{n} acc {a:.3f} ref.R {rr:.2f} FRR {f:.2f}" for (n, _), (a, rr, f) in zip(sets, scores))
        print(f"second {second_margin} next {next_margin} min_prob {threshold:.2f}: mean accuracy {mean:.3f}   {detail}",
              flush=True)
        # false refusals cost users most: a setting may refuse at most --max-frr of answerable questions
        if frr <= args.max_frr:
            feasible[(second_margin, next_margin, threshold)] = frr
        if frr <= args.max_frr and (best is None or mean > best[0] + 1e-9):
            best = (mean, threshold, second_margin, next_margin)
    if best is None:
        print(f"no setting keeps false refusals under {args.max_frr}", file=sys.stderr)
        return 1
    threshold = best[1]
    if not args.sweep_only and len(sets) > 1:
        held_out = cross_validated_threshold(groups, sets, trials, replace(fitted, second_margin=best[2],
                                             next_margin=best[3]), w, args.l2, gate_names, extra)
        # never above the highest threshold that keeps false refusals within --max-frr on the dev sets
        threshold = min(held_out, max(t for (m2, mn, t), f in feasible.items() if (m2, mn) == best[2:]))
        print(f"threshold {threshold} (held-out choice {held_out}, capped by the false-refusal limit)")
    result = replace(fitted, min_prob=threshold, second_margin=best[2], next_margin=best[3])
    if with_reader:
        # a refusal rule stays only if dropping it costs dev accuracy
        kept, _, _ = mean_accuracy(trials, sets, result)
        rules = list(result.rules)
        for rule in [r for r in rules if r not in args.keep_rule]:
            without = replace(result, rules=[r for r in rules if r != rule])
            acc, frr, _ = mean_accuracy(trials, sets, without)
            print(f"without rule {rule}: mean accuracy {acc:.3f} (with: {kept:.3f}), FRR {frr:.3f}", flush=True)
            if acc >= kept and frr <= args.max_frr:
                rules.remove(rule)
                kept = acc
        result = replace(result, rules=rules)
    print(json.dumps({k: v for k, v in result.to_dict().items() if k not in ("notes", "gate_model")}, indent=2))
    print(f"(mean dev accuracy {best[0]:.3f})")
    if args.write:
        notes = dict(result.notes, fitted_on=[name for name, _ in sets])
        if args.sweep_only:
            notes["min_prob"] = (f"chosen on the dev grid with the ranker and gate kept (--sweep-only), within the "
                                 f"{args.max_frr:.0%} dev false-refusal limit")
        replace(result, notes=notes).save(target)
        print(f"\nwrote {target}")
    else:
        print(f"\n(not written: run with --write to replace {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
