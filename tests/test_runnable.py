"""The assistant as a LangChain Runnable, tested the way LangChain tests runnables (real model and store)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.runnables import Runnable, RunnableLambda

from assistant import InvalidQuestion

QUESTION = "How many Ukrainians has Japan taken in?"


@pytest.fixture(scope="module")
def chain(bot) -> Runnable:
    return bot.as_runnable()


def test_invoke_returns_the_answer_dict(chain):
    out = chain.invoke({"question": QUESTION, "history": []})
    assert out["answered"] and "2,000" in out["text"]
    assert out["citations"] and {"quote", "start", "end", "path"} <= set(out["citations"][0])


def test_batch_of_three(chain):
    outs = chain.batch([{"question": QUESTION}, {"question": "What is the recipe for miso soup?"},
                        {"question": "Who announced it?", "history": [
                            {"role": "user", "content": "How much financial aid did Japan announce in February?"}]}])
    assert [o["answered"] for o in outs] == [True, False, True]
    assert "Kishida" in outs[2]["text"]


def test_stream_yields_text_then_the_final_answer(chain):
    items = list(chain.stream({"question": QUESTION}))
    assert len(items) > 2 and all(isinstance(i, str) for i in items[:-1])
    assert isinstance(items[-1], dict) and items[-1]["answered"]
    assert "".join(items[:-1]).strip() == items[-1]["text"]


async def test_astream_yields_text_then_the_final_answer(chain):
    items = [i async for i in chain.astream({"question": QUESTION})]
    assert all(isinstance(i, str) for i in items[:-1]) and len(items) > 2
    assert isinstance(items[-1], dict) and "2,000" in items[-1]["text"]


async def test_ainvoke_and_abatch_do_not_block_the_event_loop(chain):
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    out = await chain.ainvoke({"question": "What share of Japanese people supported sanctions on Russia?"})
    outs = await chain.abatch([{"question": QUESTION}, {"question": QUESTION}])
    done.set()
    await task
    assert out["answered"] and all(o["answered"] for o in outs)
    assert ticks > 3, "the event loop must keep running while questions are answered"


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_chain_start(self, serialized, inputs, **kwargs):  # noqa: ANN001
        self.events.append(("start", inputs))

    def on_chain_end(self, outputs, **kwargs):  # noqa: ANN001
        self.events.append(("end", outputs))

    def on_chain_error(self, error, **kwargs):  # noqa: ANN001
        self.events.append(("error", error))


class AsyncRecorder(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def on_chain_start(self, serialized, inputs, **kwargs):  # noqa: ANN001
        self.events.append("start")

    async def on_chain_end(self, outputs, **kwargs):  # noqa: ANN001
        self.events.append("end")


def test_callbacks_receive_start_and_end(chain):
    rec = Recorder()
    chain.invoke({"question": QUESTION}, config={"callbacks": [rec]})
    assert [e for e, _ in rec.events] == ["start", "end"]
    assert rec.events[0][1]["question"] == QUESTION
    assert rec.events[1][1]["answered"] is True

    rec = Recorder()
    list(chain.stream({"question": QUESTION}, config={"callbacks": [rec]}))
    assert [e for e, _ in rec.events] == ["start", "end"]
    assert isinstance(rec.events[1][1], dict) and rec.events[1][1]["answered"], "the end event carries the final answer"


async def test_async_callbacks_receive_start_and_end(chain):
    rec = AsyncRecorder()
    [i async for i in chain.astream({"question": QUESTION}, config={"callbacks": [rec]})]
    assert rec.events == ["start", "end"]


def test_errors_reach_the_caller_and_the_callbacks(chain):
    rec = Recorder()
    with pytest.raises(InvalidQuestion):
        chain.invoke({"question": "   "}, config={"callbacks": [rec]})
    assert [e for e, _ in rec.events] == ["start", "error"]
    with pytest.raises(InvalidQuestion):
        chain.invoke(42)  # type: ignore[arg-type]


def test_composes_in_an_lcel_pipeline(chain):
    pipeline = RunnableLambda(lambda q: {"question": q}) | chain | RunnableLambda(lambda a: a["citations"][0]["quote"])
    assert "2,000" in pipeline.invoke(QUESTION)
    assert chain.invoke(QUESTION)["answered"]  # a bare question string works too
