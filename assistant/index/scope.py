"""Which documents a question is asked about: names a reader gives, resolved to the store's sources.

Why a module of its own: the same scope must reach both halves of hybrid search
(Chroma's metadata filter on ``source`` and the BM25 mirror's mask), and a name
that matches nothing must fail loudly with what the reader probably meant, not
search everything or nothing. A reader names a document as the Documents tab
lists it: its file name (``white-paper-2023.pdf``), its path under the
knowledge folder, or its title; case, Unicode form and spacing do not matter.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from ..errors import UnknownDocument

MAX_SUGGESTIONS = 5


def _key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", str(name)).casefold().split())


def names_of(source: str, title: str) -> list[str]:
    """Every name a reader may use for one document: its source id, its file name and its title."""
    return [source, PurePosixPath(source.replace("\\", "/")).name, title]


def resolve(names: Iterable[str] | None, titles: Mapping[str, str]) -> frozenset[str] | None:
    """The source ids ``names`` stand for; None for no scope (every document).

    ``titles`` maps each source in the store to its title. A name may match several
    documents (two files of one title): all of them are searched. Unknown names raise
    ``UnknownDocument`` listing the closest document names.
    """
    wanted = [str(n) for n in (names or []) if str(n).strip()]
    if not wanted:
        return None
    index: dict[str, set[str]] = {}
    for source, title in titles.items():
        for name in names_of(source, title):
            if name:
                index.setdefault(_key(name), set()).add(source)
    found: set[str] = set()
    unknown: list[str] = []
    for name in wanted:
        hits = index.get(_key(name))
        if hits:
            found |= hits
        else:
            unknown.append(name)
    if unknown:
        raise unknown_error(unknown, titles)
    return frozenset(found)


def unknown_error(unknown: list[str], titles: Mapping[str, str]) -> UnknownDocument:
    """The error for names no document has, suggesting the closest file names and titles."""
    shown: dict[str, str] = {}  # lower-cased -> as written: file names and titles a reader can type
    for source, title in titles.items():
        for name in names_of(source, title)[1:]:
            if name:
                shown.setdefault(_key(name), name)
    suggestions: list[str] = []
    for name in unknown:
        for key in difflib.get_close_matches(_key(name), list(shown), n=MAX_SUGGESTIONS, cutoff=0.45):
            if shown[key] not in suggestions:
                suggestions.append(shown[key])
        # a part of a title ("white paper") is a likely meaning too
        for key, value in shown.items():
            if len(_key(name)) >= 4 and _key(name) in key and value not in suggestions:
                suggestions.append(value)
    suggestions = suggestions[:MAX_SUGGESTIONS]
    what = ", ".join(f"“{n}”" for n in unknown)
    message = f"No document is called {what}."
    if suggestions:
        hint = "Did you mean " + " or ".join(f"“{s}”" for s in suggestions) + "?"
    elif titles:
        hint = f"Name a document as the Documents tab lists it (file name or title); there are {len(titles)}."
    else:
        hint = "No documents are indexed yet: add some, or run `assistant ingest`."
    return UnknownDocument(message, hint, names=unknown, suggestions=suggestions)


__all__ = ["names_of", "resolve", "unknown_error"]
