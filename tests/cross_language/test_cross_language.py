"""One workflow, three languages: Python, Go and Java workers in sequence and in a fork,
data flowing between them, started and awaited from the Python client against the real
`baton server` binary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from baton import BatonClient, Task, TaskRegistry, Worker, worker_task

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("BATON_BIN", str(ROOT / "target" / "release" / "baton"))
GO_WORKER = os.environ["XL_GO_WORKER"]
JAVA_WORKER = os.environ["XL_JAVA_WORKER"].split()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    data = tempfile.mkdtemp(prefix="baton-xl-")
    proc = subprocess.Popen(
        [BIN, "server", "--data-dir", data, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.match(r"baton server listening on (\S+)", line)
    assert m, f"unexpected server output {line!r}"
    yield m.group(1)
    proc.terminate()
    proc.wait(timeout=20)


def spawn(cmd: list[str], addr: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BATON_SERVER=addr)
    return subprocess.Popen(cmd, env=env)


def python_registry() -> TaskRegistry:
    reg = TaskRegistry()

    @worker_task("xl_py_upper", registry=reg)
    def upper(task: Task) -> dict:
        text = task.input["text"]
        return {"text": text.upper(), "trail": ["python"]}

    @worker_task("xl_py_tag", registry=reg)
    def tag(task: Task) -> dict:
        return {"lang": "python", "seen": task.input["length"]}

    return reg


def definitions() -> tuple[list[dict], dict]:
    names = ["xl_py_upper", "xl_go_reverse", "xl_java_count", "xl_py_tag", "xl_go_tag", "xl_java_tag"]
    task_defs = [{"name": n, "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30} for n in names]

    def tag(lang: str) -> dict:
        return {
            "name": f"xl_{lang}_tag",
            "taskReferenceName": f"{lang}_tag",
            "inputParameters": {"length": "${java_count.output.length}"},
        }

    workflow = {
        "name": "cross_language",
        "version": 1,
        "schemaVersion": 2,
        "tasks": [
            {"name": "xl_py_upper", "taskReferenceName": "py_upper",
             "inputParameters": {"text": "${workflow.input.text}"}},
            {"name": "xl_go_reverse", "taskReferenceName": "go_reverse",
             "inputParameters": {"text": "${py_upper.output.text}", "trail": "${py_upper.output.trail}"}},
            {"name": "xl_java_count", "taskReferenceName": "java_count",
             "inputParameters": {"text": "${go_reverse.output.text}", "trail": "${go_reverse.output.trail}"}},
            {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN",
             "forkTasks": [[tag("py")], [tag("go")], [tag("java")]]},
            {"name": "join", "taskReferenceName": "join", "type": "JOIN",
             "joinOn": ["py_tag", "go_tag", "java_tag"]},
        ],
        "outputParameters": {
            "text": "${java_count.output.text}",
            "length": "${java_count.output.length}",
            "trail": "${java_count.output.trail}",
            "tags": "${join.output}",
        },
    }
    return task_defs, workflow


def test_python_go_and_java_workers_share_one_workflow(server: str) -> None:
    task_defs, workflow = definitions()
    workers = [spawn([GO_WORKER], server), spawn(JAVA_WORKER, server)]
    py = Worker(registry=python_registry(), server=server, worker_id="cross-python")
    py.start()
    try:
        with BatonClient(server) as client:
            client.register_task_defs(task_defs)
            client.update_workflow_defs([workflow])
            wf = client.execute_workflow("cross_language", {"text": "Baton"}, wait_seconds=120)
            assert wf.status.name == "COMPLETED", (wf.status, wf.reason_for_incompletion)
            out = wf.output
            assert out["text"] == "NOTAB", out
            assert out["length"] == 5, out
            assert out["trail"] == ["python", "go", "java"], out
            tags = out["tags"]
            assert tags["py_tag"] == {"lang": "python", "seen": 5}, tags
            assert tags["go_tag"] == {"lang": "go", "seen": 5}, tags
            assert tags["java_tag"] == {"lang": "java", "seen": 5}, tags
            by_ref = {t.reference_task_name: t for t in wf.tasks}
            assert by_ref["go_reverse"].worker_id.startswith("cross-go")
            assert by_ref["java_count"].worker_id.startswith("cross-java")
            assert by_ref["py_upper"].worker_id.startswith("cross-python")
    finally:
        py.stop(5)
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
