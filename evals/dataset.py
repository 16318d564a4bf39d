"""Load and check an eval set in the JSON Lines format the project documents.

One JSON object per line::

    {"id": "q01", "question": "...", "answers": ["alias 1", "alias 2"], "support": "exact source fragment"}
    {"id": "n01", "question": "...", "unanswerable": true}
    {"id": "m01", "history": [{"role": "user", "content": "..."}], "question": "...", "answers": [...], "support": "..."}

``category`` is optional (cases without one are grouped as "uncategorised"). A
user's file is checked up front so a typo fails with its line number instead of
half-way through a long run with a confusing metric.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

HERE = Path(__file__).resolve().parent
PROJECT_SET = HERE / "dataset.jsonl"
HOLDOUT_SET = HERE / "holdout.jsonl"


class DatasetError(AssistantError):
    """The eval set cannot be read or a line breaks the documented format."""

    exit_code = 2


def _fail(path: Path, line: int, what: str) -> DatasetError:
    return DatasetError(f"{path}:{line}: {what}", "See the Evals section of README.md for the format.")


def check_case(obj: Any, path: Path, line: int) -> dict[str, Any]:
    """The case as a dict, or DatasetError naming the line and what is wrong."""
    if not isinstance(obj, dict):
        raise _fail(path, line, "each line must be a JSON object")
    for key in ("id", "question"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise _fail(path, line, f'"{key}" must be a non-empty string')
    unanswerable = obj.get("unanswerable", False)
    if not isinstance(unanswerable, bool):
        raise _fail(path, line, '"unanswerable" must be true or false')
    if unanswerable:
        if obj.get("answers"):
            raise _fail(path, line, 'an "unanswerable" case cannot have "answers"')
    else:
        answers = obj.get("answers")
        if not isinstance(answers, list) or not answers:
            raise _fail(path, line, 'needs "answers" (a non-empty list of strings) or "unanswerable": true')
        if not all(isinstance(a, str) and a.strip() for a in answers):
            raise _fail(path, line, '"answers" must hold non-empty strings')
        if "support" in obj and not isinstance(obj["support"], str):
            raise _fail(path, line, '"support" must be a string')
    history = obj.get("history", [])
    if not isinstance(history, list):
        raise _fail(path, line, '"history" must be a list of {"role": "user", "content": "..."} turns')
    for turn in history:
        if not isinstance(turn, dict) or turn.get("role") != "user":
            raise _fail(path, line, '"history" holds the earlier user turns only ({"role": "user", ...}); '
                        "the runner asks them and feeds the assistant's own replies back")
        if not isinstance(turn.get("content"), str) or not turn["content"].strip():
            raise _fail(path, line, "every history turn needs non-empty \"content\"")
    if "category" in obj and not isinstance(obj["category"], str):
        raise _fail(path, line, '"category" must be a string')
    return obj


def load_dataset(path: Path) -> list[dict[str, Any]]:
    """All cases of a JSONL eval set, checked; blank lines are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"No eval set at {path}.", "Pass an existing JSONL file with --dataset.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read the eval set {path}: {exc}.", "It must be a UTF-8 JSONL file.") from exc
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _fail(path, i, f"not valid JSON ({exc.msg})") from None
        case = check_case(obj, path, i)
        if case["id"] in seen:
            raise _fail(path, i, f'duplicate id "{case["id"]}"')
        seen.add(case["id"])
        cases.append(case)
    if not cases:
        raise DatasetError(f"The eval set {path} has no cases.", "Add one JSON object per line.")
    return cases
