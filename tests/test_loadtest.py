"""The web chat under load: 16 concurrent gradio_client clients x 25 questions, 0 failures.

Runs ``evals.loadtest`` against a real ``assistant serve`` subprocess (its own
process, so client threads don't compete with the server for this process's
GIL). Latency numbers are printed and written as JSON, not asserted: speed
belongs in benchmarks; this test asserts that nothing fails under load.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from evals.loadtest import OwnServer, check_loopback, percentile, run


@pytest.mark.slow
def test_sixteen_clients_twenty_five_questions_each_no_failures(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with OwnServer(data, log_path=tmp_path / "server.log") as server:
        result = run(server.url, clients=16, questions=25, timeout=120)
    print("\n" + result.summary())
    (tmp_path / "loadtest.json").write_text(json.dumps(asdict(result), indent=2))
    assert result.requests == 16 * 25
    assert result.failures == 0, result.errors
    assert result.answered > 0 and result.refused > 0  # the mix really exercised both paths
    assert 0 < result.p50_ms <= result.p95_ms <= result.max_ms


def test_loadtest_only_targets_loopback_and_percentiles_are_nearest_rank():
    assert check_loopback("http://127.0.0.1:7860") == "http://127.0.0.1:7860"
    with pytest.raises(SystemExit, match="only loopback"):
        check_loopback("http://example.com:7860")
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
