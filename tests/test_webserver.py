"""Headless check of the web UI path: the webserver loads workspace.yaml, shows every asset, and a
"Materialize all" launched through its GraphQL API succeeds."""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
WEBSERVER = Path(sys.executable).parent / "dagster-webserver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ui_home(home: Path) -> Path:
    """A Dagster home whose runs, launched by the webserver, start at once (no daemon in tests)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n")
    return home


@contextlib.contextmanager
def serve_ui(raw: Path, wh: Path, home: Path):
    """dagster-webserver on workspace.yaml over `raw` and `wh`, until the block ends; yields its port."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "ZHENGFA_RAW_DIR": str(raw), "ZHENGFA_WAREHOUSE_DIR": str(wh),
           "PYTHONPATH": str(ROOT)}
    port = _free_port()
    proc = subprocess.Popen([str(WEBSERVER), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, "webserver exited"
            assert time.monotonic() < deadline, "webserver did not start"
            time.sleep(1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _gql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        out = json.loads(r.read())
    assert "errors" not in out, out
    return out["data"]


@pytest.fixture
def webserver(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for p in sorted((ROOT / "data" / "sample_corpus").glob("*.txt"))[:2]:
        shutil.copy(p, raw / p.name)
    home = ui_home(tmp_path / "dagster_home")
    with serve_ui(raw, tmp_path / "wh", home) as port:
        yield port, tmp_path / "wh"


def test_ui_lists_every_asset_and_materialize_all_succeeds(webserver):
    port, wh = webserver
    nodes = _gql(port, "{ assetNodes { assetKey { path } jobNames } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"raw_documents", "cleaned_documents", "document_sections", "metric_mentions", "documents",
            "sections", "metrics", "rejected_documents", "v_metrics_by_region_year",
            "v_yoy_indicators"} <= keys

    # "Materialize all": launch the implicit asset job over every asset key, as the UI does.
    launched = _gql(port, """
        mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
            __typename ... on LaunchRunSuccess { run { runId } }
            ... on PythonError { message } ... on InvalidSubsetError { message } } }""", {
        "params": {"selector": {"repositoryLocationName": "zhengfa", "repositoryName": "__repository__",
                                "jobName": "__ASSET_JOB", "assetSelection": [{"path": k.split("/")} for k in sorted(keys)]},
                   "mode": "default"}})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 300
    status = None
    while time.monotonic() < deadline:
        status = _gql(port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                      {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS"
    con = duckdb.connect(str(wh / "zhengfa.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from documents").fetchone()[0] == 2
        assert con.execute("select count(*) from metrics").fetchone()[0] > 20
    finally:
        con.close()
