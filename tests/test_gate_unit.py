"""The learned refusal gate: what it reads from a ranking, its arithmetic, and that the decision obeys it.

Narrow unit tests (no model, no store): candidates and networks are built by hand.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistant.answering.decision import (
    LEARNED_GATE_INPUTS,
    LONE_MARGIN,
    READER_GATE_INPUTS,
    GateModel,
    Ranker,
    Weights,
    gate_inputs,
)
from assistant.answering.evidence import FEATURES
from assistant.answering.question import analyse
from assistant.types import Candidate, Retrieval, ScoredPassage
from tests._doubles import AnyCorpus


def _candidate(text: str, logit: float, score: float, value: float) -> Candidate:
    passage = ScoredPassage(id=text[:8], text=text, source="a.txt", title="A", start=0, end=len(text),
                            sentences=[(0, len(text))], dense=0.6)
    features = {name: value for name in FEATURES} | {"bias": 1.0}
    return Candidate(passage=passage, start=0, end=len(text), text=text, index=0, features=features, logit=logit,
                     score=score)


def _gate(bias: float, d: int = len(LEARNED_GATE_INPUTS)) -> GateModel:
    """A one-unit network whose output is ``bias`` plus the unit's (non-negative) activation of the margin."""
    w1 = np.zeros((1, d))
    w1[0, 1] = 1.0  # the margin, standardised by mean 0 and scale 1
    return GateModel(np.zeros(d), np.ones(d), w1, np.zeros(1), np.ones(1), bias)


def test_inputs_are_the_ranking_confidence_then_both_candidates_features():
    top, second = _candidate("Japan pledged 5.5 billion dollars.", 4.0, 0.7, 0.9), _candidate("Other.", 1.5, 0.2, 0.1)
    x = gate_inputs([top, second])
    assert len(x) == len(LEARNED_GATE_INPUTS)
    assert x[:3].tolist() == [4.0, 2.5, 0.7]
    assert x[LEARNED_GATE_INPUTS.index("top.dense")] == pytest.approx(0.9)
    assert x[LEARNED_GATE_INPUTS.index("second.dense")] == pytest.approx(0.1)
    assert gate_inputs([top])[1] == LONE_MARGIN  # a lone candidate is far ahead of any runner-up


def test_with_a_reader_it_also_reads_the_readers_scores_and_a_candidate_not_read_counts_0():
    top, second = _candidate("Japan pledged 5.5 billion dollars.", 4.0, 0.7, 0.9), _candidate("Other.", 1.5, 0.2, 0.1)
    top.features |= {"reader": 2.0, "reader_margin": 3.0, "cheap": 5.0}
    x = gate_inputs([top, second], READER_GATE_INPUTS)
    assert len(x) == len(READER_GATE_INPUTS)
    assert x[: len(LEARNED_GATE_INPUTS)].tolist() == gate_inputs([top, second]).tolist()
    assert x[len(LEARNED_GATE_INPUTS):].tolist() == [2.0, 3.0, 5.0, 0.0]


def test_a_gate_that_reads_a_readers_scores_needs_the_reader():
    d = len(READER_GATE_INPUTS)
    m = GateModel(np.zeros(d), np.ones(d), np.zeros((1, d)), np.zeros(1), np.ones(1), 0.0, READER_GATE_INPUTS)
    assert GateModel.from_dict(m.to_dict()).inputs == READER_GATE_INPUTS
    with pytest.raises(ValueError, match="reader_top is 0"):
        Ranker(replace(Weights.load(), gate_model=m.to_dict()))
    with pytest.raises(ValueError, match="pass the reader"):  # the reader's scores are made when ranking
        Ranker(replace(Weights.load(reader=True), gate_model=m.to_dict())).rank(None, [])


def test_the_network_is_standardise_relu_linear():
    rng = np.random.default_rng(0)
    d, h = 5, 3
    m = GateModel(rng.normal(size=d), rng.uniform(0.5, 2, size=d), rng.normal(size=(h, d)), rng.normal(size=h),
                  rng.normal(size=h), 0.25)
    x = rng.normal(size=d)
    z = (x - m.mean) / m.scale
    expected = float(m.w2 @ np.maximum(m.w1 @ z + m.b1, 0) + 0.25)
    assert m.logit(x) == pytest.approx(expected)


def test_saved_and_loaded_it_computes_the_same():
    m = _gate(-0.5)
    again = GateModel.from_dict(m.to_dict())
    x = np.linspace(-1, 1, len(LEARNED_GATE_INPUTS))
    assert again.logit(x) == pytest.approx(m.logit(x))


def test_a_gate_trained_on_other_inputs_is_refused_with_what_to_do():
    d = _gate(0.0).to_dict()
    d["inputs"] = d["inputs"][:-1]
    with pytest.raises(ValueError, match="train_gate"):
        GateModel.from_dict(d)


@pytest.mark.parametrize(("bias", "refused"), [(-6.0, True), (6.0, False)])
def test_the_decision_follows_the_learned_gate(bias, refused):
    base = Weights.load()
    weights = replace(base, gate_model=_gate(bias).to_dict(), min_prob=0.5, min_dense=0.0, min_lexical=0.0, rules=[])
    ranker = Ranker(weights)
    q = analyse("How much did Japan pledge?", "How much did Japan pledge?", AnyCorpus())
    top, second = _candidate("Japan pledged 5.5 billion dollars.", 4.0, 0.7, 0.9), _candidate("Other.", 3.9, 0.3, 0.1)
    r = Retrieval(q, [top.passage, second.passage], [top, second])
    prob, step = ranker.gate(r)
    # margin 0.1 adds 0.1 to the bias: sigmoid(-5.9) or sigmoid(6.1)
    assert prob == pytest.approx(1 / (1 + np.exp(-(bias + 0.1))))
    assert (step == "unlikely") is refused
