"""Checks on what ingest wrote to the store, shared by the embedded and server-mode tests."""

from __future__ import annotations

import numpy as np

from assistant import Assistant
from assistant.index.store import read_record, unpack_vectors


def all_passages(bot: Assistant) -> list[dict]:
    got = bot.store.passage_collection.get(include=["metadatas"])
    return [read_record(m) for m in got["metadatas"]]


def assert_sentence_vectors(bot: Assistant) -> None:
    """Every record carries one unit vector per sentence, close to that sentence's own embedding."""
    for p in all_passages(bot):
        spans = p["sentences"]
        rows = unpack_vectors(p["sv"], bot.embedder.dimension)
        assert rows.shape == (len(spans), bot.embedder.dimension), p["passage_id"]
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
    sample = all_passages(bot)[0]
    s, e = sample["sentences"][0]
    text = bot.source_text(sample["source"])[s:e]
    alone = np.asarray(bot.embedder.embed_query(text), dtype=np.float32)
    assert float(unpack_vectors(sample["sv"], bot.embedder.dimension)[0] @ alone) > 0.99
