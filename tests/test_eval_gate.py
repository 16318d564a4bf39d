"""The regression gate: the project's eval sets through the real assistant, against committed thresholds.

Also checks that ``assistant eval`` works end to end on a small file in the
documented user format, and that its HTML report renders (with its plots) in
headless Debian chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evals.dataset import HOLDOUT_SET, PROJECT_SET
from evals.gate import check, thresholds_for
from evals.run import EvalRunner, evaluate, format_table, write_outputs

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ("total", "accuracy", "refusal_precision", "refusal_recall", "citation_validity", "p50_ms", "p95_ms")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


CORPUS_SETS = sorted((ROOT / "evals" / "corpora").glob("*/*.jsonl"))


@pytest.fixture(scope="module")
def runs(bot, corpus_bot, embedder, tmp_path_factory):
    """Every eval set scored once: the seed sets on the article, each corpus's splits on its own documents."""
    from assistant import Assistant, Settings

    out = {path.name: evaluate(bot, path, progress=False) for path in (PROJECT_SET, HOLDOUT_SET)}
    bots = {corpus_bot.settings.knowledge_dir.resolve(): corpus_bot}
    for path in CORPUS_SETS:
        knowledge = (path.parent / "knowledge").resolve()
        if knowledge not in bots:
            data = tmp_path_factory.mktemp(f"corpus-{path.parent.name}")
            bots[knowledge] = Assistant(Settings(data_dir=data, knowledge_dir=knowledge), embedder=embedder)
        out[path.relative_to(ROOT / "evals").as_posix()] = evaluate(bots[knowledge], path, progress=False)
    return out


@pytest.mark.parametrize("name", [PROJECT_SET.name, HOLDOUT_SET.name,
                                  *(p.relative_to(ROOT / "evals").as_posix() for p in CORPUS_SETS)])
def test_headline_metrics_meet_thresholds(runs, name):
    rows, summary = runs[name]
    bounds = thresholds_for(ROOT / "evals" / name)
    assert bounds, f"evals/thresholds.json has no thresholds for {name}"
    problems = check(summary, bounds)
    assert not problems, f"eval gate failed on {name}:\n" + "\n".join(problems) + "\n\n" + format_table(summary)


def test_the_multi_document_corpus_is_large_enough():
    """Issue 13's benchmark: 12+ documents in mixed formats, 150+ blind cases split dev/holdout."""
    docs = [f for f in (ROOT / "evals" / "corpora" / "japan-ukraine" / "knowledge").iterdir()
            if not f.name.endswith(".meta.json")]
    assert len(docs) >= 12 and {f.suffix for f in docs} >= {".md", ".html", ".pdf", ".txt"}
    for f in docs:
        meta = json.loads(f.with_name(f.name + ".meta.json").read_text(encoding="utf-8"))
        assert meta["title"] and meta["date"] and meta["source_urls"], f.name
    cases = [json.loads(line) for p in CORPUS_SETS for line in p.read_text(encoding="utf-8").splitlines() if line]
    assert len(cases) >= 150
    assert sum(c.get("category") == "near_miss" for c in cases) >= 30
    assert sum(c.get("category") == "followup" for c in cases) >= 12


def test_summary_has_the_documented_fields(runs):
    rows, summary = runs[PROJECT_SET.name]
    assert summary["total"] == len(rows) >= 80
    for key in HEADLINE:
        assert key in summary
    assert set(summary["per_category"]) >= {"numbers_dates", "people_orgs", "reasons", "lists", "paraphrase",
                                            "followup", "unanswerable"}
    for cat in summary["per_category"].values():
        for key in HEADLINE:
            assert key in cat


def test_followups_replay_the_assistants_own_replies(bot):
    case = {"id": "m", "question": "Who announced it?", "answers": ["Kishida"], "support": "Fumio Kishida",
            "history": [{"role": "user", "content": "How much financial aid did Japan announce in February?"}]}
    row = EvalRunner(bot, progress=False, warmup=False).run_case(case)
    first = bot.ask("How much financial aid did Japan announce in February?")
    assert [t["role"] for t in row["history"]] == ["user", "assistant"]
    assert row["history"][1]["content"] == first.text
    assert row["retrieved"], "retrieval is scored with the same history"


