"""The failure kinds of `python -m evals.errors` on hand-made scored rows."""

from evals.errors import analyse, failure_kind, markdown


def _row(correct=False, unanswerable=False, refused=False, rank=1, cited=False, category="lists", reason=None):
    scores = {"correct": correct, "refused": refused, "retrieval_scored": True, "retrieval_rank": rank,
              "support_cited": cited}
    return {"scores": scores, "unanswerable": unanswerable, "category": category, "reason": reason}


def test_each_wrong_case_gets_the_kind_that_says_what_to_fix():
    assert failure_kind(_row(correct=True)) is None
    assert failure_kind(_row(unanswerable=True)) == "near-miss answered"
    assert failure_kind(_row(refused=True, reason="unlikely")) == "false refusal"
    assert failure_kind(_row(rank=None)) == "not retrieved"
    assert failure_kind(_row(cited=True)) == "answer not in reply"
    assert failure_kind(_row()) == "wrong sentence"


def test_the_table_counts_by_category_and_names_the_refusing_steps():
    rows = [_row(correct=True), _row(), _row(refused=True, reason="unknown_term", category="reasons")]
    result = analyse(rows)
    assert result["by_category"]["lists"]["wrong sentence"] == 1
    assert result["overall"]["right"] == 1 and result["overall"]["cases"] == 3
    text = markdown(result)
    assert "| reasons | 1 | 0 | 0 | 1 |" in text and "unknown_term 1" in text
