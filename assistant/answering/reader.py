"""The trained reader: a small cross-encoder that reads the question and a candidate sentence together.

Why: the features of ``evidence`` compare a question and a sentence through a
general similarity model and word overlap; they cannot see that "Mitsui's stake
in Sakhalin-1" is not answered by a sentence about its Sakhalin-2 stake, or that
the conference's opening line does not say who led a delegation. A
cross-encoder attends across both texts at once. This one starts from the
packaged all-MiniLM-L6-v2 encoder and is trained on the project's own question
sets (``python -m evals.train_reader``), near-misses included, to give the
probability that a sentence, read with its neighbours and its document's
title, answers the question. It ships inside the package as int8 ONNX
(``answering/reader/``) and runs on onnxruntime: no torch at query time.

The input format (``pair``) is shared by training and inference, so the two can
never drift apart; ``reader.json`` records its version with the weights.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AssistantError
from ..index.embedder import session_options
from ..types import Candidate

FORMAT = 1  # the version of ``pair``'s layout; a model trained on another layout is refused
MODEL_FILE = "reader.onnx"
META_FILE = "reader.json"
TOKENIZER_FILE = "tokenizer.json"  # a reader from another base carries its own (the shipped one uses MiniLM's)


def _squash(text: str) -> str:
    return " ".join(text.split())


def pair_text(question: str, sentence: str, title: str = "", section: str = "", prev: str = "",
              nxt: str = "") -> tuple[str, str]:
    """What the reader reads: the question, then the sentence, its document's title and section, its neighbours.

    The sentence comes first in the second segment so truncation (at the end) only ever
    cuts context, never the sentence being judged.
    """
    head = " — ".join(x for x in (title, section) if x)
    return _squash(question), f"{_squash(sentence)} [SEP] {_squash(head)} [SEP] {_squash(prev)} {_squash(nxt)}".strip()


def pair(question: str, c: Candidate) -> tuple[str, str]:
    """``pair_text`` of a candidate: its sentence with the sentences before and after it in its passage."""
    p = c.passage
    texts = [p.text[s - p.start : e - p.start] for s, e in p.sentences]
    prev = texts[c.index - 1] if 0 < c.index <= len(texts) else ""
    nxt = texts[c.index + 1] if c.index + 1 < len(texts) else ""
    return pair_text(question, c.text, p.title, p.section, prev, nxt)


def default_folder() -> Path:
    return Path(str(resources.files(__package__).joinpath("reader")))


def available(folder: Path | None = None) -> bool:
    """Is a trained reader shipped (or at ``folder``)?"""
    folder = folder or default_folder()
    return (folder / MODEL_FILE).is_file() and (folder / META_FILE).is_file()


@dataclass(frozen=True)
class ReaderInfo:
    """``reader.json``: how the shipped weights were made and how to feed them."""

    format: int
    max_length: int
    base_model: str
    trained: dict[str, Any]

    @classmethod
    def load(cls, folder: Path) -> ReaderInfo:
        data = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        return cls(int(data["format"]), int(data["max_length"]), str(data.get("base_model", "")),
                   dict(data.get("trained", {})))


def tokenizer(max_length: int, folder: Path | None = None) -> Any:
    """The reader's fast tokenizer, truncating pairs to ``max_length`` (longest segment first).

    A reader trained from another base model (``train_reader --base``) carries that model's ``tokenizer.json`` in its
    folder; the shipped one reads with the packaged MiniLM's, so it ships no copy.
    """
    from tokenizers import Tokenizer

    from ..index.embedder import default_model_path

    own = Path(folder) / TOKENIZER_FILE if folder else None
    tok = Tokenizer.from_file(str(own if own and own.exists() else default_model_path() / TOKENIZER_FILE))
    tok.enable_truncation(max_length, strategy="longest_first")
    pad = next((t for t in ("[PAD]", "<pad>") if tok.token_to_id(t) is not None), "[PAD]")
    tok.enable_padding(pad_id=tok.token_to_id(pad) or 0, pad_token=pad)
    return tok


def encode(tok: Any, pairs: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Token ids, type ids and attention mask of ``pairs``, padded to the longest."""
    encs = tok.encode_batch(pairs)
    return {
        "input_ids": np.asarray([e.ids for e in encs], dtype=np.int64),
        "token_type_ids": np.asarray([e.type_ids for e in encs], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encs], dtype=np.int64),
    }


class Reader:
    """Scores (question, candidate) pairs with the shipped cross-encoder: ``logits`` and ``probabilities``."""

    def __init__(self, folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        folder = Path(folder) if folder else default_folder()
        if not available(folder):
            raise AssistantError(f"No trained reader at {folder}.",
                                 "Reinstall the package, or train one with `python -m evals.train_reader`.")
        self.info = ReaderInfo.load(folder)
        if self.info.format != FORMAT:
            raise AssistantError(f"The reader at {folder} was trained on input format {self.info.format}; "
                                 f"this version reads format {FORMAT}.", "Retrain it with `python -m evals.train_reader`.")
        self.tokenizer = tokenizer(self.info.max_length, folder)
        opts = session_options(threads or min(os.cpu_count() or 1, 4))
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def logits(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            feeds = encode(self.tokenizer, pairs)
        feeds = {k: v for k, v in feeds.items() if k in self.inputs}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32).reshape(-1)

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(pairs)))

    def score_sentences(self, question: str, sentences: list[str], title: str = "", section: str = "") -> np.ndarray:
        """The reader's probability for each sentence of one text (each read with its neighbours)."""
        pairs = [pair_text(question, s, title, section, sentences[i - 1] if i else "",
                           sentences[i + 1] if i + 1 < len(sentences) else "") for i, s in enumerate(sentences)]
        return self.probabilities(pairs)

    def score(self, question: str, candidates: list[Candidate]) -> np.ndarray:
        """The reader's logit for each candidate answering ``question`` (the standalone form)."""
        return self.logits([pair(question, c) for c in candidates])
