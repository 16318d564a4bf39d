"""Stage 3: one component that ranks the candidates and decides: answer with this evidence, or refuse, and why.

Why one component: the ranker that orders candidates, the gate that judges the
best one, and the rules that refuse (a name no source mentions, evidence about
another year, a "how many" whose evidence holds no count) used to live in three
modules and override each other afterwards. Here ``Ranker.decide`` runs them as
named steps, in the order of ``STEPS``, and returns a ``Decision`` that says
which step answered or refused. Both answerers ask it: the extractive one
formats the decision's windows into text and citations, the LLM answerer asks
its model only when the decision is to answer.

With the trained reader (``reader.Reader``), ``rank`` first orders every
candidate by the features' linear model (the *cheap* ranker), asks the reader
about the best ``reader_top`` of them, and re-ranks by a fitted mix of both
scores; the gate then also sees the reader's score of the best candidate and
its margin over the next best.

The weights are data, by feature name: ``answering/weights.json`` (features
alone) and ``answering/weights-reader.json`` (with the reader). ``python -m
evals.calibrate --write [--reader]`` fits them on the development splits (never
a holdout) and writes those files; nothing rewrites Python source.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..text import mend_typos
from ..tuning import DEFAULT_TUNING, Tuning
from ..types import Candidate, Retrieval
from .evidence import FEATURES
from .question import Question
from .spans import figure_match
from .windows import Margins, Window, WindowBuilder

# the gate's inputs: how well the best candidate holds up ("top_logit" is its ranker logit; "reader" the trained
# reader's logit for it and "reader_margin" how far that is above the next best candidate's, when a reader is used)
GATE_FEATURES = ("bias", "top_logit", "dense_window", "dense_passage", "lexical", "lexical_window", "key_context",
                 "type_window", "conflict", "topic_window", "reader", "reader_margin")
# what the re-ranking with a reader mixes: the cheap ranker's logit and the reader's
RERANK_FEATURES = ("cheap", "reader")
# the learned gate's view of a ranking (``gate_inputs``): how sure the ranking is, then every feature of the best
# candidate and of the runner-up (a near-miss often shows as two half-matching candidates, or one that matches the
# question's words but not its key terms)
LEARNED_GATE_INPUTS = ("top_logit", "margin", "share",
                       *(f"top.{n}" for n in FEATURES[1:]), *(f"second.{n}" for n in FEATURES[1:]))
# …and with a reader, also what the reader made of the best candidate (its logit, its lead over the next candidate
# read, the cheap ranker's logit it was mixed with) and of the runner-up
READER_GATE_INPUTS = (*LEARNED_GATE_INPUTS, "top.reader", "top.reader_margin", "top.cheap", "second.reader")
LONE_MARGIN = 5.0  # the margin of a ranking with a single candidate: far ahead of any runner-up

# every step of ``Ranker.decide``, in order; each but the last refuses
STEPS = {
    "no_words": "the question has no words, only figures or punctuation (\"42\"): it does not say what is asked",
    "unknown_term": "the question names something (a name, a figure) that no source mentions",
    "no_evidence": "retrieval found no passage or no candidate sentence",
    "off_topic": "no candidate is close in meaning (min_dense) or shares the question's words (min_lexical)",
    "unlikely": "the gate's probability that the best candidate answers is below min_prob",
    "other_event": "the best evidence states another year, month or ordinal than the question, and no close "
                   "candidate is free of that conflict",
    "no_figure": "a how-many / how-much / when question whose evidence holds no figure or date of that kind",
    "answer": "the best window (and a close second one) answers",
}

# hand-made rules that a fitted decision may turn off (``Weights.rules``): calibration with the reader keeps a rule
# only if dev accuracy drops without it
OPTIONAL_RULES = ("other_event", "no_figure", "own_reason")

WEIGHTS_FILE = "weights.json"
READER_WEIGHTS_FILE = "weights-reader.json"


@dataclass(frozen=True)
class Weights:
    """The decision component's parameters, as ``answering/weights.json`` stores them.

    ``ranker`` and ``gate`` weigh features by name (a feature without a weight counts 0);
    the thresholds and margins are chosen by calibration on the development splits, the
    two floors by hand (questions about something else entirely, which the fitted gate
    rarely saw). ``notes`` says where each value came from.
    """

    ranker: dict[str, float]
    gate: dict[str, float]
    min_prob: float  # below this gate probability the sources are taken not to answer
    min_dense: float  # refuse when no candidate is this close in meaning…
    min_lexical: float  # …or the best one's window holds none of the question's words
    second_margin: float  # a second piece of evidence joins within this logit margin of the best
    next_margin: float  # the sentence after the best joins within this margin (why-answers, back-references)
    reader_top: int = 0  # with a reader: how many of the cheap ranker's best candidates it reads (0: no reader)
    rerank: dict[str, float] = field(default_factory=dict)  # with a reader: weights of RERANK_FEATURES
    rules: list[str] = field(default_factory=lambda: list(OPTIONAL_RULES))  # the OPTIONAL_RULES in force
    # the learned gate (``GateModel.to_dict``, written by ``python -m evals.train_gate``); empty: the linear ``gate``
    gate_model: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None, *, reader: bool = False) -> Weights:
        """The shipped weights (with the reader's when ``reader``), or those of ``path`` (a calibration's output)."""
        if path is None:
            name = READER_WEIGHTS_FILE if reader else WEIGHTS_FILE
            text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def ranker_vector(self) -> np.ndarray:
        return np.asarray([float(self.ranker.get(name, 0.0)) for name in FEATURES], dtype=np.float64)

    def gate_vector(self) -> np.ndarray:
        return np.asarray([float(self.gate.get(name, 0.0)) for name in GATE_FEATURES], dtype=np.float64)


@dataclass(frozen=True)
class Decision:
    """Answer with ``best`` (and ``supporting``), or refuse; ``reason`` names the step of ``STEPS`` that decided."""

    refused: bool
    reason: str
    probability: float  # the gate's probability that the sources answer (0 when refused before the gate)
    best: Window | None = None
    supporting: tuple[Window, ...] = ()
    ranked: tuple[Candidate, ...] = ()  # the candidates in the order the decision used them

    @property
    def windows(self) -> list[Window]:
        return [self.best, *self.supporting] if self.best is not None else []

    @property
    def why(self) -> str:
        return STEPS[self.reason]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 30.0), -30.0)))


def gate_inputs(ranked: list[Candidate], names: tuple[str, ...] = LEARNED_GATE_INPUTS) -> np.ndarray:
    """The learned gate's inputs ``names`` (``LEARNED_GATE_INPUTS`` or ``READER_GATE_INPUTS``) for a ranking, best
    candidate first; a feature a candidate lacks (a reader's, for one the reader did not read) counts 0."""
    top = ranked[0]
    second = ranked[1] if len(ranked) > 1 else top
    whole = {"top_logit": top.logit, "margin": top.logit - second.logit if len(ranked) > 1 else LONE_MARGIN,
             "share": top.score}
    pick = {"top": top, "second": second}

    def value(name: str) -> float:
        if name in whole:
            return whole[name]
        which, _, feature = name.partition(".")
        return pick[which].features.get(feature, 0.0)

    return np.array([value(n) for n in names], dtype=np.float64)


@dataclass(frozen=True)
class GateModel:
    """A small network that judges whether a ranking's best candidate answers: standardised ``gate_inputs``, one
    hidden layer of rectified units, a logistic output.

    Why learned and not hand-weighed: fitted on the few hundred dev questions, the linear gate separated answerable
    from near-miss questions on the training batches' 4,000 questions (other writers, other topics) little better
    than chance; trained on those questions, a gate sees how near-misses look in general. Its weights are data
    (``Weights.gate_model``) and it runs in numpy: a few thousand multiply-adds per question.
    """

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray  # hidden x inputs
    b1: np.ndarray
    w2: np.ndarray  # hidden
    b2: float
    inputs: tuple[str, ...] = LEARNED_GATE_INPUTS  # what ``gate_inputs`` feeds it, in order

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateModel:
        inputs = tuple(d.get("inputs", []))
        if inputs not in (LEARNED_GATE_INPUTS, READER_GATE_INPUTS):
            raise ValueError("The learned gate was trained on other inputs: retrain it (python -m evals.train_gate).")
        arr = {k: np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "w1", "b1", "w2")}
        return cls(arr["mean"], arr["scale"], arr["w1"], arr["b1"], arr["w2"], float(d["b2"]), inputs)

    def to_dict(self) -> dict[str, Any]:
        def r(a: np.ndarray) -> Any:
            return np.round(a, 6).tolist()

        return {"inputs": list(self.inputs), "mean": r(self.mean), "scale": r(self.scale), "w1": r(self.w1),
                "b1": r(self.b1), "w2": r(self.w2), "b2": round(self.b2, 6)}

    def logit(self, x: np.ndarray) -> float:
        h = np.maximum(self.w1 @ ((x - self.mean) / self.scale) + self.b1, 0.0)
        return float(self.w2 @ h + self.b2)


