"""The ONNX backends give the torch model's vectors (fp32: the same; int8: cosine >= 0.99)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import AssistantError
from assistant.index.embedder import Embedder

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "knowledge" / "japan-russia-ukraine-policy.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def texts() -> list[str]:
    paragraphs = [p for p in TEXT.split("\n") if len(p) > 40]
    sentences = [s for p in paragraphs for s in p.split(". ") if len(s) > 10]
    return paragraphs + sentences + ["How many Ukrainians has Japan taken in?", "sanctions", "x" * 3000]


@pytest.fixture(scope="module")
def reference(texts) -> np.ndarray:
    return Embedder(backend="torch").encode(texts)


@pytest.mark.parametrize("backend,floor", [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_onnx_vectors_match_torch(backend, floor, texts, reference, tmp_path_factory):
    cache = tmp_path_factory.mktemp(backend)
    emb = Embedder(backend=backend, cache_dir=cache)
    vecs = emb.encode(texts)
    assert vecs.shape == reference.shape and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cos = (vecs * reference).sum(axis=1)
    natural = cos[:-1]  # real text; the last one is a degenerate 3,000-char "xxx…" string
    assert natural.min() >= floor, (backend, float(natural.min()))
    assert cos[-1] >= floor - 0.02, (backend, float(cos[-1]))
    # the one-text path (queries) agrees with the batched path; int8's dynamic activation
    # scales are per batch, so there a text's vector depends slightly on its batch-mates
    single = emb.embed_query_vector(texts[3])
    if backend == "onnx":
        np.testing.assert_allclose(single, vecs[3], atol=1e-5)
    assert float(single @ vecs[3]) >= floor
    # exported once, then reused: a second instance creates no new file
    files = sorted(p.name for p in cache.iterdir())
    assert files and all(f.endswith(".onnx") for f in files)
    Embedder(backend=backend, cache_dir=cache)
    assert sorted(p.name for p in cache.iterdir()) == files


def test_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(AssistantError, match="Unknown embedding backend 'cuda'"):
        Embedder(backend="cuda", cache_dir=tmp_path)


def test_empty_input_gives_an_empty_matrix(embedder):
    assert embedder.encode([]).shape == (0, embedder.dimension)


def test_many_batches_match_one_at_a_time(embedder):
    """An ingest-sized call (sorted, padded batches) gives the vectors a lone query would."""
    texts = [f"Sentence {i}: Japan froze the assets of {i % 7} Russian banks in {2000 + i % 24}." for i in range(300)]
    encoder = embedder.encoder
    if not hasattr(encoder, "batches"):
        pytest.skip("torch backend")
    assert len(encoder.batches([len(t.split()) * 2 for t in texts])) > 1
    bulk = embedder.encode(texts)
    for i in (0, 137, 299):
        alone = embedder.encode([texts[i]])[0]
        assert float(bulk[i] @ alone) > 0.9999
