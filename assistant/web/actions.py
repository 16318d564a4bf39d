"""The chat's server actions, declared once: what the page's buttons may ask the server to do.

Why a registry: a button in our HTML (an example question, Regenerate, a rating,
a conversation's Rename) has to be named in the HTML, in the page script that
forwards its click, and in the Python that handles it. Written four times, they
drift. Here each action is one ``Action`` with the fields its button carries;
``render`` writes buttons with ``attrs()``, the page script learns the names and
fields from ``script()``, Gradio hands the click to the handler as an
``ActionData`` (a public ``gr.EventData`` subclass, typed and checked), and
``handles`` ties a handler to its action. Adding an action is one declaration
here plus its handler.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr


@dataclass(frozen=True)
class Action:
    """One server action: its name and the fields (``data-<field>`` on its button) with their types.

    ``inputs`` are read from the named controls of the button's form when it is
    clicked (a note, a new title), not from the button.
    """

    name: str
    fields: tuple[tuple[str, type], ...] = ()
    inputs: tuple[str, ...] = ()

    def attrs(self, **values: Any) -> str:
        """The HTML attributes of a button that triggers this action with ``values``."""
        known = dict(self.fields)
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"action {self.name!r} has no field(s) {sorted(unknown)}")
        parts = [f'data-action="{html.escape(self.name, quote=True)}"']
        parts += [f'data-{k}="{html.escape(str(v), quote=True)}"' for k, v in values.items()]
        return " ".join(parts)


EXAMPLE = Action("example", (("q", str),))  # ask an example question
REGENERATE = Action("regenerate", (("turn", int),))  # answer the last question again
RATE = Action("rate", (("turn", int), ("value", int)))  # Helpful (+1) / Not helpful (-1)
NOTE = Action("note", (("turn", int),), inputs=("note",))  # a note on a rated answer
OPEN = Action("open", (("cid", str),))  # open a conversation from the list
RENAME = Action("rename", (("cid", str),), inputs=("title",))  # rename a conversation in the list
DELETE = Action("delete", (("cid", str),))  # delete a conversation (after its confirmation)
NEW = Action("new")  # start a new conversation
REMOVE = Action("remove", (("key", str),))  # remove an uploaded document (after its confirmation)

ACTIONS: dict[str, Action] = {a.name: a for a in (EXAMPLE, REGENERATE, RATE, NOTE, OPEN, RENAME, DELETE, NEW, REMOVE)}


class ActionData(gr.EventData):
    """A click on one of our buttons, as Gradio passes it to a handler typed with this class.

    ``action`` is the declared ``Action`` (None for anything else) and ``values`` its
    fields, converted to their types; missing or malformed fields are left out.
    """

    def __init__(self, target: Any, data: Any) -> None:
        super().__init__(target, data)
        data = data if isinstance(data, dict) else {}
        self.action: Action | None = ACTIONS.get(str(data.get("action") or ""))
        self.values: dict[str, Any] = {}
        if self.action is None:
            return
        for name, kind in self.action.fields:
            try:
                if name in data:
                    self.values[name] = kind(data[name])
            except (TypeError, ValueError):
                continue
        for name in self.action.inputs:
            self.values[name] = str(data.get(name) or "")[:2000]


def handles(action: Action) -> Callable[[Callable], Callable]:
    """Mark a method as the handler of ``action`` (``dispatch_table`` collects them)."""

    def mark(fn: Callable) -> Callable:
        fn.handles_action = action.name  # type: ignore[attr-defined]
        return fn

    return mark


def dispatch_table(obj: Any) -> dict[str, Callable]:
    """``action name -> bound handler`` for every ``@handles`` method of ``obj``; each action exactly once."""
    table: dict[str, Callable] = {}
    for name in dir(type(obj)):
        fn = getattr(type(obj), name, None)
        action = getattr(fn, "handles_action", None)
        if action is None:
            continue
        if action in table:
            raise TypeError(f"two handlers for the action {action!r}")
        table[action] = getattr(obj, name)
    missing = set(ACTIONS) - set(table)
    if missing:
        raise TypeError(f"no handler for the action(s) {sorted(missing)}")
    return table


def script() -> str:
    """The page script's copy of the registry: ``window.assistantActions = {name: {fields, ints, inputs}}``."""
    spec = {a.name: {"fields": [f for f, _ in a.fields], "ints": [f for f, k in a.fields if k is int],
                     "inputs": list(a.inputs)} for a in ACTIONS.values()}
    return f"window.assistantActions = {json.dumps(spec, sort_keys=True)};"


# js_on_load of the action bus: a click on a declared action's button is sent to the server with its
# fields (and its form's inputs). It owns Gradio's `trigger`, so it is the one place clicks leave the page.
BUS_JS = """
if (window.__assistantBus) return;
window.__assistantBus = true;
document.addEventListener("click", function (ev) {
  var b = ev.target && ev.target.closest ? ev.target.closest("button[data-action]") : null;
  var spec = b && (window.assistantActions || {})[b.getAttribute("data-action")];
  if (!spec || b.disabled) return;
  var data = {action: b.getAttribute("data-action")};
  spec.fields.forEach(function (f) {
    var v = b.getAttribute("data-" + f);
    if (v !== null) data[f] = spec.ints.indexOf(f) >= 0 ? parseInt(v, 10) : v;
  });
  var form = b.closest("form");
  spec.inputs.forEach(function (f) {
    var el = form && form.elements[f];
    data[f] = el ? el.value : "";
  });
  b.disabled = true;  // one click, one action; the re-rendered HTML brings the button back
  setTimeout(function () { if (document.contains(b)) b.disabled = false; }, 800);
  trigger("click", data);
});
"""
