"""The reader's training loop keeps a question's candidates together and its listwise term ranks.

Training itself never runs in CI; these narrow tests check the two pieces the
listwise loss depends on, on made-up rows and logits.
"""

from __future__ import annotations

import random

import torch

from evals.train_reader import Trainer, export_onnx, group_batches, training_pairs


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


# -- export: the precision choice, on a tiny randomly initialised BERT exported the way the trainer exports


def _tiny_bert():
    """A randomly initialised two-layer BERT with a one-logit head: the reader's architecture in miniature."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=400, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=128, max_position_embeddings=32, num_labels=1)
    return BertForSequenceClassification(config).eval()


def _tiny_onnx(tmp_path):
    model = _tiny_bert()
    ids = torch.randint(0, 400, (2, 8))
    path = tmp_path / "reader-fp32.onnx"
    export_onnx(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)},
                path)
    return path


def _fp32_share(path) -> float:
    """The share of the graph's MatMuls that stayed fp32: the stand-in for accuracy in the fake metric."""
    import onnx

    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    return ops.count("MatMul") / max(1, ops.count("MatMul") + ops.count("MatMulInteger"))


def test_weight_groups_name_each_layers_attention_and_feed_forward(tmp_path):
    from evals.train_reader import weight_groups

    groups = weight_groups(_tiny_onnx(tmp_path))
    assert {"layer 0 attention", "layer 0 feed-forward", "layer 1 attention", "layer 1 feed-forward",
            "word embeddings", "head"} <= set(groups)
    assert all(groups.values())


def test_mixed_precision_keeps_the_blocks_that_help_within_the_budget(tmp_path, monkeypatch):
    import evals.train_reader as tr

    fp32 = _tiny_onnx(tmp_path)

    def fake_metrics(path, dev, tok, residual):  # accuracy grows with what stays fp32; int8 alone is 10 points off
        return {"top1": 0.6 + 0.1 * _fp32_share(path), "auc": 0.8}

    monkeypatch.setattr(tr, "onnx_metrics", fake_metrics)
    out = tmp_path / "reader.onnx"
    roomy = tr.choose_precision(fp32, out, [], None, 0.0, lambda *_: None, budget=10**9)
    assert roomy["precision"].startswith("int8 per channel, ") and roomy["mixed_fp32_blocks"]
    assert roomy["mixed_dev"]["top1"] > roomy["int8_per_channel_dev"]["top1"]
    assert out.stat().st_size == roomy["bytes"]

    tight = tr.choose_precision(fp32, out, [], None, 0.0, lambda *_: None, budget=1)
    assert tight["precision"] == "int8 per channel" and tight["mixed_fp32_blocks"] == []
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == ["reader-fp32.onnx", "reader.onnx"]  # no variant left


def test_export_drops_the_nan_guards_and_scores_as_torch_does(tmp_path):
    """The exported graph has no IsNaN/Where after its softmaxes, and reads padded pairs exactly as torch."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    from evals.train_reader import drop_nan_guards

    model = _tiny_bert()
    ids = torch.randint(1, 400, (3, 10))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # a padded pair
    mask[2, 3:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    path = tmp_path / "reader.onnx"
    export_onnx(model, feeds, path)

    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert "IsNaN" not in ops and "Softmax" in ops
    assert drop_nan_guards(path) == 0  # nothing left to drop
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
    with torch.no_grad():
        want = model(**feeds).logits.numpy()
    assert np.allclose(got, want, atol=1e-5)
