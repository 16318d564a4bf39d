"""Conversations and feedback from the web chat, kept in SQLite in the data folder.

Why here and not in the browser: a conversation must survive a reload and be
reopened from another tab with its citations intact, and feedback must reach
whoever reviews answers. Each answer is stored as the ``Answer`` dict the API
returns (text, citations with offsets), so a reopened answer shows the same
cards, and ``assistant feedback export`` can turn ratings into eval cases.

Every read and write names the owner (a signed-in user, or a random id the
browser keeps), so one person never sees another's conversations. One short
connection per call, WAL mode and a busy timeout let the chat's worker
threads and a CLI export share the file.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..types import Answer, Citation

TITLE_CHARS = 60  # a conversation is listed under its first question, shortened to this
NEEDS_LABEL = "FILL IN: the expected answer"  # exported for thumbs-down cases; never matches a reply

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT, error TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL, PRIMARY KEY (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, position INTEGER NOT NULL,
    owner TEXT NOT NULL, rating INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '', question TEXT NOT NULL,
    history TEXT NOT NULL, answer TEXT, created TEXT NOT NULL, updated TEXT NOT NULL,
    UNIQUE (conversation_id, position)
);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def shorten(text: str, limit: int = TITLE_CHARS) -> str:
    """One line, at most ``limit`` characters, cut at a word with an ellipsis."""
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if line[limit - 1] != " " and " " in cut:  # the cut fell inside a word: drop that word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + "…"


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """The ``Answer`` back from ``Answer.to_dict()`` (unknown keys from other versions are dropped)."""
    cit_fields = set(Citation.__dataclass_fields__)
    ans_fields = set(Answer.__dataclass_fields__)
    citations = [Citation(**{k: v for k, v in c.items() if k in cit_fields}) for c in data.get("citations", [])]
    kwargs = {k: v for k, v in data.items() if k in ans_fields and k != "citations"}
    return Answer(citations=citations, **kwargs)


@dataclass
class Turn:
    """One question and what came back: an ``Answer``, or an error / "stopped" message."""

    question: str
    answer: Answer | None = None
    error: str = ""
    rating: int = 0  # +1 thumbs up, -1 thumbs down, 0 none
    note: str = ""


@dataclass
class ConversationInfo:
    id: str
    title: str
    updated: str
    turns: int


@dataclass
class Conversation:
    id: str
    title: str
    turns: list[Turn] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)  # the documents chosen for it (Documents tab keys); [] = all


class ConversationStore:
    """Conversations, their turns and feedback in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)
            columns = {r["name"] for r in db.execute("PRAGMA table_info(conversations)")}
            if "scope" not in columns:  # a file from before document scopes
                db.execute("ALTER TABLE conversations ADD COLUMN scope TEXT NOT NULL DEFAULT '[]'")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.row_factory = sqlite3.Row
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    # -- conversations
    def create(self, owner: str, title: str, scope: list[str] | None = None) -> str:
        cid = uuid.uuid4().hex
        stamp = now()
        with self._db() as db:
            db.execute("INSERT INTO conversations (id, owner, title, created, updated, scope) VALUES (?, ?, ?, ?, ?, ?)",
                       (cid, owner, shorten(title) or "Untitled", stamp, stamp, json.dumps(scope or [])))
        return cid

    def set_scope(self, owner: str, cid: str, scope: list[str]) -> bool:
        """Keep the documents chosen for a conversation with it (reopened, it asks the same ones)."""
        with self._db() as db:
            return db.execute("UPDATE conversations SET scope = ? WHERE id = ? AND owner = ?",
                              (json.dumps(list(scope)), cid, owner)).rowcount == 1

    def list(self, owner: str) -> list[ConversationInfo]:
        """The owner's conversations, most recently used first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.updated, COUNT(t.position) AS n FROM conversations c "
                "LEFT JOIN turns t ON t.conversation_id = c.id WHERE c.owner = ? GROUP BY c.id "
                "ORDER BY c.updated DESC, c.rowid DESC", (owner,)).fetchall()
        return [ConversationInfo(r["id"], r["title"], r["updated"], r["n"]) for r in rows]

    def get(self, owner: str, cid: str) -> Conversation | None:
        """The conversation with its turns and their ratings, or None (unknown, or someone else's)."""
        with self._db() as db:
            conv = db.execute("SELECT id, title, scope FROM conversations WHERE id = ? AND owner = ?",
                              (cid, owner)).fetchone()
            if conv is None:
                return None
            rows = db.execute("SELECT position, question, answer, error FROM turns WHERE conversation_id = ? "
                              "ORDER BY position", (cid,)).fetchall()
            ratings = {r["position"]: (r["rating"], r["note"]) for r in db.execute(
                "SELECT position, rating, note FROM feedback WHERE conversation_id = ?", (cid,))}
        turns = []
        for r in rows:
            answer = answer_from_dict(json.loads(r["answer"])) if r["answer"] else None
            rating, note = ratings.get(r["position"], (0, ""))
            turns.append(Turn(r["question"], answer, r["error"], rating, note))
        try:
            scope = [str(k) for k in json.loads(conv["scope"] or "[]")]
        except (TypeError, ValueError):
            scope = []
        return Conversation(conv["id"], conv["title"], turns, scope)

    def save_turn(self, owner: str, cid: str, position: int, turn: Turn) -> bool:
        """Store (or replace, for a regenerated answer) the turn at ``position``; its old feedback goes."""
        answer = json.dumps(turn.answer.to_dict(), ensure_ascii=False) if turn.answer else None
        with self._db() as db:
            if not self._owns(db, owner, cid):
                return False
            db.execute("INSERT OR REPLACE INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                       (cid, position, turn.question, answer, turn.error, now()))
            db.execute("DELETE FROM turns WHERE conversation_id = ? AND position > ?", (cid, position))
            db.execute("DELETE FROM feedback WHERE conversation_id = ? AND position >= ?", (cid, position))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now(), cid))
        return True

    def rename(self, owner: str, cid: str, title: str) -> bool:
        title = shorten(title, 120)
        if not title:
            return False
        with self._db() as db:
            return db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                              (title, cid, owner)).rowcount == 1

    def delete(self, owner: str, cid: str) -> bool:
        """Delete a conversation and its turns; its feedback stays for review (it holds its own copy)."""
        with self._db() as db:
            return db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).rowcount == 1

    @staticmethod
    def _owns(db: sqlite3.Connection, owner: str, cid: str) -> bool:
        return db.execute("SELECT 1 FROM conversations WHERE id = ? AND owner = ?", (cid, owner)).fetchone() is not None

    # -- feedback
    def rate(self, owner: str, cid: str, position: int, rating: int, note: str | None = None) -> bool:
        """Save thumbs up (+1) or down (-1) on an answer, with a copy of its question, history and answer.

        The copy lets a reviewer read the feedback after the conversation is deleted.
        ``note=None`` keeps the note given earlier. False when there is no such answer.
        """
        if rating not in (1, -1):
            raise ValueError("rating must be +1 or -1")
        with self._db() as db:
            if not self._owns(db, owner, cid):
                return False
            rows = db.execute("SELECT position, question, answer FROM turns WHERE conversation_id = ? AND "
                              "position <= ? ORDER BY position", (cid, position)).fetchall()
            if not rows or rows[-1]["position"] != position:
                return False
            old = db.execute("SELECT note FROM feedback WHERE conversation_id = ? AND position = ?",
                             (cid, position)).fetchone()
            if note is None:
                note = old["note"] if old is not None else ""
            history = json.dumps([{"role": "user", "content": r["question"]} for r in rows[:-1]], ensure_ascii=False)
            stamp = now()
            db.execute(
                "INSERT INTO feedback (conversation_id, position, owner, rating, note, question, history, answer, "
                "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conversation_id, position) "
                "DO UPDATE SET rating = excluded.rating, note = excluded.note, updated = excluded.updated",
                (cid, position, owner, rating, note.strip()[:2000], rows[-1]["question"], history,
                 rows[-1]["answer"], stamp, stamp))
        return True

    def feedback(self) -> list[dict[str, Any]]:
        """Every rating, oldest first, with its copy of the question, history and answer."""
        with self._db() as db:
            rows = db.execute("SELECT * FROM feedback ORDER BY created, id").fetchall()
        return [dict(r) for r in rows]


