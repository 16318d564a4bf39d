"""The assistant as a LangChain ``Runnable``, so it composes like any chain.

    chain = Assistant().as_runnable()
    chain.invoke({"question": "How many Ukrainians has Japan taken in?"})   # the Answer as a dict
    for piece in chain.stream({"question": "…", "history": [...]}): ...     # text pieces, then the dict

Why a ``Runnable`` subclass and not a lambda: LangChain's own machinery then
gives it everything a chain has — ``batch``, the async forms, callbacks and
tracing (one ``chain`` run per question), ``with_config``, ``|`` composition —
and ``stream``/``astream`` pass the answerer's real pieces through instead of
one final chunk. The async forms run the blocking question-answering in
LangChain's executor, so an event loop serving many users is never blocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import run_in_executor

from .errors import InvalidQuestion
from .types import Answer

if TYPE_CHECKING:
    from .core import Assistant

_DONE = object()


def _parse(value: Any) -> tuple[Any, list[dict] | None, list[str] | None]:
    """``{"question": str, "history": [...], "sources": [...]}`` (or a bare question) → (question, history, sources)."""
    if isinstance(value, str):
        return value, None, None
    if isinstance(value, dict):
        history = value.get("history")
        if history is not None and not isinstance(history, list):
            raise InvalidQuestion("history must be a list of {\"role\", \"content\"} messages.",
                                  "Pass [] or omit it for a new conversation.")
        sources = value.get("sources")
        if isinstance(sources, str):
            sources = [sources]
        if sources is not None and not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
            raise InvalidQuestion("sources must be a list of document names.",
                                  "Pass file names or titles as the Documents tab lists them, or omit it for all.")
        return value.get("question"), history, sources
    raise InvalidQuestion(f"Expected {{'question': ..., 'history': [...]}}, got {type(value).__name__}.",
                          "Pass a dict with a 'question' key.")


def _out(item: str | Answer) -> str | dict[str, Any]:
    return item.to_dict() if isinstance(item, Answer) else item


class AssistantRunnable(Runnable[dict[str, Any], dict[str, Any]]):
    """``{"question", "history", "sources"}`` in, ``Answer.to_dict()`` out (streaming: text pieces, then that dict)."""

    name = "assistant"

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    # -- the one real step, and its streaming form
    def _ask(self, value: dict[str, Any]) -> dict[str, Any]:
        question, history, sources = _parse(value)
        return self.assistant.ask(question, history, sources).to_dict()

    def _pieces(self, values: Iterator[dict[str, Any]]) -> Iterator[str | dict[str, Any]]:
        for value in values:
            question, history, sources = _parse(value)
            for item in self.assistant.stream(question, history, sources):
                yield _out(item)

    # -- Runnable
    def invoke(self, input: dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return self._call_with_config(self._ask, input, config, run_type="chain")

    async def ainvoke(self, input: dict[str, Any], config: RunnableConfig | None = None,
                      **kwargs: Any) -> dict[str, Any]:
        async def ask(value: dict[str, Any]) -> dict[str, Any]:
            return await run_in_executor(None, self._ask, value)

        return await self._acall_with_config(ask, input, config, run_type="chain")

    def stream(self, input: dict[str, Any], config: RunnableConfig | None = None,
               **kwargs: Any) -> Iterator[Any]:
        yield from self._transform_stream_with_config(iter([input]), self._pieces, config, run_type="chain")

    async def astream(self, input: dict[str, Any], config: RunnableConfig | None = None,
                      **kwargs: Any) -> AsyncIterator[Any]:
        async def one() -> AsyncIterator[dict[str, Any]]:
            yield input

        async def pieces(values: AsyncIterator[dict[str, Any]]) -> AsyncIterator[Any]:
            async for value in values:
                # the blocking generator runs in the executor, one piece per hop
                it = self._pieces(iter([value]))
                while (item := await run_in_executor(None, next, it, _DONE)) is not _DONE:
                    yield item
                    await asyncio.sleep(0)

        async for item in self._atransform_stream_with_config(one(), pieces, config, run_type="chain"):
            yield item
