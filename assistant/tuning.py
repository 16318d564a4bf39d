"""Every hand-set number of retrieval, answer shaping, verification and the LLM answerer, in one frozen dataclass.

Why one place: these constants interact (a reader changing one should see the
others), and ``Tuning`` is passed into the retriever, the decision component
and the answerers, so a test builds its own with ``dataclasses.replace``
instead of assigning to module globals. The weights and thresholds that are
*fitted* (the ranker, the refusal gate and its margins) are data, not code:
``assistant/answering/weights.json``, written by ``python -m evals.calibrate``
and loaded by ``answering.decision.Weights``.
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

    # -- shaping the extractive answer
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
