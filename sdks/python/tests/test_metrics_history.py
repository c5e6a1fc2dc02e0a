"""The server's metrics history (MonitorService.GetMetricsHistory) read through both clients,
against a server of its own so the counts are exactly the workflows this module runs.

The server takes a sample every ten seconds, the first ten seconds after it started; the
tests poll the call until the samples hold what they ran."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from support import simple_task, task_def, unique, wait_until, workflow_def

from baton import (
    AsyncBatonClient,
    BatonClient,
    InvalidArgumentError,
    LatencyQuantiles,
    MetricsHistory,
    MetricsSample,
    TaskRegistry,
    Worker,
    WorkflowStatus,
    worker_task,
)

COUNTS = (
    "workflows_started",
    "workflows_completed",
    "workflows_failed",
    "workflows_terminated",
    "tasks_completed",
    "tasks_failed",
)


def totals(history: MetricsHistory) -> dict[str, int]:
    """Each count summed over the samples, and the latencies measured."""
    summed = {name: sum(getattr(s, name) for s in history.samples) for name in COUNTS}
    summed["queue_wait"] = sum(s.queue_wait.count for s in history.samples)
    summed["run_time"] = sum(s.run_time.count for s in history.samples)
    return summed


def check_quantiles(quantiles: Any) -> None:
    assert isinstance(quantiles, LatencyQuantiles)
    for value in (quantiles.count, quantiles.p50_ms, quantiles.p99_ms, quantiles.max_ms):
        assert isinstance(value, int) and value >= 0
    if quantiles.count == 0:
        assert (quantiles.p50_ms, quantiles.p99_ms, quantiles.max_ms) == (0, 0, 0)
    else:
        assert quantiles.p50_ms <= quantiles.p99_ms <= quantiles.max_ms


def check_history(history: Any) -> None:
    assert isinstance(history, MetricsHistory)
    assert isinstance(history.server_time, datetime.datetime)
    assert history.server_time.utcoffset() == datetime.timedelta(0)
    assert history.sample_every_ms == 10_000
    previous: MetricsSample | None = None
    for sample in history.samples:
        assert isinstance(sample, MetricsSample)
        assert isinstance(sample.at, datetime.datetime) and sample.at.utcoffset() == datetime.timedelta(0)
        assert sample.at <= history.server_time
        assert previous is None or sample.at > previous.at, "samples not oldest first"
        assert sample.interval_ms > 0
        previous = sample
        for name in (*COUNTS, "interval_ms", "queue_depth", "workers"):
            value = getattr(sample, name)
            assert isinstance(value, int) and value >= 0, (name, value)
        check_quantiles(sample.queue_wait)
        check_quantiles(sample.run_time)


def test_the_history_counts_the_workflows_run(server: Any, client: BatonClient) -> None:
    task_type, name = unique("mh_task"), unique("wf_mh")
    client.register_task_defs([task_def(task_type)])
    client.register_workflow_def(workflow_def(name, [simple_task(task_type, "t", {"n": "${workflow.input.n}"})]))
    registry = TaskRegistry()

    @worker_task(task_type, registry=registry)
    def handler(n: int) -> dict[str, Any]:
        if n < 0:
            raise ValueError("negative input")
        return {"n": n}

    with Worker(server=server.address, registry=registry):
        ids = [client.start_workflow(name, {"n": n}) for n in (1, 2, -1)]
        done = [client.wait_for_workflow(i, timeout=30) for i in ids]
        assert [w.status for w in done] == [WorkflowStatus.COMPLETED] * 2 + [WorkflowStatus.FAILED]

        def recorded() -> MetricsHistory | None:
            history = client.get_metrics_history()
            summed = totals(history)
            return history if summed["workflows_completed"] >= 2 and summed["workflows_failed"] >= 1 else None

        # Up to two intervals: the one the workflows ended in may have just begun.
        history = wait_until(recorded, timeout=45, interval=0.5)

    check_history(history)
    assert history.samples, "no sample although workflows were counted"
    assert totals(history) == {
        "workflows_started": 3,
        "workflows_completed": 2,
        "workflows_failed": 1,
        "workflows_terminated": 0,
        "tasks_completed": 2,
        "tasks_failed": 1,
        "queue_wait": 3,
        "run_time": 3,
    }
    # The worker was subscribed when the latest sample was taken; nothing was left queued.
    latest = history.samples[-1]
    assert latest.workers == 1 and latest.queue_depth == 0

    # The last minute is the tail of the hour: at most six samples, none older than a minute.
    minute = client.get_metrics_history(minutes=1)
    check_history(minute)
    assert 1 <= len(minute.samples) <= 6
    assert all(s.at >= minute.server_time - datetime.timedelta(minutes=1) for s in minute.samples)
    whole_hour = client.get_metrics_history(minutes=60)
    assert [s.at for s in whole_hour.samples][-len(minute.samples) :] == [s.at for s in minute.samples]

    async def read_async() -> MetricsHistory:
        async with AsyncBatonClient(server.address) as aclient:
            return await aclient.get_metrics_history()

    later = asyncio.run(read_async())
    check_history(later)
    assert totals(later) == totals(history)
    assert later.samples[: len(history.samples)] == history.samples


@pytest.mark.parametrize("minutes", [-1, 61])
def test_minutes_out_of_range_is_an_invalid_argument(server: Any, client: BatonClient, minutes: int) -> None:
    with pytest.raises(InvalidArgumentError) as blocking:
        client.get_metrics_history(minutes=minutes)
    assert blocking.value.code.name == "INVALID_ARGUMENT"
    assert "minutes" in blocking.value.message, blocking.value.message

    async def read_async() -> None:
        async with AsyncBatonClient(server.address) as aclient:
            await aclient.get_metrics_history(minutes)

    with pytest.raises(InvalidArgumentError) as awaiting:
        asyncio.run(read_async())
    assert "minutes" in awaiting.value.message, awaiting.value.message
