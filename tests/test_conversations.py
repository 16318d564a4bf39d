"""The conversations/feedback store and `assistant feedback export` (SQLite in a temp data folder).

Answers are real ``Answer`` objects built by hand (a narrow unit test: no model);
the export is checked by loading it with the eval runner's own loader.
"""

from __future__ import annotations

import json
import subprocess
import sys

from assistant.types import Answer, Citation
from assistant.web.conversations import (
    NEEDS_LABEL,
    ConversationStore,
    Turn,
    answer_from_dict,
    export_feedback,
    shorten,
)
from evals.dataset import load_dataset


def _answer(text: str = "About 2,000 Ukrainians. [1]") -> Answer:
    c = Citation(n=1, source="Policy", path="a.txt", passage_id="p1", quote="About 2,000 Ukrainians.", start=10,
                 end=33, score=0.8, passage="Intro. About 2,000 Ukrainians.", passage_start=3, passage_end=33,
                 date="2024-03-01", section="Refugees", paragraph=2)
    return Answer(text=text, answered=True, citations=[c], question="How many?")


def test_turns_round_trip_with_their_citations(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = store.create("alice", "How many Ukrainians has Japan taken in since the war began in February 2022?")
    assert store.save_turn("alice", cid, 0, Turn("How many?", _answer()))
    assert store.save_turn("alice", cid, 1, Turn("Capital of Peru?", Answer.refusal("Capital of Peru?")))
    assert store.save_turn("alice", cid, 2, Turn("Stopped one", None, error="Stopped."))
    conv = store.get("alice", cid)
    assert conv.title == "How many Ukrainians has Japan taken in since the war began…"
    assert [t.question for t in conv.turns] == ["How many?", "Capital of Peru?", "Stopped one"]
    assert conv.turns[0].answer == _answer()  # every citation field survives, offsets included
    assert conv.turns[1].answer.answered is False and conv.turns[2].error == "Stopped."
    assert [(i.id, i.turns) for i in store.list("alice")] == [(cid, 3)]


def test_owners_never_see_each_others_conversations(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = store.create("alice", "mine")
    store.save_turn("alice", cid, 0, Turn("q", _answer()))
    assert store.get("bob", cid) is None and store.list("bob") == []
    assert not store.save_turn("bob", cid, 1, Turn("q2"))
    assert not store.rename("bob", cid, "hijacked") and not store.delete("bob", cid)
    assert not store.rate("bob", cid, 0, 1)
    assert store.get("alice", cid).title == "mine"


def test_regenerating_replaces_the_turn_and_drops_its_feedback(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = store.create("u", "q")
    store.save_turn("u", cid, 0, Turn("q", _answer()))
    assert store.rate("u", cid, 0, -1, "wrong figure")
    assert store.get("u", cid).turns[0].rating == -1
    store.save_turn("u", cid, 0, Turn("q", _answer("Roughly 2,000. [1]")))
    conv = store.get("u", cid)
    assert len(conv.turns) == 1 and conv.turns[0].rating == 0 and conv.turns[0].answer.text == "Roughly 2,000. [1]"
    assert store.feedback() == []


def test_rename_delete_and_feedback_outlives_its_conversation(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = store.create("u", "first")
    store.save_turn("u", cid, 0, Turn("q", _answer()))
    assert store.rate("u", cid, 0, 1)
    assert store.rate("u", cid, 0, 1, "  good quote ")  # a note added after the thumb
    assert store.rate("u", cid, 0, 1)  # a later click keeps the note
    assert store.rename("u", cid, "  Refugee numbers  ") and store.list("u")[0].title == "Refugee numbers"
    assert not store.rename("u", cid, "   ")
    assert not store.rate("u", cid, 5, 1)  # no such answer
    assert store.delete("u", cid) and store.list("u") == [] and store.get("u", cid) is None
    (row,) = store.feedback()
    assert (row["rating"], row["note"], row["question"]) == (1, "good quote", "q")


def test_shorten_and_answer_from_dict():
    assert shorten("a  b\nc") == "a b c"
    assert shorten("word " * 30, 20) == "word word word word…"
    assert len(shorten("x" * 100, 10)) == 10
    data = _answer().to_dict()
    data["citations"][0]["future_field"] = 1  # a newer version's extra key is ignored
    assert answer_from_dict(data) == _answer()


def test_feedback_export_is_an_eval_set(tmp_path):
    store = ConversationStore(tmp_path / "data" / "conversations.sqlite")
    cid = store.create("u", "q")
    store.save_turn("u", cid, 0, Turn("How many Ukrainians has Japan taken in?", _answer()))
    store.save_turn("u", cid, 1, Turn("Who announced it?", _answer("Kishida did. [1]")))
    store.save_turn("u", cid, 2, Turn("Capital of Peru?", Answer.refusal("Capital of Peru?")))
    store.rate("u", cid, 0, 1)
    store.rate("u", cid, 1, -1, "It was the foreign minister")
    store.rate("u", cid, 2, 1)
    out = tmp_path / "feedback.jsonl"
    assert export_feedback(store, out) == (3, 1)
    cases = {c["id"]: c for c in load_dataset(out)}  # the eval runner's own loader accepts it
    up, down, refusal = (cases[k] for k in sorted(cases))
    assert up["answers"] == ["About 2,000 Ukrainians."] and up["support"] == "About 2,000 Ukrainians."
    assert down["needs_review"] and down["answers"] == [NEEDS_LABEL]
    assert down["history"] == [{"role": "user", "content": "How many Ukrainians has Japan taken in?"}]
    assert down["feedback"]["note"] == "It was the foreign minister" and down["feedback"]["rating"] == "down"
    assert refusal["unanswerable"] is True and "answers" not in refusal


def test_feedback_export_command(tmp_path):
    data = tmp_path / "data"
    store = ConversationStore(data / "conversations.sqlite")
    cid = store.create("u", "q")
    store.save_turn("u", cid, 0, Turn("How many?", _answer()))
    store.rate("u", cid, 0, 1)
    out = tmp_path / "out" / "fb.jsonl"
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "feedback", "export", "--data-dir", str(data),
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "1 feedback case" in r.stdout and str(out) in r.stdout
    assert json.loads(out.read_text().splitlines()[0])["answers"] == ["About 2,000 Ukrainians."]
    # no feedback yet: a clear message, not an empty file silently
    r = subprocess.run([sys.executable, "-m", "assistant.cli", "feedback", "export", "--data-dir",
                        str(tmp_path / "empty"), "--out", str(tmp_path / "none.jsonl")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "No feedback" in r.stderr
