"""The client against the real server: definitions, starts, idempotency, execute, and the
operations that steer a workflow."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from support import simple_task, task_def, unique, wait_until, workflow_def

from baton import (
    AlreadyExistsError,
    AsyncBatonClient,
    BatonClient,
    BatonError,
    IdempotencyStrategy,
    InvalidArgumentError,
    NotFoundError,
    Task,
    TaskRegistry,
    TaskStatus,
    Worker,
    WorkflowStatus,
    worker_task,
)


@pytest.fixture(scope="module")
def echo(server: Any, client: BatonClient) -> Iterator[str]:
    """A task type served for the whole module; it echoes its input, or fails while the
    input says so and the shared switch is on."""
    name = unique("echo")
    client.register_task_defs(task_def(name))
    registry = TaskRegistry()

    @worker_task(name, concurrency=8, registry=registry)
    def handler(task: Task) -> dict[str, Any]:
        if task.input.get("fail") and FAIL_SWITCH.is_set():
            raise RuntimeError("asked to fail")
        if task.input.get("sleep"):
            time.sleep(float(task.input["sleep"]))
        return {"echo": task.input.get("value")}

    with Worker(server=server.address, registry=registry):
        yield name


FAIL_SWITCH = threading.Event()


def echo_workflow(client: BatonClient, echo: str, steps: int = 1) -> str:
    name = unique("wf_echo")
    tasks = [
        simple_task(echo, f"e{i}", {"value": "${workflow.input.value}", "fail": "${workflow.input.fail}",
                                    "sleep": "${workflow.input.sleep}"})
        for i in range(steps)
    ]
    client.register_workflow_def(workflow_def(name, tasks, {"echo": f"${{e{steps - 1}.output.echo}}"}))
    return name


def test_register_and_read_definitions(client: BatonClient, tmp_path: Path) -> None:
    name = unique("wf_defs")
    t = unique("t_defs")
    stored = client.register_task_defs([task_def(t, retryCount=2, description="first")])
    assert [d.name for d in stored] == [t]
    assert client.get_task_def(t).definition["retryCount"] == 2
    # JSON text works as well as dicts, and replaces the definition.
    client.register_task_defs(json.dumps([task_def(t, retryCount=5)]))
    assert client.get_task_def(t).definition["retryCount"] == 5
    assert t in [d.name for d in client.list_task_defs()]

    definition = workflow_def(name, [simple_task(t, "only")])
    info = client.register_workflow_def(definition)
    assert (info.name, info.version) == (name, 1)
    with pytest.raises(AlreadyExistsError) as excinfo:
        client.register_workflow_def(definition)
    assert excinfo.value.code.name == "ALREADY_EXISTS"
    v2 = dict(definition, version=2, description="second")
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(v2))
    assert client.register_workflow_def(path).version == 2
    assert client.get_workflow_def(name).version == 2
    assert client.get_workflow_def(name, 1).version == 1
    assert client.get_workflow_def(name).definition["description"] == "second"
    client.register_workflow_def(dict(v2, description="replaced"), overwrite=True)
    assert client.get_workflow_def(name, 2).description == "replaced"
    assert [d.version for d in client.list_workflow_defs(name, all_versions=True)] == [1, 2]
    client.delete_workflow_def(name, 2)
    assert client.get_workflow_def(name).version == 1
    client.delete_task_def(t)
    with pytest.raises(NotFoundError):
        client.get_task_def(t)


def test_validation_and_bad_requests(client: BatonClient) -> None:
    bad = {"name": unique("wf_bad"), "version": 1, "tasks": [{"name": "x", "type": "SIMPLE"}]}
    result = client.validate_workflow_def(bad)
    assert not result.valid and result.errors
    with pytest.raises(InvalidArgumentError):
        client.register_workflow_def(bad)
    with pytest.raises(NotFoundError):
        client.get_workflow("no-such-workflow")
    with pytest.raises(NotFoundError):
        client.start_workflow(unique("never_registered"))
    with pytest.raises(BatonError):
        client.register_workflow_def("{not json")


def test_start_with_correlation_and_priority(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo)
    corr = unique("corr")
    a = client.start_workflow(wf, {"value": 1}, correlation_id=corr, priority=7)
    b = client.start_workflow(wf, {"value": 2}, correlation_id=corr)
    done = client.wait_for_workflow(a, timeout=30)
    client.wait_for_workflow(b, timeout=30)
    assert (done.correlation_id, done.priority, done.output) == (corr, 7, {"echo": 1})
    listed = client.get_workflows_by_correlation_id(wf, corr, include_closed=True)
    assert sorted(w.workflow_id for w in listed) == sorted([a, b])


def test_idempotency_strategies(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo)
    key = unique("key")
    first = client.start_workflow(wf, {"value": "x", "sleep": 1}, idempotency_key=key)
    with pytest.raises(AlreadyExistsError):
        client.start_workflow(wf, idempotency_key=key)
    same = client.start_workflow(wf, idempotency_key=key, idempotency_strategy=IdempotencyStrategy.RETURN_EXISTING)
    assert same == first
    with pytest.raises(AlreadyExistsError):
        client.start_workflow(wf, idempotency_key=key, idempotency_strategy="FAIL_ON_RUNNING")
    assert client.wait_for_workflow(first, timeout=30).idempotency_key == key
    again = client.start_workflow(wf, {"value": "y"}, idempotency_key=key, idempotency_strategy="FAIL_ON_RUNNING")
    assert again != first


def test_execute_workflow(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo, steps=2)
    done = client.execute_workflow(wf, {"value": "hi"}, wait_seconds=20)
    assert done.status is WorkflowStatus.COMPLETED
    assert done.output == {"echo": "hi"}
    assert [t.status for t in done.tasks] == [TaskStatus.COMPLETED, TaskStatus.COMPLETED]
    # A worker task's type is its task's name, as Conductor reports it.
    assert [t.task_type for t in done.tasks] == [echo, echo]
    slow = client.execute_workflow(wf, {"value": "late", "sleep": 2}, wait_seconds=1)
    assert not slow.is_terminal
    assert client.wait_for_workflow(slow.workflow_id, timeout=30).output == {"echo": "late"}


def test_pause_resume_terminate(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo, steps=3)
    wf_id = client.start_workflow(wf, {"value": 1, "sleep": 0.5})
    client.pause_workflow(wf_id)
    assert client.get_workflow(wf_id).status is WorkflowStatus.PAUSED
    time.sleep(1.2)  # the task handed out before the pause finishes; nothing new starts
    paused = client.get_workflow(wf_id)
    assert paused.status is WorkflowStatus.PAUSED
    assert paused.task("e1") is None
    client.resume_workflow(wf_id)
    assert client.wait_for_workflow(wf_id, timeout=30).status is WorkflowStatus.COMPLETED

    long_id = client.start_workflow(wf, {"value": 2, "sleep": 1})
    client.terminate_workflow(long_id, "no longer needed")
    ended = client.get_workflow(long_id)
    assert ended.status is WorkflowStatus.TERMINATED
    assert ended.reason_for_incompletion == "no longer needed"
    with pytest.raises(BatonError):
        client.pause_workflow(long_id)


def test_retry_and_restart(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo, steps=2)
    FAIL_SWITCH.set()
    try:
        failed_id = client.start_workflow(wf, {"value": "r", "fail": True})
        failed = client.wait_for_workflow(failed_id, timeout=30)
    finally:
        FAIL_SWITCH.clear()
    assert failed.status is WorkflowStatus.FAILED
    assert failed.failed_reference_task_name == "e0"
    client.retry_workflow(failed_id)
    retried = client.wait_for_workflow(failed_id, timeout=30)
    assert retried.status is WorkflowStatus.COMPLETED
    assert [t.status for t in retried.tasks_by_ref("e0")] == [TaskStatus.FAILED, TaskStatus.COMPLETED]

    client.restart_workflow(failed_id)
    restarted = client.wait_for_workflow(failed_id, timeout=30)
    assert restarted.status is WorkflowStatus.COMPLETED
    assert len(restarted.tasks_by_ref("e0")) == 1  # a fresh run from the beginning

    client.remove_workflow(failed_id)
    with pytest.raises(NotFoundError):
        client.get_workflow(failed_id)


def test_task_reads(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo)
    done = client.execute_workflow(wf, {"value": [1, {"a": None}]}, wait_seconds=20)
    task = done.task("e0")
    assert task is not None
    fetched = client.get_task(task.task_id)
    assert (fetched.status, fetched.output, fetched.workflow_id) == (TaskStatus.COMPLETED, {"echo": [1, {"a": None}]}, done.workflow_id)
    assert fetched.start_time is not None and fetched.end_time is not None
    with pytest.raises(NotFoundError):
        client.get_task("no-such-task")


def test_async_client(server: Any, echo: str, client: BatonClient) -> None:
    wf = echo_workflow(client, echo)

    async def main() -> None:
        async with AsyncBatonClient(server.address) as aclient:
            assert (await aclient.get_workflow_def(wf)).name == wf
            done = await aclient.execute_workflow(wf, {"value": "async"}, wait_seconds=20)
            assert done.output == {"echo": "async"}
            wf_id = await aclient.start_workflow(wf, {"value": 3, "sleep": 1})
            await aclient.terminate_workflow(wf_id, "stop")
            assert (await aclient.get_workflow(wf_id)).status is WorkflowStatus.TERMINATED
            with pytest.raises(NotFoundError):
                await aclient.get_workflow("missing")

    asyncio.run(main())


def test_refused_connection_raises_unavailable_naming_the_address() -> None:
    from baton import UnavailableError

    with BatonClient("127.0.0.1:1", timeout=2) as c:
        with pytest.raises(UnavailableError) as blocking:
            c.get_workflow("x")
    assert blocking.value.code is grpc.StatusCode.UNAVAILABLE
    assert blocking.value.message.startswith("the Baton server at 127.0.0.1:1 is unavailable: ")

    async def main() -> None:
        async with AsyncBatonClient("127.0.0.1:1", timeout=2) as aclient:
            with pytest.raises(UnavailableError) as awaited:
                await aclient.wait_workflow("x", wait_seconds=1)
        assert "127.0.0.1:1" in awaited.value.message

    asyncio.run(main())


def test_a_server_slow_to_answer_the_handshake_is_waited_for(tmp_path: Path) -> None:
    from conftest import BatonServer

    slow = BatonServer(str(tmp_path))
    address = slow.start()
    assert slow.process is not None
    pid = slow.process.pid
    try:
        # Stalled as a busy machine may stall it, while the client connects.
        os.kill(pid, signal.SIGSTOP)
        resume = threading.Timer(0.5, os.kill, (pid, signal.SIGCONT))
        resume.start()
        with BatonClient(address, timeout=10) as c:
            assert c.list_task_defs() == []
        resume.join()
    finally:
        os.kill(pid, signal.SIGCONT)
        slow.stop()


def test_wait_for_workflow_times_out(client: BatonClient, echo: str) -> None:
    wf = echo_workflow(client, echo)
    wf_id = client.start_workflow(wf, {"value": 0, "sleep": 2})
    with pytest.raises(BatonError) as excinfo:
        client.wait_for_workflow(wf_id, timeout=0.2)
    assert excinfo.value.code.name == "DEADLINE_EXCEEDED"
    wait_until(lambda: client.get_workflow(wf_id).is_terminal, timeout=30)
