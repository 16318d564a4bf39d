"""Load test of the web chat's ``/ask`` endpoint: N concurrent gradio_client clients.

    python -m evals.loadtest --url http://127.0.0.1:7860      # against a running server
    python -m evals.loadtest                                  # starts its own server (tmp data dir)
    python -m evals.loadtest --clients 32 --questions 20 --ingest 2000
                              # ... while a CLI `assistant ingest` adds 2,000 passages to the same data folder

Why this shape: the web chat is the project's main job, and Gradio runs one
event at a time unless told otherwise, so the number that matters is latency
and failures when many people ask at once. Each client is a real
``gradio_client.Client`` in its own thread sending its questions one after
another (like a person waiting for each answer), all clients starting together.
Bounded by design: a fixed number of requests, a per-request timeout, loopback
addresses only (this must never be pointed at someone else's server).

``--ingest N`` measures the other thing a real server meets: another process
writing to its store. The server then runs over a copy of the knowledge folder,
and when the clients start, ``assistant ingest`` (a separate process, as an
operator would run it) adds N generated passages to that copy and its data
folder; the server must keep answering, and pick the new passages up.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# A mix the real chat sees: answerable questions, a follow-up with history, refusals.
QUESTIONS: list[tuple[str, list[dict]]] = [
    ("How many Ukrainians has Japan taken in?", []),
    ("How much financial aid did Japan announce in February?", []),
    ("What share of Japanese people supported sanctions on Russia?", []),
    ("What equipment has Japan supplied to Ukraine?", []),
    ("Who announced it?", [
        {"role": "user", "content": "How much financial aid did Japan announce in February?"},
        {"role": "assistant", "content": "On February 20, Prime Minister Fumio Kishida announced a financial "
                                         "package worth $5.5 billion, adding to the $600 million already committed. [1]"},
    ]),
    ("How did Japan respond to the annexation of Crimea in 2014?", []),
    ("What does Japan plan for defense spending?", []),
    ("What is the capital of Australia?", []),
    ("Why does China matter for Japan's Russia policy?", []),
    ("When did the latest package of sanctions take effect?", []),
    ("What did Brazil do about the war?", []),
    ("How many Russian companies were banned from importing dual-use goods?", []),
]


@dataclass
class Result:
    url: str
    clients: int
    questions_per_client: int
    requests: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)  # first few failure reasons
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    mean_ms: float = 0.0
    wall_s: float = 0.0
    throughput_rps: float = 0.0
    answered: int = 0
    refused: int = 0
    ingest: dict[str, Any] = field(default_factory=dict)  # the concurrent ingest (--ingest), if any

    def summary(self) -> str:
        out = (
            f"{self.clients} clients x {self.questions_per_client} questions = {self.requests} requests against "
            f"{self.url} in {self.wall_s:.1f}s ({self.throughput_rps:.1f} req/s)\n"
            f"latency p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, max {self.max_ms:.0f} ms, "
            f"mean {self.mean_ms:.0f} ms\nfailures {self.failures}; answered {self.answered}, refused {self.refused}"
        )
        if self.ingest:
            out += (f"\nconcurrent ingest: exit {self.ingest.get('returncode')}, {self.ingest.get('seconds')} s, "
                    f"{self.ingest.get('summary', '')}; afterwards the server answered from it: "
                    f"{self.ingest.get('answered_from_new')}")
        return out


def check_loopback(url: str) -> str:
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to load-test {url}: only loopback addresses ({', '.join(sorted(LOOPBACK))}) are allowed")
    return url


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: simple, and never reports a latency nobody saw."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))  # 1-based
    return ordered[max(0, min(len(ordered), rank) - 1)]


def _valid(answer: object) -> bool:
    """A response counts as a success only if it is a well-formed answer."""
    if not isinstance(answer, dict) or not isinstance(answer.get("text"), str) or "answered" not in answer:
        return False
    cites = answer.get("citations")
    if not isinstance(cites, list) or (answer["answered"] and not cites):
        return False
    return all(isinstance(c, dict) and c.get("quote") and c["end"] > c["start"] for c in cites)


def run(url: str, clients: int = 16, questions: int = 25, timeout: float = 120.0,
        on_start: Callable[[], None] | None = None) -> Result:
    """Run the load test against a running server and return the measurements.

    ``on_start`` runs once, as the clients start (the concurrent ingest begins there).
    """
    from gradio_client import Client

    check_loopback(url)
    latencies: list[float] = []
    res = Result(url=url, clients=clients, questions_per_client=questions)
    lock = threading.Lock()
    # connect first (not timed): each Client fetches the app's config
    conns = [Client(url, verbose=False, analytics_enabled=False, download_files=False) for _ in range(clients)]
    start = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        client = conns[i]
        start.wait()
        for j in range(questions):
            question, history = QUESTIONS[(i + j) % len(QUESTIONS)]
            t0 = time.perf_counter()
            try:
                answer = client.submit(question, history, api_name="/ask").result(timeout=timeout)
                ok = _valid(answer)
                reason = "" if ok else f"malformed answer: {str(answer)[:120]}"
            except Exception as exc:  # every failure is counted and reported, never raised
                answer, ok, reason = None, False, f"{type(exc).__name__}: {exc}"[:200]
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                res.requests += 1
                if ok:
                    latencies.append(ms)
                    res.answered += bool(answer["answered"])
                    res.refused += not answer["answered"]
                else:
                    res.failures += 1
                    if len(res.errors) < 10:
                        res.errors.append(reason)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    if on_start is not None:
        on_start()
    for t in threads:
        t.join()
    res.wall_s = time.perf_counter() - t0
    for c in conns:
        c.close()
    if latencies:
        res.p50_ms = round(percentile(latencies, 50), 1)
        res.p95_ms = round(percentile(latencies, 95), 1)
        res.max_ms = round(max(latencies), 1)
        res.mean_ms = round(statistics.fmean(latencies), 1)
    res.throughput_rps = round(res.requests / res.wall_s, 2) if res.wall_s else 0.0
    return res


# -- a server of its own
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/gradio_api/info", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers (e.g. 401 behind --auth): it is up
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up within {timeout:.0f}s")


class OwnServer:
    """``assistant serve`` in a subprocess on a free loopback port, stopped on exit."""

    def __init__(self, data_dir: Path, log_path: Path | None = None, extra_args: list[str] | None = None) -> None:
        """``extra_args`` go to ``assistant serve`` (e.g. ``["--knowledge-dir", DIR]``)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = log_path or data_dir / "server.log"
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> OwnServer:
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("ASSISTANT_AUTH", None)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--data-dir", str(self.data_dir),
             "--host", "127.0.0.1", "--port", str(self.port), *self.extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )
        try:
            wait_until_up(self.url, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class ConcurrentIngest:
    """``assistant ingest`` of N new generated passages into ``data_dir``, in its own process, timed."""

    def __init__(self, data_dir: Path, knowledge: Path, passages: int, log_path: Path) -> None:
        from evals.corpus import generate

        self.data_dir, self.knowledge, self.log_path = data_dir, knowledge, log_path
        new = knowledge / "concurrent"
        generate(new, passages, seed=23)
        for f in new.iterdir():  # the generator adds a copy of the article; the folder has it already
            if f.is_file():
                f.unlink()
        (new / "kelp.txt").write_text(PROBE[1], encoding="utf-8")
        (knowledge.parent / "concurrent-staged").mkdir(exist_ok=True)
        self.staged = knowledge.parent / "concurrent-staged" / "concurrent"
        new.rename(self.staged)  # out of the folder until the load starts
        self.proc: subprocess.Popen | None = None
        self.t0 = 0.0
        self.info: dict[str, Any] = {"passages": passages}

    def start(self) -> None:
        self.staged.rename(self.knowledge / "concurrent")
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(self.data_dir), "ASSISTANT_KNOWLEDGE_DIR": str(self.knowledge)}
        self._log = open(self.log_path, "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ingest", "--quiet"], env=env,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True)

    def finish(self, timeout: float = 3600) -> dict[str, Any]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._log.close()
        self.info.update(returncode=self.proc.returncode, seconds=round(time.perf_counter() - self.t0, 1),
                         summary=out.strip().splitlines()[-1] if out.strip() else "",
                         stderr=self.log_path.read_text()[-500:])
        return self.info


