"""The web layer's one protocol, and the chat features that need no browser to check.

Actions are declared once (``assistant.web.actions``) and each has exactly one
handler; handlers return named updates; nothing reads Gradio's private
attributes. A conversation keeps its chosen documents and has an address that
reopens it for its owner only; /ask takes a scope; citations and chips name PDF
pages.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from _webapp_fixtures import running_chat

from assistant import Answer, Citation
from assistant.web import actions as act

WEB = Path(__file__).resolve().parents[1] / "assistant" / "web"
Q_REFUGEES = "How many Ukrainians has Japan taken in?"


@pytest.fixture
def ui(corpus_bot, tmp_path):
    from assistant.web.app import ChatUI

    ui = ChatUI(corpus_bot)
    ui.store = type(ui.store)(tmp_path / "c.sqlite")  # this test's own conversations
    return ui


def _citation(**kw) -> Citation:
    base = dict(n=1, source="Polls brief", path="polls.pdf", passage_id="pid", quote="B", start=12, end=13, score=0.5,
                passage="A x B C", passage_start=10, passage_end=17, paragraph=6, page=12)
    return Citation(**{**base, **kw})


# -- one declaration plus its handler
def test_every_action_has_one_handler_and_the_page_script_knows_it(ui):
    assert set(ui.handlers) == set(act.ACTIONS)
    script = act.script()
    for name, action in act.ACTIONS.items():
        assert f'"{name}"' in script
        for field, _ in action.fields:
            assert f'"{field}"' in script


def test_rendered_buttons_use_only_declared_actions(ui):
    from assistant.web.conversations import ConversationInfo, Turn
    from assistant.web.library import DocumentInfo
    from assistant.web.render import render_conversations, render_documents, render_log

    ans = Answer(text="B [1]", answered=True, citations=[_citation()])
    html = (render_log([Turn("q", ans, rating=1)], ["an example?"]) + render_log([], ["an example?"])
            + render_conversations([ConversationInfo("a" * 32, "T", "", 1)], None)
            + render_documents([DocumentInfo("k", "T", "t.md", "MD", 1, "", "upload")]))
    used = set(re.findall(r'data-action="([^"]+)"', html))
    assert used == set(act.ACTIONS) - {"new"}  # New conversation sits in the sidebar's head
    with pytest.raises(ValueError):
        act.RATE.attrs(turn=1, stars=5)  # a field the action does not declare


def test_action_data_is_typed_and_unknown_actions_do_nothing(ui):
    from assistant.web.chat import ChatSession

    evt = act.ActionData(None, {"action": "rate", "turn": "2", "value": "-1", "extra": "x"})
    assert evt.action is act.RATE and evt.values == {"turn": 2, "value": -1}
    assert act.ActionData(None, {"action": "note", "turn": 1, "note": "n" * 3000}).values["note"] == "n" * 2000
    assert act.ActionData(None, {"action": "format-disk"}).action is None
    assert ui.dispatch(ChatSession(owner="browser:x"), act.ActionData(None, {"action": "format-disk"})) == {}


def test_no_private_gradio_attributes_or_positional_skips_in_the_web_layer():
    for f in WEB.glob("*.py"):
        text = f.read_text(encoding="utf-8")
        assert re.search(r"\._data\b|\._[a-z]+_data\b", text) is None, f.name  # e.g. evt._data
        assert "gr.skip()" not in text or f.name == "page.py", f.name
        assert "import ingest." not in text and "from ingest." not in text, f.name  # ingest's public names only
    assert "data-action" not in (WEB / "app.py").read_text(encoding="utf-8")  # buttons come from actions.attrs


# -- pages in citations and chips
def test_citations_and_chips_name_the_pdf_page():
    from assistant.web.conversations import Turn
    from assistant.web.render import render_log, render_sources, where

    c = _citation()
    assert where(c) == "p. 12 · paragraph 6"
    ans = Answer(text="B [1]", answered=True, citations=[c])
    log = render_log([Turn("q", ans)], [])
    assert 'aria-label="Source 1: Polls brief, p. 12"' in log and 'data-title="Polls brief, p. 12"' in log
    chips = log.split('class="chips"')[1]
    assert 'href="#cite-1-1"' in chips and "Polls brief" in chips and '<span class="chip-at">p. 12</span>' in chips
    assert "para. 3" in render_log([Turn("q", Answer(text="B [1]", answered=True,
                                                     citations=[_citation(page=None, paragraph=3)]))], [])
    assert "<h2" in render_sources([Turn("q", ans)])  # after the page's h1: no skipped heading level


# -- documents chosen for a conversation, and its address
def test_chosen_documents_are_named_searched_and_kept_with_the_conversation(ui):
    from assistant.web.chat import ChatSession

    docs = {d.name: d for d in ui.library.documents()}
    polls = docs["public-opinion-polls.pdf"]
    session = ChatSession(owner="browser:" + "a" * 32)
    header = ui.choose_documents([polls.key], session)["header"]
    assert "Searching: <b>Japanese Public Opinion" in header and "Change…" in header
    shown = ui.submit("What share of Japanese people supported sanctions on Russia?", session)
    assert "Looking for the answer in “Japanese Public Opinion" in shown["live"]
    final = list(ui.answer(session))[-1]
    assert final["log"].count('class="chip"') >= 1 and "p. " in final["log"]
    assert all(c.path == "public-opinion-polls.pdf" for c in session.turns[0].answer.citations)
    assert ui.store.get(session.owner, session.conversation).scope == [polls.key]
    two = ui.choose_documents([polls.key, docs["russia-reaction.txt"].key], session)
    assert "Searching 2 of 14 documents" in two["header"]
    assert ui.store.get(session.owner, session.conversation).scope == session.scope

    # a reload (?c=<id>) reopens it with its documents, for its owner only
    again = ui.on_load(session.owner.split(":")[1], SimpleNamespace(username=None,
                                                                    query_params={"c": session.conversation}))
    assert again["session"].conversation == session.conversation and again["session"].scope == session.scope
    assert f'data-conversation="{session.conversation}"' in again["log"] and again["error"] == ""
    other = ui.on_load("f" * 32, SimpleNamespace(username=None, query_params={"c": session.conversation}))
    assert other["session"].conversation is None and "not one of your conversations" in other["error"]
    assert 'data-conversation=""' in other["log"]


def test_each_conversation_has_its_own_rename_and_delete(ui):
    from assistant.web.chat import ChatSession

    session = ChatSession(owner="browser:menu")
    first = ui.store.create(session.owner, "First question")
    second = ui.store.create(session.owner, "Second question")
    ui.open_conversation(session, cid=second)
    listed = ui.rename_conversation(session, cid=first, title="Renamed first")["conversations"]
    assert "Renamed first" in listed and session.conversation == second  # the open one is untouched
    out = ui.delete_conversation(session, cid=first)
    assert "Renamed first" not in out["conversations"] and session.conversation == second and "log" not in out
    out = ui.delete_conversation(session, cid=second)  # deleting the open one starts a new chat
    assert session.conversation is None and 'data-conversation=""' in out["log"]
    assert "No conversations yet" in out["conversations"]
    assert "Type a new name" in ui.rename_conversation(session, cid=first, title=" ")["error"]


# -- /ask takes a scope
def test_the_ask_api_takes_a_scope_and_names_unknown_documents(corpus_bot):
    from gradio_client.exceptions import AppError

    with running_chat(corpus_bot) as server:
        client = server.client()
        q = "What share of Japanese people supported sanctions on Russia?"
        got = client.predict(q, [], ["defence-equipment-rules.pdf"], api_name="/ask")
        assert all(c["path"] == "defence-equipment-rules.pdf" for c in got["citations"])
        pdf = client.predict(q, [], ["public-opinion-polls.pdf"], api_name="/ask")
        assert pdf["citations"] and all(isinstance(c["page"], int) for c in pdf["citations"])
        assert client.predict(q, [], api_name="/ask")["answered"]  # without a scope, as before
        with pytest.raises(AppError, match="public-opinion-polls.pdf"):
            client.predict(q, [], ["public-opinion-poll.pdf"], api_name="/ask")


def test_a_chosen_document_removed_since_is_named_not_silently_widened(ui):
    from assistant.web.chat import ChatSession

    session = ChatSession(owner="browser:" + "b" * 32, scope=["doc-000000000000"])  # no such document now
    ui.submit("What share of Japanese people supported sanctions on Russia?", session)
    final = list(ui.answer(session))[-1]
    assert "None of the documents chosen" in final["log"] and session.turns[-1].answer is None
