"""`assistant eval --compare`: flipped cases and each metric's change with a paired-bootstrap interval."""

from __future__ import annotations

import json

from evals.suite import bootstrap_delta, compare


def _row(i: int, correct: bool, unanswerable: bool = False, refused: bool = False, category: str = "numbers_dates"):
    return {"id": f"q{i}", "category": category, "question": f"question {i}", "unanswerable": unanswerable,
            "reply": "yes" if correct else "no", "citations": [],
            "scores": {"correct": correct, "refused": refused, "n_citations": 1, "n_valid_citations": 1}}


def _write(folder, rows):
    folder.mkdir(parents=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_bootstrap_interval_brackets_the_change_and_is_zero_for_no_change():
    old = [_row(i, i % 2 == 0) for i in range(100)]
    new = [_row(i, i % 2 == 0 or i % 5 == 1) for i in range(100)]  # 10 more correct
    delta, lo, hi = bootstrap_delta(old, new, "accuracy")
    assert abs(delta - 0.10) < 1e-9 and lo < delta < hi and lo > 0
    same = bootstrap_delta(old, old, "accuracy")
    assert same == (0.0, 0.0, 0.0)


def test_compare_lists_fixed_and_broken_cases(tmp_path):
    old = [_row(0, True), _row(1, False), _row(2, True, unanswerable=True, refused=True, category="near_miss")]
    new = [_row(0, False), _row(1, True), _row(2, True, unanswerable=True, refused=True, category="near_miss")]
    _write(tmp_path / "a" / "corpora" / "x" / "holdout", old)
    _write(tmp_path / "b" / "corpora" / "x" / "holdout", new)
    report = compare(tmp_path / "a", tmp_path / "b")
    assert "corpora/x/holdout: 3 cases, 2 replies changed, 1 fixed, 1 broken" in report
    assert "fixed  q1" in report and "broken q0" in report
    assert "accuracy" in report and "95 % CI" in report
