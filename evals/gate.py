"""Compare a summary with the committed thresholds (``evals/thresholds.json``).

Shared by ``assistant eval --check`` and the pytest gate so CI and a developer
see the same verdict. Thresholds are keyed by the eval set's file name, each with
``min`` (metric must be at least) and ``max`` (at most) bounds; a metric that came
out null (e.g. no citations at all) fails its bound rather than passing silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise AssistantError(f"Cannot read the thresholds file {path}: {exc}.",
                             "It is a JSON object keyed by eval-set file name.") from exc


def thresholds_for(dataset: Path, path: Path = THRESHOLDS) -> dict[str, Any] | None:
    """The bounds of ``dataset``: keyed by its path under ``evals/`` ("corpora/x/holdout.jsonl"), else its file name."""
    table = load_thresholds(path)
    dataset = Path(dataset).resolve()
    try:
        key = dataset.relative_to(Path(path).resolve().parent).as_posix()
    except ValueError:
        key = dataset.name
    return table.get(key, table.get(dataset.name) if "/" not in key else None)


def check(summary: dict[str, Any], bounds: dict[str, Any], _where: str = "") -> list[str]:
    """One message per metric outside its bound; empty when everything passes.

    ``bounds["per_category"][name]`` holds the same ``min``/``max`` bounds for one category;
    a category missing from the summary fails (its cases were dropped from the set).
    """
    problems = []
    for name, sub in bounds.get("per_category", {}).items():
        got = summary.get("per_category", {}).get(name)
        if got is None:
            problems.append(f"category {name} has no cases")
        else:
            problems += check(got, sub, f"{name}: ")
    for key, floor in bounds.get("min", {}).items():
        value = summary.get(key)
        if value is None or value < floor:
            problems.append(f"{_where}{key} = {_fmt(value)} is below the threshold {floor}")
    for key, ceiling in bounds.get("max", {}).items():
        value = summary.get(key)
        if value is None or value > ceiling:
            problems.append(f"{_where}{key} = {_fmt(value)} is above the threshold {ceiling}")
    return problems


def _fmt(value: Any) -> str:
    return "null" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
