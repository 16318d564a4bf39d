"""Every tuned number of the answer path, in one frozen dataclass.

Why one place: these weights and thresholds were chosen by measurement
(``python -m evals.calibrate`` on the development split, never on a holdout),
and they interact: a reader changing one should see the others. ``Tuning`` is
passed into the retriever, the sentence scorer and the answerers, so a
calibration run or a test builds its own with ``dataclasses.replace`` instead
of assigning to module globals. The eval report holds what each choice scored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    # -- retrieval: reciprocal rank fusion of dense passages, BM25 and best sentence
    # The constant of Cormack et al. (2009): robust across collections, needs no score calibration.
    rrf_k: int = 60
    # The best-sentence ranking counts this many times in the fusion: it is the finest-grained
    # evidence, and passage vectors are derived from sentence vectors.
    sentence_weight: float = 2.0

    # -- sentence score = w_sent_dense·cos(sentence) + w_lexical·idf-share + w_passage·cos(passage) + bonus
    # The sentence's own meaning match carries most weight…
    w_sent_dense: float = 0.40
    # …rare exact words (names, figures) catch what the small embedder blurs…
    w_lexical: float = 0.25
    # …and the passage's cosine lends context to short sentences.
    w_passage: float = 0.35
    # Holding the kind of thing asked for (a number for "how many") breaks near-ties.
    type_bonus: float = 0.06

    # -- refusal: below these the sources are taken not to answer
    # The best sentence's score.
    min_score: float = 0.42
    # The best passage's cosine: a question about nothing in the sources has no close passage.
    min_dense: float = 0.20

    # -- shaping the extractive answer
    # A second, non-adjacent sentence joins the best one only when it scores this close to it.
    second_ratio: float = 0.85
    # The sentence after the best one joins it (continuing the thought) at this share of its score.
    next_ratio: float = 0.4
    # An answer longer than this is not read at a glance (the eval counts replies up to 80 words).
    max_answer_words: int = 70

    # -- verification of generated sentences (calibrated on tests/data/verify_calibration.jsonl)
    # Share of a claim's content stems the cited passage must contain.
    verify_lexical_min: float = 0.65
    # Best cosine between the claim and the passage or one of its sentences.
    verify_dense_min: float = 0.55
    # A neighbouring sentence joins a claim's quote when it adds this much coverage.
    verify_adjacent_gain: float = 0.2
    # Shorter fragments ("[n]", "Answer:") are not claims.
    min_claim_words: int = 3

    # -- the LLM answerer
    # Passages in the prompt: keeps a small model's prompt near 1,000 tokens.
    llm_passages: int = 3
    # A kept generated answer must quote one of this many best-scored sentences…
    relevant_top: int = 4
    # …scoring at least this share of the best one, or it is beside the question.
    relevant_ratio: float = 0.75


DEFAULT_TUNING = Tuning()
