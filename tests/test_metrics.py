"""Unit tests of the eval metrics on hand-made cases (no model, no store).

Each case is small enough to check by hand, and each would fail if a metric's
definition drifted (e.g. substring instead of whole-token presence, or a
citation counted valid at the wrong offsets).
"""

from __future__ import annotations

import json

import pytest

from evals import metrics as m
from evals.dataset import DatasetError, load_dataset
from evals.gate import check

SOURCE = "Japan took in about 2,000 Ukrainians. The package was worth $5.5 billion. Tokyo sent thirty-three drones."
S1 = "Japan took in about 2,000 Ukrainians."
S2 = "The package was worth $5.5 billion."
S3 = "Tokyo sent thirty-three drones."


def cite(quote: str, n: int = 1, path: str = "a.txt", shift: int = 0) -> dict:
    start = SOURCE.index(quote) + shift
    return {"n": n, "path": path, "quote": quote, "start": start, "end": start + len(quote)}


# -- SQuAD functions
def test_normalize_answer_matches_squad():
    assert m.normalize_answer("The  $5.5 Billion!") == "55 billion"
    assert m.normalize_answer("An apple, a pear") == "apple pear"
    assert m.normalize_answer("thirty-six") == "thirtysix"


def test_exact_match_and_f1():
    assert m.exact_match_score("The Kremlin.", "kremlin") == 1.0
    assert m.exact_match_score("Kremlin claims", "kremlin") == 0.0
    # prediction "fumio kishida announced" vs truth "fumio kishida": P = 2/3, R = 1 -> F1 = 0.8
    assert m.f1_score("Fumio Kishida announced", "Fumio Kishida") == pytest.approx(0.8)
    assert m.f1_score("nothing shared", "Kishida") == 0.0
    assert m.metric_max_over_ground_truths(m.f1_score, "Kishida", ["Abe", "Kishida"]) == 1.0


def test_presence_is_whole_token_and_ignores_markers():
    assert m.answer_present("It was worth $5.5 billion. [1]", ["5.5 billion"])
    assert not m.answer_present("Tokyo sent thirty-three drones. [1]", ["three"])
    assert not m.answer_present("He said 12 [1]", ["1"])  # the marker [1] is not an answer token
    assert m.contains("about 2,000 Ukrainians", "2,000")
    assert not m.contains("anything", "")


def test_possessives_and_typographic_punctuation_do_not_hide_an_answer():
    # "Kihara's warning" names Kihara; a title in typographic quotes holds its words
    assert m.answer_present("It opened with Defense Minister Minoru Kihara's warning. [1]", ["Minoru Kihara"])
    assert m.answer_present("“Beyond Moscow: How Japan Widened Its Sanctions” (2025-01-20) — …", ["Beyond Moscow"])
    assert m.answer_present("“Zelensky Tells Japan’s Lawmakers”", ["Zelensky Tells Japan's Lawmakers"])
    assert not m.answer_present("Its share rose. [1]", ["it"])  # only "'s" after a word is a possessive
    assert not m.answer_present("Tokyo sent thirty-three drones.", ["three"])


def test_word_count_skips_markers():
    assert m.word_count("one two three [1] four [2]") == 4


# -- citations
def test_quote_valid_checks_offsets_exactly():
    c = cite(S2)
    assert m.quote_valid(c["quote"], c["start"], c["end"], SOURCE)
    assert not m.quote_valid(c["quote"], c["start"] + 1, c["end"] + 1, SOURCE)
    assert not m.quote_valid(c["quote"], c["start"], c["end"], None)
    assert not m.quote_valid("", 0, 0, SOURCE)


def test_covered_and_support_cited_across_two_adjacent_citations():
    assert m.covered((5, 10), [(0, 7), (7, 12)])
    assert not m.covered((5, 10), [(0, 7), (8, 12)])
    assert m.covered((5, 10), [(0, 7), (8, 12)], "abcdefg hijkl")  # only white space between
    support = "2,000 Ukrainians. The package"  # spans S1 and S2
    both = [dict(cite(S1), valid=True), dict(cite(S2, 2), valid=True)]
    assert m.support_cited(support, both, {"a.txt": SOURCE})
    assert not m.support_cited(support, both[:1], {"a.txt": SOURCE})
    invalid = [dict(c, valid=False) for c in both]
    assert not m.support_cited(support, invalid, {"a.txt": SOURCE})


def test_citation_relevant_by_answer_or_support_overlap():
    assert m.citation_relevant(cite(S2), ["$5.5 billion"], "", SOURCE)
    assert m.citation_relevant(cite(S1), ["nope"], "about 2,000", SOURCE)
    assert not m.citation_relevant(cite(S3), ["$5.5 billion"], "worth $5.5", SOURCE)


def test_first_relevant_rank():
    assert m.first_relevant_rank([S3, S1, S2], "worth $5.5 billion") == 3
    assert m.first_relevant_rank([S3], "worth $5.5 billion") is None


# -- one case
CASE = {"id": "q", "question": "How much?", "answers": ["$5.5 billion"], "support": "worth $5.5 billion"}


