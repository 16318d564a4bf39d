"""The reader's training loop keeps a question's candidates together and its listwise term ranks.

Training itself never runs in CI; these narrow tests check the two pieces the
listwise loss depends on, on made-up rows and logits.
"""

from __future__ import annotations

import random

import torch

from evals.train_reader import Trainer, group_batches, training_pairs


def _rows(sizes: list[int]) -> list[tuple[str, str, int, int]]:
    return [(f"q{g}", f"c{g}-{k}", int(k == 0), g) for g, n in enumerate(sizes) for k in range(n)]


def test_batches_hold_whole_questions_and_every_row_once():
    rows = _rows([8, 7, 9, 3, 12, 8, 1, 6])
    batches = group_batches(rows, 16, random.Random(1))
    seen = sorted(i for b in batches for i in b)
    assert seen == list(range(len(rows)))
    for b in batches:
        groups = {rows[i][3] for i in b}
        # every question in a batch is there with all of its rows
        assert sum(1 for r in rows if r[3] in groups) == len(b)
        # a batch only goes over the size when one question alone is bigger
        assert len(b) <= 16 or len(groups) == 1


def test_training_pairs_number_each_question():
    groups = [
        {"question": "When?", "candidates": [
            {"b": "In 2022.", "label": True, "kind": "retrieved"},
            {"b": "Elsewhere.", "label": False, "kind": "retrieved"},
            {"b": "Later.", "label": False, "kind": "retrieved"}]},
        {"question": "Who?", "candidates": [
            {"b": "Kishida.", "label": False, "kind": "against"},
            {"b": "Nobody.", "label": False, "kind": "retrieved"}]},
    ]
    rows = training_pairs(groups, negatives=1, rng=random.Random(0))
    assert {r[3] for r in rows if r[0] == "When?"} == {0}
    assert {r[3] for r in rows if r[0] == "Who?"} == {1}
    assert sum(r[2] for r in rows) == 1


def test_the_listwise_term_prefers_the_answer_first_and_skips_unanswerable_questions():
    trainer = Trainer.__new__(Trainer)  # the loss needs torch only, not the model
    trainer.torch = torch
    target = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    group = [0, 0, 0, 1, 1]  # question 1 has no answer among its candidates
    good = trainer.listwise_loss(torch.tensor([3.0, 0.0, 0.0, 5.0, 5.0]), target, group)
    bad = trainer.listwise_loss(torch.tensor([0.0, 3.0, 0.0, 5.0, 5.0]), target, group)
    assert float(good) < float(bad)
    # only question 0 counts: its loss is -log softmax of the answer's logit
    expected = -torch.log_softmax(torch.tensor([3.0, 0.0, 0.0]), 0)[0]
    assert abs(float(good) - float(expected)) < 1e-6
    assert float(trainer.listwise_loss(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0]), [0, 0])) == 0.0
