"""The shipped reader (``assistant/answering/reader/``): it loads offline, reads what it was trained to read, and
its weights match the decision weights fitted for it.

Fixed pairs written for this test (not from any training or eval set): in each, one sentence answers the
question and the others are on the same topic but do not.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.decision import Ranker, Weights
from assistant.answering.reader import Reader, available, default_folder

CASES = [
    ("How much did the city spend on the new bridge?",
     "The city spent 48 million euros on the new bridge, which opened in May.",
     ["The new bridge crosses the river north of the old harbour.",
      "Engineers inspected the old bridge every spring."]),
    ("Who chairs the water board?",
     "The water board is chaired by Ana Ruiz, a former hydrologist.",
     ["The water board meets twice a month in the town hall.",
      "Members of the water board serve four-year terms."]),
    ("When did the museum reopen?",
     "After two years of repairs the museum reopened on 3 March 2021.",
     ["The museum holds about 40,000 objects.", "Repairs to the museum roof were paid for by the region."]),
]


@pytest.fixture(scope="module")
def reader() -> Reader:
    assert available(default_folder()), "the package ships no reader"
    return Reader()


def test_the_answering_sentence_scores_highest(reader):
    for question, answer, others in CASES:
        scores = reader.score_sentences(question, [answer, *others])
        assert int(np.argmax(scores)) == 0, (question, scores)


def test_its_scores_are_probabilities_and_deterministic(reader):
    question, answer, others = CASES[0]
    a = reader.score_sentences(question, [answer, *others])
    b = reader.score_sentences(question, [answer, *others])
    assert np.all((a >= 0) & (a <= 1))
    assert np.allclose(a, b)


def test_the_shipped_decision_weights_are_the_readers(reader):
    weights = Weights.load(reader=True)
    assert weights.reader_top > 0 and weights.rerank.get("reader", 0) > 0
    Ranker(weights, reader=reader)  # the pair loads together



def test_the_models_do_not_spin_between_requests(reader, embedder):
    """Both onnxruntime sessions of a question (the embedder's and the reader's) wait without busy-spinning,
    which on a 2-core machine would take the core the other model needs."""
    assert embedder.backend == "onnx"
    for session in (reader.session, embedder.encoder.session):
        assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
