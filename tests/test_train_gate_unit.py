"""Which reader scores which training batch when the gate is trained: never one that was trained on it.

Narrow unit tests: the readers are folders holding only their ``reader.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.train_gate import readers_by_batch


def _reader(folder: Path, batches: list[str]) -> Path:
    folder.mkdir()
    (folder / "reader.json").write_text(json.dumps({"format": 1, "max_length": 64, "trained": {"batches": batches}}))
    return folder


def test_each_batch_goes_to_a_reader_that_never_saw_it_and_the_rest_is_left_out(tmp_path):
    main = _reader(tmp_path / "main", ["t1", "t2", "t3"])
    a = _reader(tmp_path / "a", ["t2", "t3", "t4"])
    said: list[str] = []
    chosen = readers_by_batch(main, [f"{a}:t1"], ["t1", "t2", "t3", "t4"], said.append)
    assert chosen == {"t1": a, "t4": main}
    assert "t2 t3" in said[0]


def test_an_out_of_fold_reader_trained_on_its_batch_is_refused(tmp_path):
    main = _reader(tmp_path / "main", ["t1"])
    a = _reader(tmp_path / "a", ["t1"])
    with pytest.raises(SystemExit, match="trained on t1"):
        readers_by_batch(main, [f"{a}:t1"], ["t1"], print)


def test_training_keeps_the_epoch_that_separates_dev_best_and_numpy_computes_what_torch_learned():
    import numpy as np

    from evals.train_gate import auc, train

    rng = np.random.default_rng(3)

    def data(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(n, 4)) * [1.0, 5.0, 1.0, 0.1] + [0.0, 10.0, 0.0, 0.0]  # unstandardised on purpose
        return x, (x[:, 0] + 0.3 * x[:, 2] > 0).astype(float)

    x, y = data(600)
    dx, dy = data(200)
    model, history = train(x, y, dx, dy, hidden=8, epochs=6, lr=1e-2, weight_decay=1e-3, dropout=0.0, seed=1,
                           log=lambda _: None)
    best = max(history, key=lambda m: m["dev_auc"])
    logits = np.array([model.logit(row) for row in dx])
    assert best["dev_auc"] > 0.95
    assert auc(logits, dy) == pytest.approx(best["dev_auc"], abs=0.005)  # float64 numpy, float32 torch


def test_the_capped_threshold_refuses_no_more_answerable_questions_than_the_cap():
    import numpy as np

    from evals.train_gate import capped_threshold

    rng = np.random.default_rng(5)
    labels = np.r_[np.ones(1000), np.zeros(300)]
    scores = np.r_[rng.beta(5, 2, 1000), rng.beta(2, 5, 300)]
    for rate in (0.0, 0.05, 0.10, 0.30):
        t = capped_threshold(scores, labels, rate)
        assert (scores[labels == 1] < t).mean() <= rate
        assert (scores[labels == 1] < t + 0.02).mean() > rate - 0.01  # …and is not needlessly low
    assert capped_threshold(scores, labels, 0.10) < capped_threshold(scores, labels, 0.30)


def test_the_linear_gate_reads_its_features_from_the_learned_gates_inputs():
    import numpy as np

    from assistant.answering.decision import READER_GATE_INPUTS, Weights, gate_features, gate_inputs, sigmoid
    from assistant.answering.evidence import FEATURES
    from assistant.types import Candidate, ScoredPassage
    from evals.train_gate import linear_gate_probs

    rng = np.random.default_rng(2)
    passage = ScoredPassage(id="p", text="x", source="s", title="t", start=0, end=1, sentences=[(0, 1)])
    ranked = []
    for logit in (3.0, 1.0):
        names = (*FEATURES, "reader", "reader_margin", "cheap")
        ranked.append(Candidate(passage, 0, 1, "x", features={n: float(rng.normal()) for n in names}, logit=logit))
    weights = Weights.load(reader=True)
    x = gate_inputs(ranked, READER_GATE_INPUTS)[None, :]
    expected = sigmoid(float(gate_features(ranked[0]) @ weights.gate_vector()))
    assert linear_gate_probs(x, READER_GATE_INPUTS, weights)[0] == pytest.approx(expected)