def gate_features(top: Candidate) -> np.ndarray:
    """The gate's inputs (``GATE_FEATURES``) for the best candidate (a feature it lacks counts 0)."""
    return np.array([1.0, top.logit] + [top.features.get(name, 0.0) for name in GATE_FEATURES[2:]])


class Ranker:
    """Scores candidates and decides answer or refuse, with the reason (see the module docstring).

    ``reader``: the trained cross-encoder, or None to rank by the features alone. The
    weights must match (``Weights.load(reader=True)`` has the re-ranking and its gate).
    """

    def __init__(self, weights: Weights | None = None, tuning: Tuning = DEFAULT_TUNING, reader: Any = None) -> None:
        self.reader = reader
        self.weights = weights or Weights.load(reader=reader is not None)
        if reader is not None and not self.weights.reader_top:
            raise ValueError("These weights were not fitted with a reader (reader_top is 0).")
        self.tuning = tuning
        self._ranker = self.weights.ranker_vector()
        self._gate = self.weights.gate_vector()
        self.gate_model = GateModel.from_dict(self.weights.gate_model) if self.weights.gate_model else None
        if self.gate_model is not None and "top.reader" in self.gate_model.inputs and not self.weights.reader_top:
            raise ValueError("This learned gate reads a reader's scores, but these weights use no reader "
                             "(reader_top is 0): retrain it (python -m evals.train_gate).")
        self.margins = Margins.of(self.weights.second_margin, self.weights.next_margin, tuning,
                                  own_reason="own_reason" in self.weights.rules)

    # -- ranking
    def rank(self, q: Question, candidates: list[Candidate]) -> list[Candidate]:
        """``candidates`` with ``logit`` and ``score`` (softmax share) set, most probable first."""
        for c in candidates:
            c.logit = float(np.array([c.features[name] for name in FEATURES]) @ self._ranker)
        if self.weights.reader_top and self.reader is None:
            raise ValueError("These weights mix in a reader's score: pass the reader (Ranker(weights, reader=...)).")
        if self.reader is not None and candidates:
            self._read(q, candidates)
        if candidates:
            top = max(c.logit for c in candidates)
            mass = [math.exp(c.logit - top) for c in candidates]
            total = sum(mass)
            for c, m in zip(candidates, mass):
                c.score = m / total
        candidates.sort(key=lambda c: -c.score)
        return candidates

    def _read(self, q: Question, candidates: list[Candidate]) -> None:
        """The reader's logit for the cheap ranker's best ``reader_top``; every logit becomes the fitted mix.

        A candidate the reader did not read gets the lowest logit it gave (so it ranks below
        every candidate read, as its cheap score already placed it).
        """
        candidates.sort(key=lambda c: -c.logit)
        top = candidates[: self.weights.reader_top]
        seen = " ".join(dict.fromkeys(t for c in top for t in (c.passage.title, c.text)))
        scores = [float(v) for v in self.reader.score(mend_typos(q.standalone, seen), top)]
        floor = min(scores)
        read = dict(zip(map(id, top), scores))
        mix = self.weights.rerank
        for c in candidates:
            c.features["cheap"] = c.logit
            c.features["reader"] = read.get(id(c), floor)
            c.logit = sum(mix.get(name, 0.0) * c.features[name] for name in RERANK_FEATURES)
        for i, c in enumerate(top):
            others = scores[:i] + scores[i + 1 :]
            c.features["reader_margin"] = scores[i] - (max(others) if others else floor)

    # -- deciding
    def gate(self, r: Retrieval) -> tuple[float, str]:
        """The probability that the sources answer, and the step that set it (``no_words`` … ``unlikely``)."""
        if r.question.wordless:
            return 0.0, "no_words"
        if r.question.unknown_terms:
            return 0.0, "unknown_term"
        if not r.candidates or not r.passages:
            return 0.0, "no_evidence"
        w = self.weights
        top = r.candidates[0]
        if max(c.dense for c in r.candidates) < w.min_dense or top.features["lexical_window"] < w.min_lexical:
            return 0.0, "off_topic"
        if self.gate_model is not None:
            prob = sigmoid(self.gate_model.logit(gate_inputs(r.candidates, self.gate_model.inputs)))
        else:
            prob = sigmoid(float(gate_features(top) @ self._gate))
        return prob, ("unlikely" if prob < w.min_prob else "answer")

    def decide(self, r: Retrieval) -> Decision:
        """Run ``STEPS`` in order on ``r``'s ranked candidates; the first that refuses decides."""
        prob, step = self.gate(r)
        if step != "answer":
            return Decision(True, step, prob)
        ranked = list(r.candidates)
        rules = self.weights.rules
        if "other_event" in rules and ranked[0].features["conflict"] > 0:
            # the best evidence states another year, month or ordinal than the question: another event.
            # A close candidate without that conflict may still answer; otherwise refuse.
            best = ranked[0]
            alt = next((c for c in ranked[1:] if not c.features["conflict"] > 0
                        and c.logit >= best.logit - self.weights.second_margin), None)
            if alt is None:
                return Decision(True, "other_event", prob, ranked=tuple(ranked))
            ranked = [alt, *(c for c in ranked if c is not alt)]
        q = r.question
        windows = WindowBuilder(q, ranked, self.margins).select()
        if ("no_figure" in rules and q.kind in ("number", "money", "date") and not q.which_document
                and not any(figure_match(q.asked, w.text) for w in windows)):
            # "how many"/"how much money"/"when"/"what share" cannot be answered without a figure (a percentage,
            # a duration…) or a date; "which document says how long…" asks for a document, not a figure
            return Decision(True, "no_figure", prob, ranked=tuple(ranked))
        return Decision(False, "answer", prob, windows[0], tuple(windows[1:]), tuple(ranked))
