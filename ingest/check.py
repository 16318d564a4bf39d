"""Do the store and the indexing records agree? The check behind the store's self-repair.

Why: LangChain's ``index()`` trusts its record manager. When the store lost
passages the records still list (``data/chroma`` moved aside or emptied, a
Chroma server restarted on an empty folder), every file reads as "unchanged",
nothing is re-embedded, and questions are refused. Comparing the two finds the
passages the store lacks, by source, so ingest can re-fill exactly those.

Two depths: ``quick`` (start-up) compares counts and asks the store for a
sample of the records' ids, and compares every id only when those disagree;
``full`` (every ingest) always compares every id. README: what each costs.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from assistant.index import Store

from .plural import plural

SAMPLE = 64  # record ids looked up in the store by the quick check


@dataclass
class StoreCheck:
    """What the store lacks compared with the records."""

    records: int  # passages the record manager lists
    stored: int  # passages the store holds
    missing: dict[str, list[str]] = field(default_factory=dict)  # source -> record keys absent from the store
    full: bool = False  # every id compared (else counts and a sample)
    seconds: float = 0.0

    @property
    def missing_count(self) -> int:
        return sum(len(keys) for keys in self.missing.values())

    @property
    def ok(self) -> bool:
        return not self.missing

    def notice(self) -> str:
        """The one line an operator reads when the store is re-filled."""
        return (f"The vector store lacks {self.missing_count:,} of the {plural(self.records, 'passage')} the indexing "
                f"records list (moved, emptied, or a Chroma server restarted empty); re-filling them from "
                f"{plural(len(self.missing), 'source file')}.")


def _rows(records: Any, sql: str, **params: Any) -> list[tuple]:
    from sqlalchemy import text

    with records.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), {"ns": records.namespace, **params})]


def record_count(records: Any) -> int:
    return int(_rows(records, "SELECT COUNT(*) FROM upsertion_record WHERE namespace = :ns")[0][0])


def record_keys(records: Any) -> list[tuple[str, str]]:
    """(key, source) of every record: the record manager's own API lists keys but not their groups."""
    return _rows(records, "SELECT key, group_id FROM upsertion_record WHERE namespace = :ns")


def record_sources(records: Any) -> set[str]:
    """Every source that has passages in the records (what a citation may point at)."""
    return {g for (g,) in _rows(records, "SELECT DISTINCT group_id FROM upsertion_record WHERE namespace = :ns")
            if g}


def check_store(records: Any, store: Store, *, full: bool = True) -> StoreCheck:
    """Compare the record manager's passages with the store's; see the module docstring for ``full``."""
    t0 = time.perf_counter()
    n = record_count(records)
    stored = store.count()
    if n == 0:
        return StoreCheck(0, stored, full=full, seconds=time.perf_counter() - t0)
    if not full and stored >= n:
        sample = [k for (k,) in _rows(records, "SELECT key FROM upsertion_record WHERE namespace = :ns "
                                               "ORDER BY random() LIMIT :k", k=SAMPLE)]
        if len(store.has(sample)) == len(sample):
            return StoreCheck(n, stored, seconds=time.perf_counter() - t0)
    have = store.ids()
    missing: dict[str, list[str]] = defaultdict(list)
    for key, source in record_keys(records):
        if key not in have:
            missing[source].append(key)
    return StoreCheck(n, stored, dict(missing), full=True, seconds=time.perf_counter() - t0)