def test_correct_needs_presence_and_a_correct_valid_citation():
    good = m.score_case(CASE, f"{S2} [1]", True, [cite(S2)], {"a.txt": SOURCE}, [S1, S2])
    assert good["correct"] and good["support_cited"] and good["retrieval_rank"] == 2
    # the answer is in the reply but the only citation is about something else
    wrong_cite = m.score_case(CASE, f"$5.5 billion. {S1} [1]", True, [cite(S1)], {"a.txt": SOURCE}, None)
    assert wrong_cite["present"] and not wrong_cite["cited_ok"] and not wrong_cite["correct"]
    # right quote, wrong offsets: invalid, so not correct
    shifted = m.score_case(CASE, f"{S2} [1]", True, [cite(S2, shift=1)], {"a.txt": SOURCE}, None)
    assert shifted["n_valid_citations"] == 0 and not shifted["correct"]


def test_long_reply_is_never_correct():
    reply = f"{S2} [1] " + "filler " * 80
    out = m.score_case(CASE, reply, True, [cite(S2)], {"a.txt": SOURCE}, None)
    assert out["present"] and out["cited_ok"] and out["too_long"] and not out["correct"]


def test_refusals():
    una = {"id": "n", "question": "?", "unanswerable": True}
    assert m.score_case(una, "The sources don't cover this.", False, [], {}, None)["correct"]
    assert not m.score_case(una, f"{S1} [1]", True, [cite(S1)], {"a.txt": SOURCE}, None)["correct"]
    refused = m.score_case(CASE, "The sources don't cover this.", False, [], {}, None)
    assert refused["refused"] and not refused["correct"]


def _row(case: dict, scores: dict, cat: str, ms: float) -> dict:
    return {**case, "category": cat, "scores": scores, "latency_ms": ms}


def test_summarize_refusal_and_latency_figures():
    una = {"id": "n", "question": "?", "unanswerable": True}
    src = {"a.txt": SOURCE}
    rows = [
        _row(CASE, m.score_case(CASE, f"{S2} [1]", True, [cite(S2)], src, [S2]), "numbers", 10.0),
        _row(CASE, m.score_case(CASE, "no", False, [], src, [S1]), "numbers", 20.0),  # false refusal
        _row(una, m.score_case(una, "no", False, [], src, None), "unanswerable", 30.0),  # right refusal
        _row(una, m.score_case(una, f"{S1} [1]", True, [cite(S1)], src, None), "unanswerable", 40.0),
    ]
    s = m.summarize_by_category(rows)
    assert s["total"] == 4 and s["accuracy"] == 0.5
    assert s["refusal_precision"] == 0.5  # 2 refusals, 1 on an unanswerable case
    assert s["refusal_recall"] == 0.5 and s["false_refusal_rate"] == 0.5
    assert s["retrieval_recall_at_1"] == 0.5 and s["retrieval_mrr"] == 0.5
    assert s["citation_validity"] == 1.0 and s["citation_support"] == 1.0
    assert s["p50_ms"] == 25.0 and s["p95_ms"] == pytest.approx(38.5)
    assert s["per_category"]["numbers"]["refusal_recall"] is None  # no unanswerable cases there
    assert s["per_category"]["unanswerable"]["accuracy"] == 0.5


# -- dataset loading and the gate
def test_load_dataset_reports_line_and_reason(tmp_path):
    f = tmp_path / "set.jsonl"
    f.write_text(json.dumps(CASE) + "\n\n" + json.dumps({"id": "x", "question": "q"}) + "\n")
    with pytest.raises(DatasetError, match=r"set.jsonl:3: .*answers"):
        load_dataset(f)
    f.write_text(json.dumps(CASE) + "\n" + json.dumps(CASE) + "\n")
    with pytest.raises(DatasetError, match="duplicate id"):
        load_dataset(f)
    f.write_text('{"id": "a", "question": "q", "unanswerable": true, "history": [{"role": "assistant", "content": "x"}]}\n')
    with pytest.raises(DatasetError, match="history"):
        load_dataset(f)
    with pytest.raises(DatasetError, match="No eval set"):
        load_dataset(tmp_path / "missing.jsonl")


def test_project_sets_are_well_formed_and_quote_the_source():
    from evals.dataset import HOLDOUT_SET, PROJECT_SET

    article = (PROJECT_SET.parents[1] / "knowledge" / "japan-russia-ukraine-policy.txt").read_text(encoding="utf-8")
    main, hold = load_dataset(PROJECT_SET), load_dataset(HOLDOUT_SET)
    assert len(main) >= 80
    assert not {c["id"] for c in main} & {c["id"] for c in hold}
    for cases in (main, hold):
        for c in cases:
            assert c.get("category"), c["id"]
            if not c.get("unanswerable"):
                assert c["support"] in article, c["id"]
    every = main + hold
    assert sum(bool(c.get("unanswerable")) for c in every) >= 8
    assert sum(bool(c.get("history")) for c in every) >= 4


def test_gate_check():
    bounds = {"min": {"accuracy": 0.6, "citation_validity": 1.0}, "max": {"false_refusal_rate": 0.2}}
    assert check({"accuracy": 0.7, "citation_validity": 1.0, "false_refusal_rate": 0.1}, bounds) == []
    problems = check({"accuracy": 0.5, "citation_validity": None, "false_refusal_rate": 0.3}, bounds)
    assert len(problems) == 3 and "accuracy" in problems[0]
