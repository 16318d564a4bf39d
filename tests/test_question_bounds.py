"""Bounded work per question (issue 22): the history has a budget, the fuzzy match a length bound, any text
that is not text is refused by name, and a question without words is refused rather than matched by a figure.

Sizes are asserted, not timings: what reaches follow-up resolution and the answerer is within the budget,
whatever was sent.
"""

from __future__ import annotations

from itertools import chain, repeat

import pytest

from assistant import Assistant, InvalidQuestion
from assistant.answering.decision import STEPS
from assistant.answering.question import KeyTerm, wordless
from assistant.settings import Settings
from assistant.text import NEAR_MAX_CHARS, NEAR_MAX_POOL, near_word
from assistant.types import is_refusal

Q_AID = "How much financial aid did Japan announce in February?"
BIG = 1_200_000  # the 1.2 MB history message


def turn(question: str, answer: str) -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def chars(history: list[dict]) -> int:
    return sum(len(m["content"]) for m in history)


def flood(n: int) -> str:
    """``n`` characters of many different words, as a pasted document would be (not one word repeated)."""
    words = (f"Lorem{i} Ipsumword{i % 997} Dolorsitamet{i % 4999}" for i in range(n))
    return " ".join(words)[:n]


# -- the history budget
def test_older_turns_are_dropped_first_to_fit_the_budget():
    history = turn("a" * 5000, "b" * 100) + turn("c" * 2000, "d" * 500) + turn(Q_AID, "e" * 300)
    kept = Assistant.validate_history(history, chars=3000, messages=20)
    assert kept == history[2:]  # the oldest turn went whole; the two latest fit
    assert chars(kept) <= 3000
    assert Assistant.validate_history(history, chars=10_000, messages=20) == history
    assert Assistant.validate_history(history, chars=10_000, messages=2) == history[-2:]
    assert Assistant.validate_history(None, chars=10, messages=2) == []


def test_a_latest_turn_over_the_budget_is_a_clear_error():
    with pytest.raises(InvalidQuestion) as err:
        Assistant.validate_history(turn("q" * BIG, "a"), chars=8000, messages=20)
    msg = str(err.value)
    assert "latest turn is 1,200,001 characters long" in msg and "8,000" in msg
    assert "Start a new conversation" in msg
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("history", "says"),
    [
        ("not a list", "must be a list"),
        (["just text"], "Message 1 of the history is not"),
        ([{"role": 3, "content": "x"}], "Message 1 of the history is not"),
        (turn(Q_AID, "It was \ud800 announced.") , "Message 2 of the history contains invalid text in its content"),
        ([{"role": "us\udcffer", "content": Q_AID}], "Message 1 of the history contains invalid text in its role"),
        ([{"role": "user", "content": [{"type": "text", "text": "\ud83d alone"}]}], "invalid text in its content"),
    ],
)
def test_bad_history_is_named(history, says):
    with pytest.raises(InvalidQuestion) as err:
        Assistant.validate_history(history, chars=8000, messages=20)
    assert says in str(err.value)


def test_the_budget_is_a_setting(monkeypatch):
    assert Settings().history_chars == 8000 and Settings().history_messages == 20
    monkeypatch.setenv("ASSISTANT_HISTORY_CHARS", "123")
    assert Settings().history_chars == 123


def test_a_huge_old_history_message_is_trimmed_before_any_work(bot, monkeypatch):
    """The 1.2 MB message of the issue (38 s of CPU in the fuzzy match): dropped, so follow-up resolution and
    the answerer see only what fits the budget, and the follow-up still resolves from the turn that fits."""
    first = bot.ask(Q_AID)
    history = turn(flood(BIG), "Noted.") + turn(Q_AID, first.text)
    seen: list[list[dict]] = []
    condense = bot.answerer.condense
    monkeypatch.setattr(bot.answerer, "condense", lambda q, h: seen.append(h) or condense(q, h))
    for ans in (bot.ask("Who announced it?", history),
                next(a for a in bot.stream("Who announced it?", history) if not isinstance(a, str)),
                _runnable_answer(bot, history)):
        assert "Kishida" in ans.text
    assert len(seen) == 3
    for h in seen:
        assert h == history[2:] and chars(h) <= bot.settings.history_chars


def _runnable_answer(bot, history):
    from assistant import Answer

    out = bot.as_runnable().invoke({"question": "Who announced it?", "history": history})
    return Answer(text=out["text"], answered=out["answered"])


def test_a_huge_latest_turn_is_refused_with_the_reason(bot):
    history = turn(flood(BIG), "Noted.")
    for ask in (lambda: bot.ask("Who announced it?", history),
                lambda: list(bot.stream("Who announced it?", history)),
                lambda: bot.as_runnable().invoke({"question": "Who announced it?", "history": history})):
        with pytest.raises(InvalidQuestion) as err:
            ask()
        assert "latest turn" in str(err.value) and "limit for the whole history is 8,000" in str(err.value)


@pytest.mark.parametrize("where", ["content", "role"])
def test_a_lone_surrogate_in_the_history_is_invalid_text(bot, where):
    history = turn(Q_AID, "Kishida announced it.")
    history[0] = {"role": "user\ud800", "content": Q_AID} if where == "role" else \
        {"role": "user", "content": "How much \udcff aid?"}
    for ask in (lambda: bot.ask("Who announced it?", history),
                lambda: list(bot.stream("Who announced it?", history)),
                lambda: bot.as_runnable().invoke({"question": "Who announced it?", "history": history})):
        with pytest.raises(InvalidQuestion) as err:
            ask()
        assert f"invalid text in its {where}" in str(err.value)


# -- the fuzzy match
def test_near_word_is_bounded_by_length_and_pool():
    assert near_word("kishda", ["kishida"])  # one typo still forgiven
    long = "a" * (NEAR_MAX_CHARS + 1)
    assert not near_word(long, [long[:-1]])  # a word longer than any real one is never compared
    assert not near_word("k" * 600_000, ["k" * 600_001])
    # only the first NEAR_MAX_POOL candidates are compared, however many the pool holds
    pool = chain(repeat("kxxxxxx", NEAR_MAX_POOL), ["kishida"])
    assert not near_word("kishda", pool)
    assert near_word("kishda", chain(repeat("kxxxxxx", NEAR_MAX_POOL - 1), ["kishida"]))
    term = KeyTerm("x" * 5000, ("x" * 5000,), "name")
    assert term.found_in({"x" * 4999, "y"}) == 0.0


# -- a question without words
def test_wordless():
    assert wordless("42") and wordless("2,000?") and wordless(" 10 % ") and wordless("?!")
    assert not wordless("2023? How many Ukrainians has Japan taken in?")
    assert not wordless("日本は何人を受け入れましたか")  # letters of any script are words


@pytest.mark.parametrize("question", ["42", "2022", "2022?", "5.5", "?"])
def test_a_question_without_words_is_refused_plainly(bot, question):
    ans = bot.ask(question)
    assert not ans.answered and ans.citations == []
    assert ans.reason == "no_words" and list(STEPS)[0] == "no_words"
    assert is_refusal(ans.text) and "Ask the question in words" in ans.text


def test_a_figure_as_a_follow_up_is_not_wordless(bot):
    history = turn("How many Ukrainians has Japan taken in?", bot.ask("How many Ukrainians has Japan taken in?").text)
    ans = bot.ask("2,000?", history)
    assert ans.reason != "no_words" and ans.standalone_question != "2,000?"
