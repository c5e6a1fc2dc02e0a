"""Workers against the real server: outcomes, retries, timeouts, leases, callbacks, logs,
concurrency, domains, pause/resume and graceful shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import BatonServer
from support import simple_task, task_def, unique, wait_until, workflow_def

from baton import (
    AsyncBatonClient,
    AsyncWorker,
    BatonClient,
    Task,
    TaskRegistry,
    TaskResult,
    TaskStatus,
    TerminalError,
    Worker,
    WorkflowStatus,
    worker_task,
)


@dataclasses.dataclass
class Order:
    order_id: str
    amount: float


@dataclasses.dataclass
class Priced:
    order_id: str
    total: float


def register(client: BatonClient, name: str, task_defs: list[dict[str, Any]], tasks: list[dict[str, Any]],
             output: dict[str, Any] | None = None) -> None:
    if task_defs:
        client.register_task_defs(task_defs)
    client.register_workflow_def(workflow_def(name, tasks, output))


def test_handlers_complete_with_mapped_output(server: Any, client: BatonClient) -> None:
    price, label = unique("price"), unique("label")
    wf = unique("wf_orders")
    register(
        client,
        wf,
        [task_def(price), task_def(label)],
        [
            simple_task(price, "price", {"order_id": "${workflow.input.order_id}", "amount": "${workflow.input.amount}"}),
            simple_task(label, "label", {"order_id": "${price.output.order_id}", "total": "${price.output.total}"}),
        ],
        {"total": "${price.output.total}", "label": "${label.output.result}"},
    )
    registry = TaskRegistry()

    @worker_task(price, concurrency=4, registry=registry)
    def price_order(order: Order) -> Priced:
        return Priced(order.order_id, round(order.amount * 1.25, 2))

    @worker_task(label, registry=registry)
    def make_label(order_id: str, total: float) -> str:
        return f"{order_id}: {total:.2f}"

    with Worker(server=server.address, registry=registry) as worker:
        ids = [client.start_workflow(wf, {"order_id": f"o{i}", "amount": 10 + i}) for i in range(20)]
        done = [client.wait_for_workflow(i, timeout=30) for i in ids]
    for i, w in enumerate(done):
        assert w.status is WorkflowStatus.COMPLETED, w.reason_for_incompletion
        total = round((10 + i) * 1.25, 2)
        assert w.output == {"total": total, "label": f"o{i}: {total:.2f}"}
        assert w.task("price") is not None and w.task("price").output == {"order_id": f"o{i}", "total": total}  # type: ignore[union-attr]
    stats = worker.stats()
    assert stats.total("completed") == 40
    assert stats.total("acknowledged") == 40


def test_failure_is_retried_then_completes(server: Any, client: BatonClient) -> None:
    flaky, wf = unique("flaky"), unique("wf_flaky")
    register(client, wf, [task_def(flaky, retryCount=2)], [simple_task(flaky, "flaky")],
             {"attempt": "${flaky.output.attempt}"})
    registry = TaskRegistry()

    @worker_task(flaky, registry=registry)
    def handler(task: Task) -> dict[str, Any]:
        if task.retry_count < 2:
            task.log(f"attempt {task.retry_count} will fail")
            raise ValueError(f"attempt {task.retry_count} failed")
        return {"attempt": task.retry_count}

    with Worker(server=server.address, registry=registry):
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
    assert w.status is WorkflowStatus.COMPLETED
    assert w.output == {"attempt": 2}
    attempts = w.tasks_by_ref("flaky")
    assert [t.status for t in attempts] == [TaskStatus.FAILED, TaskStatus.FAILED, TaskStatus.COMPLETED]
    assert attempts[0].reason_for_incompletion == "ValueError: attempt 0 failed"
    assert attempts[1].retried_task_id == attempts[0].task_id
    logs = [line.message for line in client.get_task_logs(attempts[0].task_id)]
    assert logs[0] == "attempt 0 will fail"
    assert "Traceback" in logs[1] and "ValueError: attempt 0 failed" in logs[1]


def test_terminal_error_fails_workflow_without_retry(server: Any, client: BatonClient) -> None:
    charge, wf = unique("charge"), unique("wf_charge")
    register(client, wf, [task_def(charge, retryCount=3)], [simple_task(charge, "charge")])
    registry = TaskRegistry()
    runs: list[str] = []

    @worker_task(charge, registry=registry)
    def handler(task: Task) -> None:
        runs.append(task.task_id)
        raise TerminalError("card declined", output={"code": 51})

    with Worker(server=server.address, registry=registry):
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
        time.sleep(0.3)  # a retry, if one were wrongly scheduled, would reach the worker now
    assert w.status is WorkflowStatus.FAILED
    (attempt,) = w.tasks_by_ref("charge")
    assert attempt.status is TaskStatus.FAILED_WITH_TERMINAL_ERROR
    assert attempt.reason_for_incompletion == "card declined"
    assert attempt.output == {"code": 51}
    assert len(runs) == 1


def test_exhausted_retries_fail_workflow(server: Any, client: BatonClient) -> None:
    broken, wf = unique("broken"), unique("wf_broken")
    register(client, wf, [task_def(broken, retryCount=1)], [simple_task(broken, "broken")])
    registry = TaskRegistry()

    @worker_task(broken, registry=registry)
    def handler() -> None:
        raise RuntimeError("always")

    with Worker(server=server.address, registry=registry):
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
    assert w.status is WorkflowStatus.FAILED
    assert [t.status for t in w.tasks_by_ref("broken")] == [TaskStatus.FAILED, TaskStatus.FAILED]


def test_timed_out_task_is_retried_and_completes(server: Any, client: BatonClient) -> None:
    slow, wf = unique("stall"), unique("wf_stall")
    register(client, wf, [task_def(slow, retryCount=1, responseTimeoutSeconds=1)], [simple_task(slow, "stall")],
             {"attempt": "${stall.output.attempt}"})
    registry = TaskRegistry()
    release = threading.Event()

    # No lease extension: the first attempt stalls past its 1 s lease and times out.
    @worker_task(slow, concurrency=2, lease_extension=False, registry=registry)
    def handler(task: Task) -> dict[str, Any]:
        if task.retry_count == 0:
            release.wait(10)
        return {"attempt": task.retry_count}

    with Worker(server=server.address, registry=registry) as worker:
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
        release.set()
        # The stalled attempt's late result is refused and dropped by the worker.
        wait_until(lambda: worker.stats().total("dropped") == 1, timeout=10)
    assert w.status is WorkflowStatus.COMPLETED
    assert w.output == {"attempt": 1}
    first, second = w.tasks_by_ref("stall")
    assert first.status is TaskStatus.TIMED_OUT
    assert second.status is TaskStatus.COMPLETED


def test_lease_is_extended_for_long_tasks(server: Any, client: BatonClient) -> None:
    long, wf = unique("long"), unique("wf_long")
    register(client, wf, [task_def(long, retryCount=0, responseTimeoutSeconds=1)], [simple_task(long, "long")])
    registry = TaskRegistry()

    @worker_task(long, registry=registry)
    def handler(task: Task) -> dict[str, Any]:
        time.sleep(2.6)  # over two lease lengths
        return {"lease_lost": task.lease_lost}

    with Worker(server=server.address, registry=registry):
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
    assert w.status is WorkflowStatus.COMPLETED, w.reason_for_incompletion
    (only,) = w.tasks_by_ref("long")
    assert only.output == {"lease_lost": False}


def test_in_progress_with_callback(server: Any, client: BatonClient) -> None:
    poll, wf = unique("poller"), unique("wf_poller")
    register(client, wf, [task_def(poll)], [simple_task(poll, "poller")])
    registry = TaskRegistry()
    seen: list[tuple[str, int]] = []

    outputs_seen: list[dict[str, Any]] = []

    @worker_task(poll, registry=registry)
    def handler(task: Task) -> TaskResult | dict[str, Any]:
        seen.append((task.task_id, task.poll_count))
        outputs_seen.append(dict(task.output))
        if len(seen) == 1:
            return TaskResult.in_progress({"checked": 1}, callback_after_seconds=1)
        return {"done": True, "checks": task.output["checked"] + 1}

    with Worker(server=server.address, registry=registry):
        start = time.monotonic()
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
        elapsed = time.monotonic() - start
    assert w.status is WorkflowStatus.COMPLETED
    assert len(seen) == 2 and seen[0][0] == seen[1][0]
    assert seen[1][1] > seen[0][1]
    assert elapsed >= 0.9  # the callback delay was honoured
    # The second run saw what the first one reported.
    assert outputs_seen == [{}, {"checked": 1}]
    (only,) = w.tasks_by_ref("poller")
    assert only.output["done"] is True and only.output["checks"] == 2


def test_logs_are_kept_with_the_task(server: Any, client: BatonClient) -> None:
    chatty, wf = unique("chatty"), unique("wf_chatty")
    register(client, wf, [task_def(chatty)], [simple_task(chatty, "chatty")])
    registry = TaskRegistry()

    @worker_task(chatty, registry=registry)
    def handler(task: Task) -> TaskResult:
        task.log("starting")
        task.log("halfway")
        return TaskResult(TaskStatus.COMPLETED, {"ok": True}, logs=["finished"])

    with Worker(server=server.address, registry=registry):
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
    task = w.task("chatty")
    assert task is not None
    logs = client.get_task_logs(task.task_id)
    assert [line.message for line in logs] == ["starting", "halfway", "finished"]
    assert all(line.time is not None for line in logs)


def test_concurrency_limit_is_respected(server: Any, client: BatonClient) -> None:
    limited, wf = unique("limited"), unique("wf_limited")
    register(client, wf, [task_def(limited)], [simple_task(limited, "limited")])
    registry = TaskRegistry()
    lock = threading.Lock()
    running = 0
    peak = 0

    @worker_task(limited, concurrency=3, registry=registry)
    def handler() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    ids = [client.start_workflow(wf) for _ in range(24)]
    with Worker(server=server.address, registry=registry):
        for i in ids:
            assert client.wait_for_workflow(i, timeout=30).status is WorkflowStatus.COMPLETED
    assert 1 <= peak <= 3


def test_domain_routing(server: Any, client: BatonClient) -> None:
    routed, wf = unique("routed"), unique("wf_routed")
    register(client, wf, [task_def(routed)], [simple_task(routed, "routed")])
    blue, default = TaskRegistry(), TaskRegistry()

    @worker_task(routed, domain="blue", registry=blue)
    def in_blue() -> dict[str, str]:
        return {"by": "blue"}

    @worker_task(routed, registry=default)
    def in_default() -> dict[str, str]:
        return {"by": "default"}

    with Worker(server=server.address, registry=blue), Worker(server=server.address, registry=default):
        w_blue = client.wait_for_workflow(client.start_workflow(wf, task_to_domain={routed: "blue"}), timeout=30)
        w_default = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
    assert w_blue.task("routed").output == {"by": "blue"}  # type: ignore[union-attr]
    assert w_blue.task("routed").domain == "blue"  # type: ignore[union-attr]
    assert w_default.task("routed").output == {"by": "default"}  # type: ignore[union-attr]


def test_pause_and_resume(server: Any, client: BatonClient) -> None:
    gated, wf = unique("gated"), unique("wf_gated")
    register(client, wf, [task_def(gated)], [simple_task(gated, "gated")])
    registry = TaskRegistry()

    @worker_task(gated, registry=registry)
    def handler() -> dict[str, bool]:
        return {"ran": True}

    with Worker(server=server.address, registry=registry) as worker:
        assert client.wait_for_workflow(client.start_workflow(wf), timeout=30).status is WorkflowStatus.COMPLETED
        worker.pause()
        time.sleep(0.3)
        paused_id = client.start_workflow(wf)
        time.sleep(1.0)
        waiting = client.get_workflow(paused_id)
        assert waiting.status is WorkflowStatus.RUNNING
        assert waiting.task("gated").status is TaskStatus.SCHEDULED  # type: ignore[union-attr]
        worker.resume()
        assert client.wait_for_workflow(paused_id, timeout=30).status is WorkflowStatus.COMPLETED


def test_graceful_shutdown_finishes_running_tasks(server: Any, client: BatonClient) -> None:
    slow, wf = unique("slow"), unique("wf_slow")
    register(client, wf, [task_def(slow)], [simple_task(slow, "slow")])
    registry = TaskRegistry()
    started = threading.Event()

    @worker_task(slow, registry=registry)
    def handler() -> dict[str, bool]:
        started.set()
        time.sleep(1.0)
        return {"finished": True}

    worker = Worker(server=server.address, registry=registry)
    worker.start()
    wf_id = client.start_workflow(wf)
    assert started.wait(10)
    worker.stop(grace_period=10)
    # The result went out before stop() returned.
    w = client.get_workflow(wf_id)
    assert w.task("slow").status is TaskStatus.COMPLETED  # type: ignore[union-attr]
    assert client.wait_for_workflow(wf_id, timeout=10).status is WorkflowStatus.COMPLETED


def test_stop_takes_no_new_task_and_lets_the_running_one_finish(server: Any, client: BatonClient) -> None:
    slow, wf = unique("draining"), unique("wf_draining")
    register(client, wf, [task_def(slow)], [simple_task(slow, "slow")])
    registry = TaskRegistry()
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    @worker_task(slow, concurrency=4, registry=registry)
    def handler(task: Task) -> dict[str, bool]:
        ran.append(task.workflow_id)
        started.set()
        assert release.wait(30)
        return {"finished": True}

    drain_started = threading.Event()

    class OnDrain(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "event", None) == "drain_started":
                drain_started.set()

    watcher = OnDrain()
    baton_log = logging.getLogger("baton.worker")
    baton_log.addHandler(watcher)
    level = baton_log.level
    baton_log.setLevel(logging.INFO)
    try:
        worker = Worker(server=server.address, registry=registry)
        worker.start()
        first = client.start_workflow(wf)
        assert started.wait(10)
        stopper = threading.Thread(target=worker.stop, kwargs={"grace_period": 30})
        stopper.start()
        assert drain_started.wait(10)
        # Started while the worker drains (it still has free slots): not taken.
        second = client.start_workflow(wf)
        assert client.get_workflow(second).task("slow") is not None
        release.set()
        stopper.join(30)
        assert not stopper.is_alive()
    finally:
        baton_log.removeHandler(watcher)
        baton_log.setLevel(level)
    assert ran == [first]
    assert client.wait_for_workflow(first, timeout=10).status is WorkflowStatus.COMPLETED
    assert worker.stats().by_task_type[slow].acknowledged == 1
    # The second task waits for another worker, which runs it.
    assert client.get_workflow(second).status is WorkflowStatus.RUNNING
    release.set()
    with Worker(server=server.address, registry=registry):
        assert client.wait_for_workflow(second, timeout=30).status is WorkflowStatus.COMPLETED
    assert ran == [first, second]


def test_async_worker_runs_coroutines_concurrently(server: Any, client: BatonClient) -> None:
    fetch, sync_step, wf = unique("fetch"), unique("sync_step"), unique("wf_async")
    register(
        client,
        wf,
        [task_def(fetch), task_def(sync_step)],
        [simple_task(fetch, "fetch", {"n": "${workflow.input.n}"}), simple_task(sync_step, "double", {"v": "${fetch.output.v}"})],
        {"v": "${double.output.v}"},
    )
    registry = TaskRegistry()
    active = 0
    peak = 0

    @worker_task(fetch, concurrency=50, registry=registry)
    async def fetch_handler(n: int) -> dict[str, int]:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.2)
        active -= 1
        return {"v": n + 1}

    @worker_task(sync_step, registry=registry)
    def double(v: int) -> dict[str, int]:
        return {"v": v * 2}

    async def main() -> list[Any]:
        async with AsyncBatonClient(server.address) as aclient:
            async with AsyncWorker(server=server.address, registry=registry) as worker:
                ids = await asyncio.gather(*(aclient.start_workflow(wf, {"n": i}) for i in range(40)))
                done = await asyncio.gather(*(aclient.wait_for_workflow(i, timeout=30) for i in ids))
                assert worker.stats().by_task_type[fetch].completed == 40
                return list(done)

    done = asyncio.run(main())
    assert [w.output for w in done] == [{"v": (i + 1) * 2} for i in range(40)]
    assert peak > 1


def test_env_overrides_concurrency_and_domain(server: Any, client: BatonClient, monkeypatch: Any) -> None:
    envy, wf = unique("envy"), unique("wf_envy")
    register(client, wf, [task_def(envy)], [simple_task(envy, "envy")])
    registry = TaskRegistry()

    @worker_task(envy, concurrency=1, registry=registry)
    def handler(task: Task) -> dict[str, str]:
        return {"domain": task.domain, "worker": task.worker_id}

    monkeypatch.setenv(f"BATON_WORKER_{envy.upper()}_DOMAIN", "green")
    monkeypatch.setenv(f"BATON_WORKER_{envy.upper()}_CONCURRENCY", "5")
    monkeypatch.setenv("BATON_WORKER_ID", "env-worker")
    with Worker(server=server.address, registry=registry) as worker:
        (resolved,) = worker.tasks
        assert (resolved.concurrency, resolved.domain, resolved.worker_id) == (5, "green", "env-worker")
        w = client.wait_for_workflow(client.start_workflow(wf, task_to_domain={envy: "green"}), timeout=30)
    assert w.task("envy").output == {"domain": "green", "worker": "env-worker"}  # type: ignore[union-attr]
    assert w.task("envy").worker_id == "env-worker"  # type: ignore[union-attr]


def test_env_configures_each_task_type_on_its_own(server: Any, client: BatonClient, monkeypatch: Any) -> None:
    quick, held = unique("quick"), unique("held.v2")
    wf_quick, wf_held = unique("wf_quick"), unique("wf_held")
    register(client, wf_quick, [task_def(quick)], [simple_task(quick, "quick")])
    register(client, wf_held, [task_def(held)], [simple_task(held, "held")])
    registry = TaskRegistry()

    @worker_task(quick, concurrency=2, registry=registry)
    def run_quick() -> dict[str, bool]:
        return {"ran": True}

    @worker_task(held, concurrency=2, registry=registry)
    def run_held() -> dict[str, bool]:
        return {"ran": True}

    held_key = held.upper().replace(".", "_")
    monkeypatch.setenv(f"BATON_WORKER_{held_key}_PAUSED", "true")
    monkeypatch.setenv(f"BATON_WORKER_{held_key}_LEASE_EXTENSION", "false")
    monkeypatch.setenv(f"BATON_WORKER_{quick.upper()}_CONCURRENCY", "6")
    with Worker(server=server.address, registry=registry) as worker:
        settings = {t.spec.task_type: (t.concurrency, t.paused, t.lease_extension) for t in worker.tasks}
        assert settings == {quick: (6, False, True), held: (2, True, False)}
        held_id = client.start_workflow(wf_held)
        assert client.wait_for_workflow(client.start_workflow(wf_quick), timeout=30).status is WorkflowStatus.COMPLETED
        waiting = client.get_workflow(held_id)
        assert waiting.status is WorkflowStatus.RUNNING
        assert waiting.task("held").status is TaskStatus.SCHEDULED  # type: ignore[union-attr]
        worker.resume(held)
        assert client.wait_for_workflow(held_id, timeout=30).status is WorkflowStatus.COMPLETED


def test_many_workflows_each_task_runs_once(server: Any, client: BatonClient) -> None:
    step, wf = unique("step"), unique("wf_steps")
    register(client, wf, [task_def(step)], [simple_task(step, f"s{i}", {"i": i}) for i in range(3)])
    registry = TaskRegistry()
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    @worker_task(step, concurrency=16, registry=registry)
    def handler(task: Task) -> dict[str, int]:
        with lock:
            runs[task.task_id] += 1
        return {"i": task.input["i"]}

    with Worker(server=server.address, registry=registry):
        ids = [client.start_workflow(wf) for _ in range(100)]
        for i in ids:
            assert client.wait_for_workflow(i, timeout=60).status is WorkflowStatus.COMPLETED
    assert len(runs) == 300
    assert set(runs.values()) == {1}


def test_oversized_output_becomes_a_failure(server: Any, client: BatonClient) -> None:
    big, wf = unique("big"), unique("wf_big")
    register(client, wf, [task_def(big)], [simple_task(big, "big")])
    registry = TaskRegistry()

    @worker_task(big, registry=registry)
    def handler() -> dict[str, str]:
        return {"blob": "x" * (4 * 1024 * 1024 + 10)}  # over the server's 4 MiB payload limit

    with Worker(server=server.address, registry=registry):
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
    assert w.status is WorkflowStatus.FAILED
    (attempt,) = w.tasks_by_ref("big")
    assert attempt.status is TaskStatus.FAILED
    assert attempt.reason_for_incompletion.startswith("the server refused the task result: INVALID_ARGUMENT")


def test_batched_stream_completes_many_workflows_and_acknowledges_every_result(
    server: Any, client: BatonClient
) -> None:
    echo, wf = unique("batched"), unique("wf_batched")
    register(client, wf, [task_def(echo)], [simple_task(echo, "echo", {"i": "${workflow.input.i}"})],
             {"i": "${echo.output.i}"})
    registry = TaskRegistry()

    @worker_task(echo, concurrency=64, registry=registry)
    async def handler(i: int) -> dict[str, int]:
        return {"i": i}

    count = 400
    # Queued before the worker connects, so the server has many tasks waiting at each write.
    ids = [client.start_workflow(wf, {"i": i}) for i in range(count)]
    with Worker(server=server.address, registry=registry, batch=True) as worker:
        assert worker.batch
        done = [client.wait_for_workflow(i, timeout=60) for i in ids]
        stats = worker.stats().by_task_type[echo]
        wait_until(lambda: worker.stats().by_task_type[echo].acknowledged == count)
    assert [w.output for w in done] == [{"i": i} for i in range(count)]
    assert (stats.received, stats.completed, stats.dropped) == (count, count, 0)
    assert stats.task_batches > 0 and stats.ack_batches > 0 and stats.result_batches > 0
    assert worker.stats().by_task_type[echo].acknowledged == count


def test_batching_can_be_turned_off(server: Any, client: BatonClient, monkeypatch: Any) -> None:
    single, wf = unique("single"), unique("wf_single")
    register(client, wf, [task_def(single)], [simple_task(single, "single")])
    registry = TaskRegistry()

    @worker_task(single, concurrency=32, registry=registry)
    async def handler() -> dict[str, bool]:
        return {"ok": True}

    monkeypatch.setenv("BATON_WORKER_BATCH", "false")
    ids = [client.start_workflow(wf) for _ in range(100)]
    with Worker(server=server.address, registry=registry) as worker:
        assert not worker.batch
        for i in ids:
            assert client.wait_for_workflow(i, timeout=60).status is WorkflowStatus.COMPLETED
        wait_until(lambda: worker.stats().by_task_type[single].acknowledged == 100)
        stats = worker.stats().by_task_type[single]
    assert (stats.task_batches, stats.ack_batches, stats.result_batches) == (0, 0, 0)


def test_large_results_finished_together_stay_within_the_message_limit(
    server: Any, client: BatonClient
) -> None:
    bulky, wf = unique("bulky"), unique("wf_bulky")
    register(client, wf, [task_def(bulky)], [simple_task(bulky, "bulky")])
    registry = TaskRegistry()
    count = 8
    together = threading.Barrier(count, timeout=30)

    @worker_task(bulky, concurrency=count, registry=registry)
    def handler() -> dict[str, str]:
        together.wait()  # all finish at once: their results are queued at the same moment
        return {"blob": "x" * 900_000}  # 8 of them exceed the server's 5 MiB message limit

    ids = [client.start_workflow(wf) for _ in range(count)]
    with Worker(server=server.address, registry=registry, batch=True) as worker:
        done = [client.wait_for_workflow(i, timeout=60) for i in ids]
        wait_until(lambda: worker.stats().by_task_type[bulky].acknowledged == count)
        stats = worker.stats().by_task_type[bulky]
    assert [w.status for w in done] == [WorkflowStatus.COMPLETED] * count
    assert (stats.dropped, stats.reconnects) == (0, 0)


@pytest.fixture(scope="module")
def small_server() -> Iterator[BatonServer]:
    """A server with a 1 MiB payload limit, so it reads messages of at most 2 MiB."""
    with tempfile.TemporaryDirectory(prefix="baton-pytest-small-") as data_dir:
        srv = BatonServer(data_dir, ["--max-payload-bytes", str(1024 * 1024)])
        srv.start()
        try:
            yield srv
        finally:
            srv.stop(signal.SIGKILL)


TOO_LARGE = re.compile(r"the task result is (\d+) bytes, more than the (\d+) bytes the server reads in one message")


def test_result_larger_than_a_message_fails_the_task_and_keeps_the_stream(
    small_server: BatonServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="baton.worker")
    huge, wf = unique("huge"), unique("wf_huge")
    registry = TaskRegistry()
    count = 3
    together = threading.Barrier(count, timeout=30)

    @worker_task(huge, concurrency=count, registry=registry)
    def handler(task: Task, size: int, wait: bool) -> dict[str, str]:
        task.log("returning the output")
        if wait:
            together.wait()  # the results are queued at the same moment: one message may carry several
        return {"blob": "x" * size}

    with BatonClient(small_server.address) as client:
        register(
            client,
            wf,
            [task_def(huge, retryCount=0)],
            [simple_task(huge, "huge", {"size": "${workflow.input.size}", "wait": "${workflow.input.wait}"})],
        )
        # ~3 MB: within what the worker sends, over the 2 MiB the server reads in one message.
        big = client.start_workflow(wf, {"size": 3_000_000, "wait": True})
        fine = [client.start_workflow(wf, {"size": 100_000, "wait": True}) for _ in range(count - 1)]
        with Worker(server=small_server.address, registry=registry) as worker:
            failed = client.wait_for_workflow(big, timeout=20)
            done = [client.wait_for_workflow(i, timeout=20) for i in fine]
            # The same worker, on the same stream, goes on taking tasks.
            later = client.wait_for_workflow(client.start_workflow(wf, {"size": 10, "wait": False}), timeout=20)
            wait_until(lambda: worker.stats().by_task_type[huge].acknowledged == count + 1)
            stats = worker.stats().by_task_type[huge]
        (attempt,) = failed.tasks_by_ref("huge")
        assert client.get_task_logs(attempt.task_id) == []  # the logs went with the output
    assert failed.status is WorkflowStatus.FAILED
    assert attempt.status is TaskStatus.FAILED
    assert attempt.output == {}
    match = TOO_LARGE.fullmatch(attempt.reason_for_incompletion)
    assert match is not None, attempt.reason_for_incompletion
    size, limit = int(match.group(1)), int(match.group(2))
    assert size > 3_000_000 and limit == 2 * 1024 * 1024
    assert [w.status for w in done] == [WorkflowStatus.COMPLETED] * (count - 1)
    assert later.status is WorkflowStatus.COMPLETED
    assert (stats.reconnects, stats.oversized, stats.dropped) == (0, 1, 0)
    assert (stats.completed, stats.failed) == (count, 1)

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "result_too_large"]
    assert record.levelno == logging.ERROR
    assert (record.task_id, record.workflow_id) == (attempt.task_id, big)  # type: ignore[attr-defined]
    assert (record.size_bytes, record.limit_bytes) == (size, limit)  # type: ignore[attr-defined]
