"""The Chroma store: embedded by default, a Chroma server when a URL is given.

Two collections share one client: ``<name>_passages`` (what retrieval ranks) and
``<name>_sentences`` (per-sentence vectors so the answerer can score sentences
without embedding them at query time). Both use cosine space so scores stay in
[0, 1] for normalised vectors.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from .errors import StoreError
from .settings import Settings

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

COSINE = {"hnsw": {"space": "cosine"}}


def make_client(settings: Settings) -> Any:
    """A chromadb client for the settings, or a StoreError that says what to do."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}).",
                "Start it (`chroma run --path DIR --host 127.0.0.1 --port 8000`) "
                "or unset ASSISTANT_CHROMA_URL to use the embedded store.",
            ) from exc
        return client
    path = settings.chroma_path
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(
            f"Cannot open the vector store at {path}: {exc}",
            f"Move the folder aside (e.g. `mv {path} {path}.broken`) and run "
            "`assistant ingest` to rebuild it from your documents.",
        ) from exc


class Store:
    """The two LangChain ``Chroma`` vector stores over one injected client."""

    def __init__(self, client: Any, embedder: Embeddings, name: str = "knowledge") -> None:
        self.client = client
        self.name = name
        try:
            self.passages = Chroma(
                client=client,
                collection_name=f"{name}_passages",
                embedding_function=embedder,
                collection_configuration=COSINE,
            )
            self.sentences = Chroma(
                client=client,
                collection_name=f"{name}_sentences",
                embedding_function=embedder,
                collection_configuration=COSINE,
            )
        except Exception as exc:
            raise StoreError(
                f"Cannot open the collections '{name}_*' in the vector store: {exc}",
                "If the store is damaged, move the data folder aside and run `assistant ingest`.",
            ) from exc

    @classmethod
    def open(cls, settings: Settings, embedder: Embeddings) -> Store:
        return cls(make_client(settings), embedder, settings.collection)

    @property
    def passage_collection(self) -> Any:
        return self.passages._collection

    @property
    def sentence_collection(self) -> Any:
        return self.sentences._collection

    def count(self) -> int:
        """Number of passages stored."""
        try:
            return int(self.passage_collection.count())
        except Exception as exc:
            raise wrap_store_error(exc) from exc


_CONNECTION_ERRORS = ("ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "RemoteProtocolError",
                      "WriteError", "PoolTimeout", "ConnectionError", "ConnectionRefusedError")


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a transport failure, not a bad request."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if type(cur).__name__ in _CONNECTION_ERRORS or "Could not connect to tenant" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def wrap_store_error(exc: Exception) -> StoreError:
    """Turn a chromadb/transport failure into a StoreError with a hint.

    A lost Chroma server gets its own message: nothing is wrong with the data,
    and the next request reconnects by itself once the server is back (the HTTP
    client opens a new connection per failed one), so the app needs no restart.
    """
    if isinstance(exc, StoreError):
        return exc
    if is_connection_error(exc):
        return StoreError(
            f"Lost the connection to the Chroma server ({type(exc).__name__}: {exc}).",
            "Check that `chroma run` is up; the assistant reconnects on the next request, "
            "and a re-run of `assistant ingest` completes an interrupted ingest without duplicates.",
        )
    return StoreError(
        f"The vector store failed: {type(exc).__name__}: {exc}",
        "If you use a Chroma server, check that it is running; otherwise re-run `assistant ingest`.",
    )
