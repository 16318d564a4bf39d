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

    # -- the sentence ranker: a linear model over scoring.FEATURES (same order), fitted by
    # `python -m evals.calibrate` on the development splits of every corpus (never a holdout)
    # to put the sentence that answers first among the candidates.
    ranker: tuple[float, ...] = (
        0.0, 1.128, 0.29, 0.268, 1.819, 1.12, 1.123, 0.0, 0.086, 0.944, 1.281, 0.616, 0.753, 0.986, -0.083, -0.341,
        0.0, -0.388, 1.463, 1.183,
    )
    # -- the refusal gate: a logistic model over scoring.GATE_FEATURES giving the probability that
    # the question is answerable from the best candidate, fitted the same way.
    gate: tuple[float, ...] = (
        -4.137, 0.0, 0.0, 4.028, 0.0, 0.0, 3.725, 0.0, -3.22, 0.0,
    )
    # Floors under the gate, for questions about something else entirely ("a recipe for miso soup"),
    # which the fitted gate rarely saw: no candidate this close in meaning…
    min_dense: float = 0.2
    # …or none of the question's words (idf-weighted share) near the best candidate.
    min_lexical: float = 0.05
    # Below this gate probability the sources are taken not to answer.
    min_prob: float = 0.4

    # -- shaping the extractive answer
    # A second, separate piece of evidence joins the best one when its ranker logit is within this
    # margin of the best's: near-ties are shown together rather than guessed between.
    second_margin: float = 2.0
    # The sentence after the best one joins it (continuing a "why" answer, or a sentence that refers
    # back to it) when its logit is within this margin of the best's.
    next_margin: float = 4.0
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
    # A kept generated answer must quote one of this many best-ranked sentences…
    relevant_top: int = 4
    # …whose ranker logit is within this margin of the best one's, or it is beside the question.
    relevant_margin: float = 1.5


DEFAULT_TUNING = Tuning()
