"""The whole flow with the network absent: a loopback-only network namespace.

`unshare -n` gives the child processes a network with nothing but 127.0.0.1, so
any attempt to download a model, a tokenizer or telemetry fails instead of
silently succeeding. Ingest, ask and the web chat's /ask API must all still work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
set -e
ip link set lo up
if python3 -c "import socket; socket.create_connection(('1.1.1.1', 443), timeout=2)" 2>/dev/null; then
    echo "NETWORK REACHABLE"; exit 9
fi
"$PY" -m assistant.cli ask "How many Ukrainians has Japan taken in?" --json > "$OUT/ask.json"
"$PY" -m assistant.cli serve --port 7871 > "$OUT/serve.log" 2>&1 &
SERVER=$!
"$PY" - <<'PY' > "$OUT/api.json"
import json, time, urllib.request
for _ in range(240):
    try:
        urllib.request.urlopen("http://127.0.0.1:7871/", timeout=1); break
    except Exception:
        time.sleep(0.5)
from gradio_client import Client
c = Client("http://127.0.0.1:7871", download_files=False, analytics_enabled=False, verbose=False)
print(json.dumps(c.predict("Who announced the $5.5 billion package?", [], api_name="/ask")))
PY
kill $SERVER
"""


def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_unshare(), reason="needs root and unshare to remove the network")
def test_ingest_ask_and_web_api_work_with_no_network(tmp_path, knowledge_copy):
    env = dict(os.environ, PY=sys.executable, OUT=str(tmp_path), ASSISTANT_DATA_DIR=str(tmp_path / "data"),
               ASSISTANT_KNOWLEDGE_DIR=str(knowledge_copy))
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(key, None)  # the package must set these itself
    proc = subprocess.run(["unshare", "-n", "bash", "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr + (tmp_path / "serve.log").read_text(errors="replace")
    source = (knowledge_copy / "japan-russia-ukraine-policy.txt").read_text(encoding="utf-8")
    ask = json.loads((tmp_path / "ask.json").read_text())
    assert ask["answered"] and "2,000" in ask["text"]
    api = json.loads((tmp_path / "api.json").read_text())
    assert api["answered"] and "Kishida" in api["text"]
    for c in ask["citations"] + api["citations"]:
        assert source[c["start"] : c["end"]] == c["quote"]
