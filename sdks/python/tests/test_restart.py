"""The worker survives server restarts: it reconnects, re-sends unacknowledged results with
their tokens, every workflow completes, and no task runs again after its result was taken."""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest
from conftest import BatonServer
from support import TcpProxy, simple_task, task_def, unique, wait_until, workflow_def

from baton import BatonClient, Task, TaskRegistry, TaskStatus, Worker, WorkerEvent, WorkflowStatus, worker_task


@pytest.fixture
def restartable() -> Iterator[BatonServer]:
    with tempfile.TemporaryDirectory(prefix="baton-pytest-restart-") as data_dir:
        srv = BatonServer(data_dir)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop(signal.SIGKILL)


def test_worker_reconnects_across_restarts_without_rerunning_acknowledged_tasks(
    restartable: BatonServer,
) -> None:
    server = restartable
    step, wf = unique("step"), unique("wf_restart")
    refs = ["a", "b", "c"]
    with BatonClient(server.address) as client:
        # Short leases so that a task whose push was lost in a crash comes back quickly.
        client.register_task_defs(task_def(step, retryCount=3, responseTimeoutSeconds=3))
        client.register_workflow_def(workflow_def(wf, [simple_task(step, r, {"ref": r}) for r in refs]))

    lock = threading.Lock()
    # (workflow id, ref) -> start times of every handler run
    runs: dict[tuple[str, str], list[float]] = defaultdict(list)
    # (workflow id, ref) -> when a COMPLETED result for it was acknowledged
    acked: dict[tuple[str, str], float] = {}
    ref_of_task: dict[str, tuple[str, str]] = {}

    registry = TaskRegistry()

    @worker_task(step, concurrency=8, registry=registry)
    def handler(task: Task) -> dict[str, str]:
        key = (task.workflow_id, task.input["ref"])
        with lock:
            runs[key].append(time.monotonic())
            ref_of_task[task.task_id] = key
        time.sleep(0.03)
        return {"ref": task.input["ref"]}

    def on_event(event: WorkerEvent) -> None:
        if event.kind == "acknowledged" and event.status is TaskStatus.COMPLETED:
            with lock:
                key = ref_of_task[event.task_id]
                acked.setdefault(key, time.monotonic())

    worker = Worker(server=server.address, registry=registry, on_event=on_event, max_backoff=1.0)
    worker.start()
    try:
        with BatonClient(server.address) as client:
            ids = [client.start_workflow(wf) for _ in range(150)]

        def progress() -> int:
            with lock:
                return len(acked)

        def wait_for_progress(count: int) -> None:
            deadline = time.monotonic() + 60
            while progress() < count:
                assert time.monotonic() < deadline, f"stuck at {progress()} acknowledged tasks"
                time.sleep(0.01)

        # Crash the server mid-run, then bring it back on the same port and data.
        wait_for_progress(100)
        server.stop(signal.SIGKILL)
        time.sleep(0.5)
        server.restart()

        # A graceful stop and start later on.
        wait_for_progress(250)
        server.stop(signal.SIGTERM)
        time.sleep(0.3)
        server.restart()

        with BatonClient(server.address) as client:
            finished = [client.wait_for_workflow(i, timeout=60) for i in ids]
    finally:
        worker.stop(grace_period=10)

    assert [w.status for w in finished] == [WorkflowStatus.COMPLETED] * len(ids)
    for w in finished:
        for r in refs:
            assert w.task(r) is not None and w.task(r).status is TaskStatus.COMPLETED  # type: ignore[union-attr]
    with lock:
        rerun_after_ack = {
            key: starts for key, starts in runs.items() if key in acked and any(s > acked[key] for s in starts)
        }
        assert not rerun_after_ack, f"tasks ran again after their result was acknowledged: {rerun_after_ack}"
        assert len(runs) == len(ids) * len(refs)
    stats = worker.stats()
    assert stats.total("reconnects") >= 2
    # No result was lost: each handler run's result was taken, or refused as stale.
    assert stats.total("completed") == stats.total("acknowledged") + stats.total("dropped")