PROBE = ("Where do kelp farms produce kombu?", "Kelp farms in Hokkaido produce kombu for dashi stock.\n")


def _answers_from_new(url: str) -> bool:
    """After the ingest: does the server answer from the new files (a fact only they hold)?"""
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    try:
        ans = client.predict(PROBE[0], [], api_name="/ask")
        return any(c["path"].startswith("concurrent/") for c in ans.get("citations", []))
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.loadtest", description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (loopback only); default: start one")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--questions", type=int, default=25, help="questions per client")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds before a request counts as failed")
    ap.add_argument("--data-dir", type=Path, help="data folder for the server this starts (default: a tmp folder)")
    ap.add_argument("--out", type=Path, default=Path("evals/out/loadtest.json"), help="JSON report path")
    ap.add_argument("--ingest", type=int, default=0, metavar="N",
                    help="while the clients run, ingest N generated passages from another process (own server only)")
    args = ap.parse_args(argv)
    if not (1 <= args.clients <= 64 and 1 <= args.questions <= 200):
        ap.error("--clients must be 1-64 and --questions 1-200 (this is a bounded test)")
    if args.ingest and args.url:
        ap.error("--ingest needs the server's folders: use it without --url (the test starts its own server)")

    if args.url:
        result = run(check_loopback(args.url), args.clients, args.questions, args.timeout)
    else:
        with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
            data = args.data_dir or Path(tmp) / "data"
            data.mkdir(parents=True, exist_ok=True)
            extra: list[str] = []
            ingest = None
            if args.ingest:
                knowledge = Path(tmp) / "knowledge"
                shutil.copytree(Path(__file__).resolve().parents[1] / "knowledge", knowledge)
                extra = ["--knowledge-dir", str(knowledge)]
                ingest = ConcurrentIngest(data, knowledge, args.ingest, Path(tmp) / "ingest.log")
            print(f"starting a server (data in {data}) …", file=sys.stderr, flush=True)
            with OwnServer(data, log_path=Path(tmp) / "server.log", extra_args=extra) as server:
                result = run(server.url, args.clients, args.questions, args.timeout,
                             on_start=ingest.start if ingest else None)
                if ingest is not None:
                    result.ingest = ingest.finish()
                    time.sleep(3)  # the server's next store check (every 2 s) sees the finished ingest
                    result.ingest["answered_from_new"] = _answers_from_new(server.url)
    print(result.summary())
    for e in result.errors:
        print(f"  failure: {e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(result), indent=2))
    print(f"wrote {args.out}")
    failed = result.failures or (result.ingest and result.ingest.get("returncode") != 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
