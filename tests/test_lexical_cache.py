"""The BM25 mirror is saved after a build and loaded on the next start over the same records."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.index.lexical import LexicalIndex
from assistant.text import terms
from tests._docs import MARKDOWN

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"

QUESTIONS = ["How many Ukrainian refugees has Japan accepted?", "dual-use goods Russian companies",
             "Why do bees dance?", "Kishida sanctions Sakhalin LNG"]


def _ranks(lex: LexicalIndex) -> list[list[tuple[str, float]]]:
    return [[(lex.ids[i], round(s, 5)) for i, s in lex.search(terms(q), 10)] for q in QUESTIONS]


def test_a_restart_loads_the_saved_index_and_ranks_identically(tmp_path, make_assistant, monkeypatch):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    first = make_assistant(tmp_path / "data", knowledge)
    built = first.retriever.lexical()
    saved = list((tmp_path / "data" / "lexical" / "knowledge").iterdir())
    assert len(saved) == 1 and (saved[0] / "index.json").exists()

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although the records did not change")

    monkeypatch.setattr(LexicalIndex, "build", classmethod(no_build))
    second = make_assistant(tmp_path / "data", knowledge)
    loaded = second.retriever.lexical()
    assert loaded.ids == built.ids and loaded.df == built.df and loaded.n_docs == built.n_docs
    assert _ranks(loaded) == _ranks(built) and any(_ranks(built))
    assert second.ask(QUESTIONS[0]).text == first.ask(QUESTIONS[0]).text
    monkeypatch.undo()

    # a changed store gets a new build under a new hash; the old one is removed
    (knowledge / "bees.md").unlink()
    second.ingest(progress=False)
    rebuilt = second.retriever.lexical()
    assert len(rebuilt.ids) < len(built.ids)
    again = list((tmp_path / "data" / "lexical" / "knowledge").iterdir())
    assert len(again) == 1 and again[0].name != saved[0].name


@pytest.mark.parametrize("damage", ["truncate", "delete_bm25"])
def test_a_damaged_saved_index_is_rebuilt(tmp_path, make_assistant, damage):
    bot = make_assistant(tmp_path / "data")
    built = bot.retriever.lexical()
    (folder,) = (tmp_path / "data" / "lexical" / "knowledge").iterdir()
    if damage == "truncate":
        (folder / "index.json").write_text('{"ids": [', encoding="utf-8")
    else:
        shutil.rmtree(folder / "bm25")
        (folder / "index.json").write_text('{"ids": [], "df": {}}', encoding="utf-8")
    fresh = make_assistant(tmp_path / "data")
    lex = fresh.retriever.lexical()
    assert lex.ids == built.ids and _ranks(lex) == _ranks(built)
    assert fresh.ask(QUESTIONS[0]).answered
