"""What ingest says (issue 22): a link to a folder is named as one, and counts read "1 passage", "2 passages"."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Assistant, DocumentError, Settings
from ingest import IngestReport, load_source
from ingest.check import StoreCheck
from tests._docs import MARKDOWN
from tests._store import all_passages


def test_a_link_to_a_folder_is_skipped_as_such(tmp_path: Path, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "bees.md").write_text(MARKDOWN, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "kelp.md").write_text("# Kelp\n\nKelp farms in Hokkaido produce kombu.\n", encoding="utf-8")
    (knowledge / "more-documents").symlink_to(elsewhere)  # no suffix: it was "unsupported file type 'none'"
    (knowledge / "archive.md").symlink_to(elsewhere)
    for name in ("more-documents", "archive.md"):
        with pytest.raises(DocumentError) as err:
            load_source(knowledge / name, knowledge)
        assert str(err.value).startswith(f"{name}: a link to a folder; skipped (links to folders are not followed).")
        assert "unsupported" not in str(err.value)
    bot = Assistant(Settings(data_dir=tmp_path / "data", knowledge_dir=knowledge), embedder=embedder,
                    auto_ingest=False)
    report = bot.ingest(progress=False)
    reasons = {Path(f).name: r for f, r in report.errors}
    assert set(reasons) == {"more-documents", "archive.md"}
    assert all("a link to a folder" in r for r in reasons.values())
    assert {p["source"] for p in all_passages(bot)} == {"bees.md"}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"files": 1, "added": 1}, "1 file: 1 passage added, 0 updated, 0 removed, 0 unchanged; 0 files skipped"),
        ({"files": 2, "added": 0, "skipped": 1, "errors": [("a.txt", "why")]},
         "2 files: 0 passages added, 0 updated, 0 removed, 1 unchanged; 1 file skipped with errors"),
        ({"files": 3, "added": 12, "errors": [("a", "x"), ("b", "y")]},
         "3 files: 12 passages added, 0 updated, 0 removed, 0 unchanged; 2 files skipped with errors"),
    ],
)
def test_the_summary_says_one_passage_not_one_passages(counts, expected):
    assert IngestReport(**counts).summary().startswith(expected)


def test_the_repair_notice_counts_in_words_that_agree():
    one = StoreCheck(records=1, stored=0, missing={"a.md": ["k1"]}).notice()
    assert "lacks 1 of the 1 passage the indexing records list" in one and one.endswith("from 1 source file.")
    many = StoreCheck(records=2_048, stored=0, missing={"a.md": ["k1"], "b.md": ["k2", "k3"]}).notice()
    assert "lacks 3 of the 2,048 passages" in many and many.endswith("from 2 source files.")