def feedback_case(row: dict[str, Any]) -> dict[str, Any]:
    """One feedback row as an eval case (``evals/dataset.py``'s format) plus a ``feedback`` record.

    A thumbs-up answer becomes a regression case (its first quote is the expected
    answer and support); a thumbs-up refusal an unanswerable case. A thumbs-down
    cannot say what the right answer is: it is exported with ``needs_review`` and a
    placeholder answer that no reply contains, so it fails until a person fills it
    in (or marks it ``"unanswerable": true``).
    """
    answer = json.loads(row["answer"]) if row.get("answer") else None
    case: dict[str, Any] = {"id": f"fb-{row['id']}", "category": "feedback", "question": row["question"]}
    history = json.loads(row["history"] or "[]")
    if history:
        case["history"] = history
    answered = bool(answer and answer.get("answered"))
    citations = (answer or {}).get("citations") or []
    if row["rating"] > 0 and answered and citations:
        case["answers"] = [citations[0]["quote"]]
        case["support"] = citations[0]["quote"]
    elif row["rating"] > 0 and answer is not None and not answered:
        case["unanswerable"] = True
    else:
        case["answers"] = [NEEDS_LABEL]
        case["needs_review"] = True
    case["feedback"] = {
        "rating": "up" if row["rating"] > 0 else "down", "note": row["note"],
        "reply": (answer or {}).get("text", ""),
        "citations": [{"n": c["n"], "source": c["source"], "quote": c["quote"]} for c in citations],
        "conversation": row["conversation_id"], "at": row["updated"],
    }
    return case


def export_feedback(store: ConversationStore, out: Path) -> tuple[int, int]:
    """Write every rating as a JSONL eval case; returns (cases written, cases that need review)."""
    cases = [feedback_case(r) for r in store.feedback()]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    return len(cases), sum(1 for c in cases if c.get("needs_review"))