USER_SET = [
    {"id": "q01", "question": "How many Ukrainians has Japan taken in?", "answers": ["about 2,000", "2,000"],
     "support": "Japan has also taken in about 2,000 Ukrainians"},
    {"id": "n01", "question": "How many refugees has Brazil taken in?", "unanswerable": True},
    {"id": "m01", "history": [{"role": "user", "content": "What did Japan announce on February 20?"}],
     "question": "Who announced it?", "answers": ["Kishida"], "support": "Prime Minister Fumio Kishida"},
]


def _cli(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    """``assistant eval ARGS`` in a subprocess with its own data folder (flags after the subcommand)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    cmd = [sys.executable, "-m", "assistant.cli", "eval", "--data-dir", str(tmp / "data"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=600)


@pytest.mark.slow
def test_assistant_eval_cli_on_a_user_file(tmp_path, knowledge_copy):
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in USER_SET), encoding="utf-8")
    out = tmp_path / "out"
    proc = _cli(["--knowledge-dir", str(knowledge_copy), "--dataset", str(data), "--out", str(out)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "overall" in proc.stdout and "uncategorised" in proc.stdout
    assert "eval" in proc.stderr  # the tqdm progress bar
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total"] == 3 and summary["unanswerable"] == 1
    assert (tmp_path / "data").is_dir()  # the global flags reached the assistant
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q01", "n01", "m01"]
    assert [t["role"] for t in rows[2]["history"]] == ["user", "assistant"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "http" not in html.split("<body>")[0]


def test_assistant_eval_rejects_a_bad_file_clearly(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(USER_SET[0]) + "\n{not json\n")
    proc = _cli(["--dataset", str(bad), "--out", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == 2
    assert "bad.jsonl:2" in proc.stderr and "not valid JSON" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.browser
def test_report_renders_in_headless_chromium(runs, tmp_path, chromium):
    from playwright.sync_api import sync_playwright

    rows, summary = runs[PROJECT_SET.name]
    paths = write_outputs(rows, summary, tmp_path / "out")
    shot = tmp_path / "report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(paths["report"].as_uri(), wait_until="load")
            sizes = page.evaluate("[...document.images].map(i => [i.id, i.complete, i.naturalWidth])")
            n_rows = page.locator("#cases tr").count() - 1
            first = page.locator("#cases tr").nth(1).get_attribute("class")
            text = page.inner_text("body")
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert {s[0] for s in sizes} == {"category-chart", "latency-chart"}
    assert all(complete and width > 200 for _, complete, width in sizes), sizes
    assert n_rows == summary["total"]
    n_fail = sum(not r["scores"]["correct"] for r in rows)
    assert first == ("fail" if n_fail else "pass")  # failures are listed first
    assert "Metric definitions" in text and "refusal_recall" in text
    assert all(u.startswith(("file:", "data:")) for u in requests), requests  # self-contained
    assert shot.stat().st_size > 10_000
    dest = ROOT / "test-output"
    dest.mkdir(exist_ok=True)
    shutil.copy(shot, dest / "report.png")


def test_runner_records_an_assistant_error_and_goes_on():
    """A narrow fake: the first question fails with an LLMError, the second is refused."""
    from assistant import Answer, LLMError

    class FailingBot:
        def ask(self, question, history=None):
            if question.startswith("boom"):
                raise LLMError("The LLM server did not answer.", "Start it.")
            return Answer(text="The sources don't cover this.", answered=False)

    cases = [{"id": "a", "question": "boom?", "answers": ["x"], "support": "x"},
             {"id": "b", "question": "fine?", "unanswerable": True}]
    rows = EvalRunner(FailingBot(), progress=False, warmup=False).run(cases)
    assert "LLM server" in rows[0]["error"] and not rows[0]["scores"]["correct"]
    assert not rows[0]["scores"]["refused"] and rows[0]["latency_ms"] is None
    assert rows[1]["scores"]["correct"]