def test_running_tasks_survive_a_broken_stream(server: BatonServer) -> None:
    """The connection drops while handlers run (the server stays up): the worker reconnects,
    keeps the tasks it is running, and each task runs exactly once."""
    slow, wf = unique("cut"), unique("wf_cut")
    with BatonClient(server.address) as client:
        client.register_task_defs(task_def(slow, retryCount=2, responseTimeoutSeconds=30))
        client.register_workflow_def(workflow_def(wf, [simple_task(slow, "cut")]))
    proxy = TcpProxy(server.address)
    registry = TaskRegistry()
    lock = threading.Lock()
    runs: dict[str, int] = defaultdict(int)
    all_started = threading.Event()

    @worker_task(slow, concurrency=4, registry=registry)
    def handler(task: Task) -> dict[str, bool]:
        with lock:
            runs[task.workflow_id] += 1
            if len(runs) == 4:
                all_started.set()
        time.sleep(1.5)
        return {"ok": True}

    worker = Worker(server=proxy.address, registry=registry)
    worker.start()
    try:
        with BatonClient(server.address) as client:
            ids = [client.start_workflow(wf) for _ in range(4)]
            assert all_started.wait(20)
            proxy.cut()  # every handler is mid-run
            finished = [client.wait_for_workflow(i, timeout=30) for i in ids]
    finally:
        worker.stop(grace_period=10)
        proxy.close()
    assert [w.status for w in finished] == [WorkflowStatus.COMPLETED] * 4
    assert all(len(w.tasks) == 1 for w in finished)
    assert dict(runs) == {i: 1 for i in ids}
    stats = worker.stats()
    assert stats.total("reconnects") >= 1
    assert stats.total("acknowledged") == 4 and stats.total("dropped") == 0


def test_a_result_resent_to_a_server_with_a_smaller_message_limit_fails_the_task(
    restartable: BatonServer,
) -> None:
    """A result that fitted the first server's message limit is re-sent after a restart to a
    server that reads smaller messages: the worker reads the new limit, reports the task FAILED
    instead, and its stream stays up."""
    server = restartable
    bulky, wf = unique("resent"), unique("wf_resent")
    with BatonClient(server.address) as client:
        client.register_task_defs(task_def(bulky, retryCount=0))
        client.register_workflow_def(workflow_def(wf, [simple_task(bulky, "r", {"size": "${workflow.input.size}"})]))
    registry = TaskRegistry()
    started = threading.Event()
    release = threading.Event()

    @worker_task(bulky, registry=registry)
    def handler(size: int) -> dict[str, str]:
        started.set()
        assert release.wait(30)
        return {"blob": "x" * size}

    worker = Worker(server=server.address, registry=registry, max_backoff=0.5)
    worker.start()
    try:
        with BatonClient(server.address) as client:
            big = client.start_workflow(wf, {"size": 3_000_000})
        assert started.wait(20)
        server.stop(signal.SIGKILL)
        # The handler returns while the stream is down: ~3 MB fits the 5 MiB the first server read.
        release.set()
        wait_until(lambda: worker.stats().by_task_type[bulky].completed == 1)
        assert worker.stats().by_task_type[bulky].oversized == 0
        server.args = ["--max-payload-bytes", str(1024 * 1024)]  # it reads at most 2 MiB now
        server.restart()
        with BatonClient(server.address) as client:
            failed = client.wait_for_workflow(big, timeout=30)
            reconnects = worker.stats().by_task_type[bulky].reconnects
            later = client.wait_for_workflow(client.start_workflow(wf, {"size": 10}), timeout=30)
        wait_until(lambda: worker.stats().by_task_type[bulky].acknowledged == 2)
        stats = worker.stats().by_task_type[bulky]
    finally:
        worker.stop(grace_period=10)
    assert failed.status is WorkflowStatus.FAILED
    (attempt,) = failed.tasks_by_ref("r")
    assert attempt.status is TaskStatus.FAILED and attempt.output == {}
    assert attempt.reason_for_incompletion.endswith("bytes, more than the 2097152 bytes the server reads in one message")
    assert later.status is WorkflowStatus.COMPLETED
    assert reconnects >= 1 and stats.reconnects == reconnects  # no reconnect after the restart's
    assert (stats.oversized, stats.dropped) == (1, 0)
