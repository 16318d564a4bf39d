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


def test_a_reader_from_another_base_reads_with_its_own_tokenizer_and_inputs(tmp_path):
    """``train_reader --base``: an MPNet (no token types, ``<pad>`` not ``[PAD]``) exported the trainer's way and
    shipped with its ``tokenizer.json`` is read by the runtime ``Reader`` exactly as torch reads it."""
    import json

    import numpy as np
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import MPNetConfig, MPNetForSequenceClassification

    from assistant.answering.reader import FORMAT, META_FILE, TOKENIZER_FILE, Reader, encode, tokenizer

    words = ["<s>", "<pad>", "</s>", "<unk>", "how", "much", "did", "the", "city", "spend", "?", "it", "spent", "48",
             "million", "euros", "."]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.save(str(tmp_path / TOKENIZER_FILE))
    (tmp_path / META_FILE).write_text(json.dumps({"format": FORMAT, "max_length": 32}), encoding="utf-8")

    own = tokenizer(32, tmp_path)
    assert own.padding["pad_id"] == 1 and own.token_to_id("spent") == 12  # its own vocabulary and pad token
    pairs = [("how much did the city spend ?", "it spent 48 million euros ."), ("how much ?", "it spent .")]
    feeds = encode(own, pairs)
    assert feeds["input_ids"][1, -1] == 1  # the short pair is padded with <pad>

    torch.manual_seed(0)
    model = MPNetForSequenceClassification(MPNetConfig(
        vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=40, num_labels=1, pad_token_id=1)).eval()
    sample = {k: torch.from_numpy(v) for k, v in feeds.items() if k != "token_type_ids"}
    export_onnx(model, sample, tmp_path / "reader.onnx")
    with torch.no_grad():
        want = model(**sample).logits.numpy().reshape(-1)
    assert np.allclose(Reader(tmp_path, threads=1).logits(pairs), want, atol=1e-5)


def test_distillation_teaches_which_negatives_nearly_answer(tmp_path):
    """``--teacher``: labels say only 0 or 1; the teacher's logits also grade the negatives, and the student learns
    that grading (a tiny BERT, trained with and without the teacher's term on the same rows)."""
    import inspect

    import numpy as np
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"w{i}" for i in range(40)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    rows, teacher = [], []
    for copy in range(10):  # one epoch over 10 copies: the kept state is the last one
        for g in range(8):  # each question: one answer, one near answer (teacher +1), one far negative (teacher -4)
            for k, (label, t) in enumerate(((1, 4.0), (0, 1.0), (0, -4.0))):
                rows.append((f"w{g} w{g + 8}", f"w{g} w{16 + k} w{20 + 2 * k}", label, 8 * copy + g, 0.0))
                teacher.append(t)
    dev = [{"question": f"w{g} w{g + 8}", "unanswerable": False, "candidates": [
        {"b": r[1], "label": r[2], "kind": "retrieved", "logit": 0.0} for r in rows[:24] if r[3] == g]} for g in range(8)]

    def train(distill: float) -> Trainer:
        trainer = Trainer.__new__(Trainer)
        model = _tiny_bert().train()
        trainer.torch, trainer.model, trainer.tok, trainer.residual = torch, model, tok, 0.0
        trainer.inputs = set(inspect.signature(model.forward).parameters)
        torch.manual_seed(0)
        trainer.fit(rows, dev, epochs=1, lr=3e-3, batch_size=6, seed=1, log=lambda *_: None, listwise=0.0,
                    teacher=np.asarray(teacher, dtype=np.float32), distill=distill)
        return trainer

    def scores(trainer: Trainer) -> np.ndarray:
        return trainer.predict([(r[0], r[1]) for r in rows[:24]]).reshape(8, 3)

    def near_over_far(scores: np.ndarray) -> float:
        return float(np.mean(scores[:, 1] - scores[:, 2]))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is fastest, and does not fight a busy machine
    try:
        student, plain = train(5.0), train(0.0)
        with_teacher, labels_only = scores(student), scores(plain)
        # --save-model: the trained model reloads as a --base (or --teacher) for a later run, head included
        from transformers import AutoModelForSequenceClassification

        student.save(tmp_path / "saved")
        student.model = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "saved"))
        assert np.allclose(scores(student), with_teacher, atol=1e-5)
    finally:
        torch.set_num_threads(threads)
    assert near_over_far(with_teacher) > 2.0  # the teacher's 5-logit gap is learnt
    assert near_over_far(with_teacher) > near_over_far(labels_only) + 1.0
