"""The trained reader as a LangChain document compressor: drop it into any retrieval chain.

``ContextualCompressionRetriever(base_compressor=ReaderCompressor(), base_retriever=...)``
reorders the retrieved documents by the reader's best probability over their
sentences (each read with its neighbours and the document's title), drops those
below ``min_probability`` and keeps ``top_n``. Each kept document's metadata gets
``reader_probability`` and ``reader_sentence`` (the sentence that scored best),
so a chain can quote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field


class ReaderCompressor(BaseDocumentCompressor):
    """Rerank and filter documents by the reader's probability that one of their sentences answers the query."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    reader: Any = Field(default=None, description="a Reader; None loads the shipped one on first use")
    top_n: int = 3
    min_probability: float = 0.0
    max_sentences: int = 40  # sentences read per document (a passage has far fewer)

    def _reader(self) -> Any:
        if self.reader is None:
            from .reader import Reader

            self.reader = Reader()
        return self.reader

    def compress_documents(self, documents: Sequence[Document], query: str,
                           callbacks: Callbacks | None = None) -> Sequence[Document]:
        from ingest import split_sentences

        reader = self._reader()
        scored: list[tuple[float, Document]] = []
        for doc in documents:
            spans = split_sentences(doc.page_content)[: self.max_sentences]
            sentences = [doc.page_content[s:e] for s, e, _, _ in spans]
            if not sentences:
                continue
            probs = reader.score_sentences(query, sentences, str(doc.metadata.get("title", "")),
                                           str(doc.metadata.get("section", "")))
            best = int(probs.argmax())
            meta = dict(doc.metadata, reader_probability=round(float(probs[best]), 4), reader_sentence=sentences[best])
            scored.append((float(probs[best]), Document(page_content=doc.page_content, metadata=meta, id=doc.id)))
        scored.sort(key=lambda x: -x[0])
        return [d for p, d in scored if p >= self.min_probability][: self.top_n]
