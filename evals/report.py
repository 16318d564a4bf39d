"""The self-contained HTML eval report: plots, a per-category table, the cases (failures first).

Plots are matplotlib PNGs inlined as base64 ``data:`` URIs and the CSS is inline,
so the file opens anywhere — offline, from an e-mail or a CI artifact — with no
external assets. The metric definitions come from ``metrics.DEFINITIONS``.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from . import metrics

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2430;max-width:1400px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#5b6472;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #d8dde5;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:22px} .card span{font-size:12px;color:#5b6472}
.plots{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
.plots img{border:1px solid #e3e6ea;border-radius:6px;max-width:100%;height:auto}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border:1px solid #e1e4e8;padding:5px 7px;vertical-align:top;text-align:left}
th{background:#f4f6f8} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td:first-child{border-left:4px solid #d33} tr.pass td:first-child{border-left:4px solid #2a2}
.verdict-fail{color:#b00;font-weight:600} .verdict-pass{color:#070;font-weight:600}
.quote{background:#fbf7e6;border-left:3px solid #d9b600;padding:3px 6px;margin:3px 0}
.bad{background:#fde8e8;border-left-color:#d33}
.hist{color:#5b6472;font-size:12px;margin-bottom:6px} .small{font-size:12px;color:#5b6472}
dl dt{font-weight:600;margin-top:8px} dl dd{margin-left:16px}
"""


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def category_chart(summary: dict[str, Any]) -> str:
    """Grouped horizontal bars per category: accuracy, retrieval recall@k, citation support, refusal recall."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cats = list(summary.get("per_category", {}))
    series = [("accuracy", "accuracy"), ("retrieval_recall_at_k", "retrieval recall@k"),
              ("citation_support", "citation support"), ("refusal_recall", "refusal recall")]
    fig, ax = plt.subplots(figsize=(6.8, 0.62 * max(len(cats), 1) + 1.3))
    height = 0.8 / len(series)
    for j, (key, label) in enumerate(series):
        vals = [summary["per_category"][c].get(key) for c in cats]
        ys = [i + (j - (len(series) - 1) / 2) * height for i in range(len(cats))]
        bars = ax.barh(ys, [100 * v if v is not None else 0 for v in vals], height=height, label=label)
        for bar, v in zip(bars, vals):
            if v is not None:
                ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{100 * v:.0f}",
                        va="center", fontsize=6)
    ax.set_yticks(range(len(cats)))
    ax.set_yticklabels([f"{c} (n={summary['per_category'][c]['total']})" for c in cats])
    ax.invert_yaxis()
    ax.set_xlim(0, 112)
    ax.set_xlabel("% of cases in the category")
    ax.set_title("Per-category metrics")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def latency_chart(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """Histogram of per-case latency with the p50 and p95 lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    if lat:
        ax.hist(lat, bins=min(30, max(5, len(lat) // 3)), color="#4c78a8", edgecolor="white")
        for key, style in (("p50_ms", "--"), ("p95_ms", ":")):
            if summary.get(key) is not None:
                ax.axvline(summary[key], color="#d62728", linestyle=style, label=f"{key[:3]} {summary[key]:.0f} ms")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no timed cases", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _ms(v: Any) -> str:
    return "–" if v is None else f"{v:.0f} ms"


def _summary_table(summary: dict[str, Any]) -> str:
    cols = [("total", "n", str), ("accuracy", "accuracy", _pct), ("exact_match", "EM", _pct), ("f1", "F1", _pct),
            ("presence", "presence", _pct), ("retrieval_recall_at_1", "R@1", _pct),
            ("retrieval_recall_at_k", "R@k", _pct), ("retrieval_mrr", "MRR", lambda v: "–" if v is None else f"{v:.2f}"),
            ("citation_validity", "cit. validity", _pct), ("citation_support", "cit. support", _pct),
            ("citation_precision", "cit. precision", _pct), ("refusal_precision", "refusal P", _pct),
            ("refusal_recall", "refusal R", _pct), ("false_refusal_rate", "false refusals", _pct),
            ("p50_ms", "p50", _ms), ("p95_ms", "p95", _ms)]
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in cols)
    body = []
    groups = list(summary.get("per_category", {}).items()) + [("overall", summary)]
    for name, s in groups:
        cells = "".join(f'<td class="num">{html.escape(f(s.get(k)))}</td>' for k, _, f in cols)
        tag = "b" if name == "overall" else "span"
        body.append(f"<tr><td><{tag}>{html.escape(name)}</{tag}></td>{cells}</tr>")
    return f"<table><tr><th>category</th>{head}</tr>{''.join(body)}</table>"


def _case_row(r: dict[str, Any]) -> str:
    s = r["scores"]
    e = html.escape
    ok = bool(s.get("correct"))
    hist = "".join(
        f'<div class="hist"><b>{e(t["role"])}:</b> {e(t["content"])}</div>' for t in r.get("history") or []
    )
    quotes = "".join(
        f'<div class="quote{"" if c.get("valid") else " bad"}">[{c["n"]}] {e(c["quote"])}'
        f'<div class="small">{e(c["path"])} @ {c["start"]}–{c["end"]}'
        f'{"" if c.get("valid") else " — NOT verbatim at these offsets"}'
        f'{"; contains answer/support" if c.get("correct") else ""}</div></div>'
        for c in r.get("citations") or []
    ) or '<span class="small">no citations</span>'
    if r.get("unanswerable"):
        expected = "<i>unanswerable — should refuse</i>"
    else:
        expected = "answers: " + " | ".join(f"<b>{e(a)}</b>" for a in r.get("answers") or [])
        if r.get("support"):
            expected += f'<div class="quote">support: {e(r["support"])}</div>'
    why = []
    if r.get("error"):
        why.append("error: " + r["error"])
    elif r.get("unanswerable"):
        if not ok:
            why.append("answered instead of refusing")
    else:
        if s.get("refused"):
            why.append("refused")
        else:
            if not s.get("present"):
                why.append("answer not in reply")
            if not s.get("cited_ok"):
                why.append("no citation contains the answer or support")
            if s.get("too_long"):
                why.append(f"reply too long ({s['words']} words)")
        rank = s.get("retrieval_rank")
        why.append(f"support passage rank: {rank if rank else 'not retrieved'}")
        why.append(f"EM {s.get('exact_match', 0):.0f} · F1 {s.get('f1', 0):.2f}")
    verdict = '<span class="verdict-pass">correct</span>' if ok else '<span class="verdict-fail">wrong</span>'
    lat = "–" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f} ms"
    return (
        f'<tr class="{"pass" if ok else "fail"}"><td>{e(r["id"])}<div class="small">{e(r["category"])}</div>'
        f'{verdict}<div class="small">{lat}</div></td>'
        f'<td>{hist}<b>{e(r["question"])}</b></td><td>{e(r.get("reply") or "")}</td>'
        f"<td>{quotes}</td><td>{expected}<div class=\"small\">{'<br>'.join(e(w) for w in why)}</div></td></tr>"
    )


def render(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """The report as one HTML string."""
    meta = summary.get("meta", {})
    e = html.escape
    cards = [("accuracy", _pct(summary.get("accuracy"))), ("refusal precision", _pct(summary.get("refusal_precision"))),
             ("refusal recall", _pct(summary.get("refusal_recall"))),
             ("citation validity", _pct(summary.get("citation_validity"))),
             ("retrieval recall@k", _pct(summary.get("retrieval_recall_at_k"))),
             ("p50 latency", _ms(summary.get("p50_ms"))), ("p95 latency", _ms(summary.get("p95_ms")))]
    ordered = sorted(rows, key=lambda r: (bool(r["scores"].get("correct")), r["category"], r["id"]))
    n_fail = sum(1 for r in rows if not r["scores"].get("correct"))
    defs = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in metrics.DEFINITIONS)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eval report — {e(str(meta.get('corpus', '')))} {e(str(meta.get('dataset', '')))}</title>
<style>{CSS}</style></head><body>
<h1>Answer-accuracy eval report</h1>
<div class="meta">corpus <b>{e(str(meta.get('corpus', 'unnamed')))}</b> · dataset <b>{e(str(meta.get('dataset', '')))}</b> · {summary['total']} cases
({summary['answerable']} answerable, {summary['unanswerable']} unanswerable) · answerer {e(str(meta.get('answerer', '')))}
· run {e(str(meta.get('run_at', '')))} in {e(str(meta.get('seconds', '')))} s</div>
<div class="cards">{''.join(f'<div class="card"><b>{e(v)}</b><span>{e(k)}</span></div>' for k, v in cards)}</div>
<h2>Plots</h2>
<div class="plots"><img id="category-chart" alt="per-category metrics" src="{category_chart(summary)}">
<img id="latency-chart" alt="latency histogram" src="{latency_chart(rows, summary)}"></div>
<h2>Per category</h2>{_summary_table(summary)}
<h2>Cases — {n_fail} failures first</h2>
<table id="cases"><tr><th>case</th><th>question</th><th>reply</th><th>citations</th><th>expected</th></tr>
{''.join(_case_row(r) for r in ordered)}</table>
<h2>Metric definitions</h2><dl>{defs}</dl>
</body></html>
"""


def write_report(rows: list[dict[str, Any]], summary: dict[str, Any], path: Path) -> Path:
    path = Path(path)
    path.write_text(render(rows, summary), encoding="utf-8")
    return path
