"""A source's id never names a server folder (issue 22), and stores that did are renamed once.

Citations carry their source's id as ``path``; it reaches every API caller and
the chat's cards. Real stores throughout: the knowledge folder, an upload and a
folder ingested by path, then a store written the old way (absolute ids, layout
5) opened by this version.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.web.library import Library
from tests._store import all_passages

KOBE = "The Kobe rail link carries 41,000 passengers a day. It opened in March 2034.\n"
OTHER_KOBE = "The Kobe ferry carries 9,000 passengers a day. It sails from Port Island.\n"
LEDGER = ("# The Jura ledger\n\nThe Jura fund holds 12 billion yen for harbour repairs. "
          "It was set up by the port authority of Vardø in 2033.\n")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_sources_outside_the_knowledge_folder_are_named_without_a_server_path(tmp_path, make_assistant,
                                                                               knowledge_copy):
    bot = make_assistant(tmp_path / "data", knowledge_copy)
    first = write(tmp_path / "reports", "kobe-rail.txt", KOBE)
    second = write(tmp_path / "elsewhere", "kobe-rail.txt", OTHER_KOBE)  # the same file name, another folder
    bot.ingest([first.parent], progress=False)
    bot.ingest([second], progress=False)
    library = Library(bot, max_upload_bytes=1024 * 1024)
    assert library.add(write(tmp_path / "in", "jura-ledger.md", LEDGER)).ok

    ids = {d.source: d for d in bot.ingestor.documents()}
    assert not [s for s in ids if Path(s).is_absolute() or str(tmp_path) in s]
    external = sorted(s for s in ids if s.startswith("external/"))
    assert len(external) == 2 and all(s.endswith("/kobe-rail.txt") for s in external)  # kept apart
    assert {ids[s].origin for s in external} == {"other"}
    (upload,) = [s for s in ids if s.startswith("uploads/")]
    assert upload.endswith("/jura-ledger.md") and ids[upload].origin == "upload"
    assert ids["japan-russia-ukraine-policy.txt"].origin == "knowledge"

    for question, expected in [("How many passengers does the Kobe rail link carry?", "41,000"),
                               ("How much does the Jura fund hold?", "12 billion")]:
        ans = bot.ask(question)
        assert ans.answered and expected in ans.text
        for c in ans.citations:
            assert c.path in ids and bot.source_text(c.path)[c.start:c.end] == c.quote
    assert library.documents()  # the Documents tab lists them by name
    assert {d.name for d in library.documents() if d.origin == "other"} == {"kobe-rail.txt"}


def test_a_store_named_by_absolute_paths_is_renamed_once(tmp_path, make_assistant, knowledge_copy, monkeypatch):
    import ingest.pipeline as pipeline

    def old_source_id(self, file: Path) -> str:  # what layouts before 6 called a file
        resolved = Path(file).resolve()
        try:
            return resolved.relative_to(Path(self.settings.knowledge_dir).resolve()).as_posix()
        except ValueError:
            return str(resolved)

    with monkeypatch.context() as old:
        old.setattr(pipeline, "LAYOUT", 5)
        old.setattr(pipeline.Ingestor, "source_id", old_source_id)
        bot = make_assistant(tmp_path / "data", knowledge_copy)
        kobe = write(tmp_path / "reports", "kobe-rail.txt", KOBE)
        bot.ingest([kobe.parent], progress=False)
        library = Library(bot, max_upload_bytes=1024 * 1024)
        assert library.add(write(tmp_path / "in", "jura-ledger.md", LEDGER)).ok
        before = bot.store.count()
        old_ids = [s for s in bot.ingestor.manifest() if Path(s).is_absolute()]
        assert len(old_ids) == 2
        assert Path(bot.ask("How many passengers does the Kobe rail link carry?").citations[0].path).is_absolute()
        bot.store.close()

    # this version opens the same data folder: the start-up refresh renames them, once
    bot = make_assistant(tmp_path / "data", knowledge_copy)
    manifest = bot.ingestor.manifest()
    assert not [s for s in manifest if Path(s).is_absolute()]
    assert sum(s.startswith("external/") for s in manifest) == 1
    assert sum(s.startswith("uploads/") for s in manifest) == 1
    passages = all_passages(bot)
    assert len(passages) == before and not [p for p in passages if Path(p["source"]).is_absolute()]
    for old_id in old_ids:
        with pytest.raises(Exception, match="No ingested text"):
            bot.source_text(old_id)
    ans = bot.ask("How many passengers does the Kobe rail link carry?")
    assert ans.answered and ans.citations[0].path.startswith("external/")
    library = Library(bot, max_upload_bytes=1024 * 1024)
    (upload,) = [d for d in library.documents() if d.origin == "upload"]
    assert upload.name == "jura-ledger.md" and upload.passages > 0
    assert bot.ask("How much does the Jura fund hold?").citations[0].path == upload.source
    report = bot.ingest(progress=False)
    assert not report.changed and not report.removed_sources  # once: nothing left to rename
    assert json.loads(bot.ingestor.snapshot_path.read_text(encoding="utf-8"))["layout"] == pipeline.LAYOUT
