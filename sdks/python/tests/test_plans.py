"""The one description of each call and the two runners, without a server."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import grpc
import pytest

from baton import AsyncBatonClient, BatonClient, LatencyQuantiles, MetricsSample, NotFoundError
from baton._operations import (
    Plan,
    Rpc,
    Sleep,
    get_metrics_history,
    rerun_workflow,
    skip_task,
    update_task_by_ref,
    wait_for_workflow,
)
from baton._struct import message_to_dict
from baton.client import _awaiting, _blocking
from baton.v1 import common_pb2, monitor_pb2, task_pb2, workflow_pb2


def steps_of(plan: Plan[Any], answers: list[Any]) -> tuple[list[Any], Any]:
    """Drives a plan by hand: the steps it yields, answered in turn, and its result."""
    seen = []
    try:
        step = next(plan)
        while True:
            seen.append(step)
            step = plan.send(answers.pop(0) if isinstance(step, Rpc) else None)
    except StopIteration as done:
        return seen, done.value


class Settings:
    timeout = 5.0


def test_plans_build_requests() -> None:
    steps, _ = steps_of(rerun_workflow(Settings(), "wf", "t1", task_input={}), [None])
    request = steps[0].request
    assert (steps[0].service, steps[0].method) == ("workflows", "RerunWorkflow")
    # An empty task input is sent; an absent workflow input is left out (keeps the execution's).
    assert request.HasField("task_input") and not request.HasField("workflow_input")

    plan = skip_task(Settings(), "wf", "ref", task_output={"a": 1})
    steps, skipped = steps_of(plan, [workflow_pb2.SkipTaskResponse()])
    assert steps[0].request.task_output["a"] == 1
    assert skipped is False

    steps, task_id = steps_of(
        update_task_by_ref(Settings(), "wf", "ref", "COMPLETED", {"x": 1}, logs=["one"]),
        [task_pb2.UpdateTaskByRefResponse(task_id="t9")],
    )
    request = steps[0].request
    assert request.status == common_pb2.TASK_STATUS_COMPLETED and [log.message for log in request.logs] == ["one"]
    assert task_id == "t9"
    with pytest.raises(ValueError):
        next(update_task_by_ref(Settings(), "wf", "ref", "DONE"))


def fake_plan(self: Any, first: int, *, second: int = 0) -> Plan[list[Any]]:
    """A plan of a call, a sleep and a call that may fail."""
    answers = [(yield Rpc("tasks", "One", first))]
    yield Sleep(0)
    try:
        answers.append((yield Rpc("tasks", "Two", second)))
    except NotFoundError:
        answers.append("not found")
    return answers


class FakeBlocking(BatonClient):
    run = _blocking(fake_plan)

    def _rpc(self, step: Rpc) -> Any:
        if step.request < 0:
            raise NotFoundError("no such thing", grpc.StatusCode.NOT_FOUND)
        return (step.method, step.request)


class FakeAsync(AsyncBatonClient):
    run = _awaiting(fake_plan)

    async def _rpc(self, step: Rpc) -> Any:
        if step.request < 0:
            raise NotFoundError("no such thing", grpc.StatusCode.NOT_FOUND)
        return (step.method, step.request)


def test_both_runners_run_the_same_plan() -> None:
    expected = [("One", 1), ("Two", 2)]
    client = FakeBlocking("127.0.0.1:1")
    try:
        assert client.run(1, second=2) == expected
        # An error is raised inside the plan, which may handle it...
        assert client.run(1, second=-1) == [("One", 1), "not found"]
        # ...or not, and then it reaches the caller.
        with pytest.raises(NotFoundError):
            client.run(-1)
    finally:
        client.close()
    assert FakeBlocking.run.__doc__ == fake_plan.__doc__

    async def run_async() -> None:
        client = FakeAsync("127.0.0.1:1")
        try:
            assert await client.run(1, second=2) == expected
            assert await client.run(1, second=-1) == [("One", 1), "not found"]
            with pytest.raises(NotFoundError):
                await client.run(-1)
        finally:
            await client.close()

    asyncio.run(run_async())


def test_wait_for_workflow_sleeps_between_reads() -> None:
    running = common_pb2.Workflow(workflow_id="wf", status=common_pb2.WORKFLOW_STATUS_RUNNING)
    done = common_pb2.Workflow(workflow_id="wf", status=common_pb2.WORKFLOW_STATUS_COMPLETED)

    class Answer:
        def __init__(self, workflow: common_pb2.Workflow) -> None:
            self.workflow = workflow

    steps, workflow = steps_of(wait_for_workflow(Settings(), "wf", poll_interval=0.5), [Answer(running), Answer(done)])
    assert [type(s).__name__ for s in steps] == ["Rpc", "Sleep", "Rpc"]
    assert steps[1].seconds == 0.5 and workflow.is_terminal


def test_message_to_dict() -> None:
    overview = monitor_pb2.GetOverviewResponse(workflows_started=3)
    overview.server_time.FromSeconds(0)
    overview.recent_failures.add(workflow_id="wf", status=common_pb2.WORKFLOW_STATUS_TERMINATED)
    overview.workers.add(kind=task_pb2.WORKER_KIND_POLL, task_types=["a"])
    result = message_to_dict(overview)
    assert result["workflows_started"] == 3 and result["start_time"] is None
    assert result["server_time"] == datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    assert result["recent_failures"][0]["status"] == "TERMINATED"
    assert result["workers"][0]["kind"] == "POLL" and result["workers"][0]["task_types"] == ["a"]

    summary = task_pb2.TaskSummary(task_id="t", status=common_pb2.TASK_STATUS_SKIPPED)
    summary.input.update({"n": 1})
    converted = message_to_dict(summary)
    assert converted["status"] == "SKIPPED" and converted["input"] == {"n": 1}
    assert converted["correlation_id"] is None and converted["domain"] is None


def test_metrics_history_becomes_dataclasses() -> None:
    response = monitor_pb2.GetMetricsHistoryResponse(sample_every_ms=10_000)
    response.server_time.FromSeconds(30)
    first = response.samples.add(interval_ms=10_004, workflows_started=3, workflows_completed=2, queue_depth=4)
    first.at.FromSeconds(10)
    first.queue_wait.CopyFrom(monitor_pb2.LatencyQuantiles(count=3, p50_ms=1, p99_ms=7, max_ms=9))
    second = response.samples.add(interval_ms=10_000, workflows_failed=1, tasks_failed=2, workers=5)
    second.at.FromSeconds(20)
    second.run_time.CopyFrom(monitor_pb2.LatencyQuantiles(count=2, p50_ms=40, p99_ms=41, max_ms=41))

    steps, history = steps_of(get_metrics_history(Settings(), minutes=5), [response])
    assert (steps[0].service, steps[0].method, steps[0].request.minutes) == ("monitor", "GetMetricsHistory", 5)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    assert history.server_time == epoch + datetime.timedelta(seconds=30)
    assert history.sample_every_ms == 10_000
    assert history.samples == [
        MetricsSample(
            at=epoch + datetime.timedelta(seconds=10),
            interval_ms=10_004,
            workflows_started=3,
            workflows_completed=2,
            workflows_failed=0,
            workflows_terminated=0,
            tasks_completed=0,
            tasks_failed=0,
            queue_wait=LatencyQuantiles(count=3, p50_ms=1, p99_ms=7, max_ms=9),
            run_time=LatencyQuantiles(),
            queue_depth=4,
            workers=0,
        ),
        MetricsSample(
            at=epoch + datetime.timedelta(seconds=20),
            interval_ms=10_000,
            workflows_started=0,
            workflows_completed=0,
            workflows_failed=1,
            workflows_terminated=0,
            tasks_completed=0,
            tasks_failed=2,
            queue_wait=LatencyQuantiles(),
            run_time=LatencyQuantiles(count=2, p50_ms=40, p99_ms=41, max_ms=41),
            queue_depth=0,
            workers=5,
        ),
    ]
    # The default asks for the whole hour.
    steps, empty = steps_of(get_metrics_history(Settings()), [monitor_pb2.GetMetricsHistoryResponse()])
    assert steps[0].request.minutes == 0 and empty.samples == []


def test_methods_show_the_callers_signature() -> None:
    import inspect

    for cls in (BatonClient, AsyncBatonClient):
        signature = inspect.signature(cls.skip_task)
        assert list(signature.parameters)[:3] == ["self", "workflow_id", "task_ref_name"]
        assert signature.parameters["self"].annotation is inspect.Parameter.empty
        assert signature.return_annotation == "bool"
