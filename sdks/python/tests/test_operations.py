"""The client calls beyond definitions and starts, against the real server: event handlers,
signalling WAIT and HUMAN tasks, skip, rerun, bulk operations, polling, search, queues,
workers, retention and the overview; in the blocking and in the asyncio client."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from support import simple_task, task_def, unique, wait_until, workflow_def

from baton import (
    AlreadyExistsError,
    AsyncBatonClient,
    BatonClient,
    BatonError,
    BulkOperation,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    TaskStatus,
    WorkflowStatus,
)


def wait_task(ref: str, kind: str = "WAIT") -> dict[str, Any]:
    return {"name": ref, "taskReferenceName": ref, "type": kind}


def waiting_workflow(client: BatonClient, *tasks: dict[str, Any]) -> str:
    """Registers a workflow of the given tasks (by default one WAIT task ``w``)."""
    name = unique("wf_ops")
    client.register_workflow_def(workflow_def(name, list(tasks) or [wait_task("w")]))
    return name


def task_in(client: BatonClient, workflow_id: str, ref: str, status: TaskStatus) -> Any:
    """Waits until the latest instance of ``ref`` has ``status`` and returns it."""

    def find() -> Any:
        task = client.get_workflow(workflow_id).task(ref)
        return task if task is not None and task.status == status else None

    return wait_until(find)


def handler(name: str, event: str, active: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "event": event,
        "active": active,
        "actions": [{"action": "start_workflow", "start_workflow": {"name": "follow_up"}}],
    }


def test_event_handlers(client: BatonClient) -> None:
    name = unique("eh")
    event = f"conductor:{unique('q')}"
    added = client.add_event_handler(handler(name, event, active=False))
    assert (added.name, added.event, added.active) == (name, event, False)
    assert added.definition["actions"][0]["action"] == "start_workflow"
    with pytest.raises(AlreadyExistsError):
        client.add_event_handler(handler(name, event))

    assert client.get_event_handler(name).active is False
    assert client.list_event_handlers(event, active_only=True) == []
    updated = client.update_event_handler(handler(name, event, active=True))
    assert updated.active is True
    assert [h.name for h in client.list_event_handlers(event, active_only=True)] == [name]
    assert name in [h.name for h in client.list_event_handlers()]

    client.delete_event_handler(name)
    with pytest.raises(NotFoundError):
        client.get_event_handler(name)
    assert client.list_event_handlers(event) == []


@pytest.mark.parametrize("kind", ["WAIT", "HUMAN"])
def test_signal_a_task_by_reference_name(client: BatonClient, kind: str) -> None:
    name = waiting_workflow(client, wait_task("w", kind))
    workflow_id = client.start_workflow(name)
    waiting = task_in(client, workflow_id, "w", TaskStatus.IN_PROGRESS)

    task_id = client.update_task_by_ref(workflow_id, "w", TaskStatus.COMPLETED, {"approved": True}, worker_id="op")
    assert task_id == waiting.task_id
    workflow = client.wait_for_workflow(workflow_id, timeout=30)
    assert workflow.status == WorkflowStatus.COMPLETED
    signalled = workflow.task("w")
    assert signalled is not None and signalled.output == {"approved": True}


def test_signal_a_task_as_failed(client: BatonClient) -> None:
    workflow_id = client.start_workflow(waiting_workflow(client))
    task_in(client, workflow_id, "w", TaskStatus.IN_PROGRESS)
    client.update_task_by_ref(workflow_id, "w", "FAILED_WITH_TERMINAL_ERROR", reason_for_incompletion="refused")
    workflow = client.wait_for_workflow(workflow_id, timeout=30)
    assert workflow.status == WorkflowStatus.FAILED
    with pytest.raises(NotFoundError):
        client.update_task_by_ref(workflow_id, "no_such_ref", TaskStatus.COMPLETED)


def test_skip_tasks(client: BatonClient) -> None:
    workflow_id = client.start_workflow(waiting_workflow(client, wait_task("first"), wait_task("second")))
    task_in(client, workflow_id, "first", TaskStatus.IN_PROGRESS)
    # Not reached yet: skipped when the flow gets there.
    assert client.skip_task(workflow_id, "second", task_output={"skipped": "later"}) is False
    # Running now: skipped at once.
    assert client.skip_task(workflow_id, "first", task_output={"skipped": "now"}) is True
    workflow = client.wait_for_workflow(workflow_id, timeout=30)
    assert workflow.status == WorkflowStatus.COMPLETED
    first, second = workflow.task("first"), workflow.task("second")
    assert first is not None and second is not None
    assert (first.status, second.status) == (TaskStatus.SKIPPED, TaskStatus.SKIPPED)
    assert second.output == {"skipped": "later"}
    with pytest.raises(BatonError):
        client.skip_task(workflow_id, "first")


def test_rerun_from_a_task(client: BatonClient) -> None:
    workflow_id = client.start_workflow(waiting_workflow(client), {"round": 1})
    task_in(client, workflow_id, "w", TaskStatus.IN_PROGRESS)
    client.update_task_by_ref(workflow_id, "w", TaskStatus.COMPLETED, {"round": 1})
    done = client.wait_for_workflow(workflow_id, timeout=30)
    assert done.status == WorkflowStatus.COMPLETED
    old = done.task("w")
    assert old is not None

    client.rerun_workflow(workflow_id, old.task_id, workflow_input={"round": 2})
    again = task_in(client, workflow_id, "w", TaskStatus.IN_PROGRESS)
    assert again.task_id != old.task_id
    workflow = client.get_workflow(workflow_id)
    assert workflow.status == WorkflowStatus.RUNNING and workflow.input == {"round": 2}
    client.update_task_by_ref(workflow_id, "w", TaskStatus.COMPLETED, {"round": 2})
    assert client.wait_for_workflow(workflow_id, timeout=30).status == WorkflowStatus.COMPLETED


def test_list_tasks_running_workflows_and_correlation_ids(client: BatonClient) -> None:
    name = waiting_workflow(client, wait_task("a"), wait_task("b"))
    correlation = unique("corr")
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    ids = [client.start_workflow(name, correlation_id=correlation) for _ in range(2)]
    other = client.start_workflow(name, correlation_id=unique("corr"))

    assert client.get_running_workflows(name) == ids + [other]
    assert client.get_running_workflows(name, version=1, created_after=before) == ids + [other]
    assert client.get_running_workflows(name, created_before=before) == []

    found = client.get_workflows_by_correlation_ids(name, [correlation, "nobody"])
    assert [w.workflow_id for w in found[correlation]] == ids
    assert found.get("nobody", []) == []

    task_in(client, ids[0], "a", TaskStatus.IN_PROGRESS)
    client.update_task_by_ref(ids[0], "a", TaskStatus.COMPLETED)
    task_in(client, ids[0], "b", TaskStatus.IN_PROGRESS)
    page = client.list_workflow_tasks(ids[0], limit=1)
    assert (page.total, page.next_offset, [t.reference_task_name for t in page.tasks]) == (2, 1, ["a"])
    rest = client.list_workflow_tasks(ids[0], offset=page.next_offset)
    assert ([t.reference_task_name for t in rest.tasks], rest.next_offset) == (["b"], 0)
    only = client.list_workflow_tasks(ids[0], statuses=[TaskStatus.IN_PROGRESS])
    assert [t.reference_task_name for t in only.tasks] == ["b"]

    # Harmless on an execution with nothing due.
    client.decide_workflow(ids[0])
    client.reset_callbacks(ids[0])
    for workflow_id in ids + [other]:
        client.terminate_workflow(workflow_id, "done with it")
    assert client.get_running_workflows(name) == []


def test_bulk_operations(client: BatonClient) -> None:
    name = waiting_workflow(client)
    ids = [client.start_workflow(name) for _ in range(3)]

    paused = client.run_bulk_operation(BulkOperation.PAUSE, ids)
    assert [(o.workflow_id, o.ok) for o in paused] == [(i, True) for i in ids]
    assert {client.get_workflow(i).status for i in ids} == {WorkflowStatus.PAUSED}
    client.run_bulk_operation("RESUME", ids)
    assert {client.get_workflow(i).status for i in ids} == {WorkflowStatus.RUNNING}

    outcomes = client.run_bulk_operation(BulkOperation.TERMINATE, [ids[0], "no-such-id"], reason="bulk")
    assert outcomes[0].ok and not outcomes[1].ok
    assert outcomes[1].workflow_id == "no-such-id" and outcomes[1].code == "NOT_FOUND" and outcomes[1].message
    terminated = client.get_workflow(ids[0])
    assert terminated.status == WorkflowStatus.TERMINATED and terminated.reason_for_incompletion == "bulk"

    removed = client.run_bulk_operation(BulkOperation.REMOVE, [ids[0]])
    assert removed[0].ok
    with pytest.raises(NotFoundError):
        client.get_workflow(ids[0])
    with pytest.raises(InvalidArgumentError):
        client.run_bulk_operation(BulkOperation.PAUSE, [])
    client.run_bulk_operation(BulkOperation.TERMINATE, ids[1:])


def test_poll_update_and_extend_a_task(client: BatonClient) -> None:
    task_type = unique("polled")
    client.register_task_defs(task_def(task_type))
    name = waiting_workflow(client, simple_task(task_type, "p", {"n": "${workflow.input.n}"}))
    assert client.poll_task(task_type) is None
    assert client.batch_poll_tasks(task_type, 5) == []

    workflow_id = client.start_workflow(name, {"n": 7})
    queue = wait_until(lambda: [q for q in client.list_queues(task_type) if q["depth"] > 0])
    assert queue[0]["task_type"] == task_type and queue[0]["domain"] == ""

    assignment = client.poll_task(task_type, worker_id="poller-1", timeout_ms=5000)
    assert assignment is not None
    assert assignment["workflow_id"] == workflow_id and assignment["input"] == {"n": 7}
    workers = client.list_workers(task_type)
    # The poll above without a worker id counts as "anonymous".
    assert ("POLL", "poller-1") in [(w["kind"], w["worker_id"]) for w in workers]

    deadline = client.extend_lease(assignment["task_id"], assignment["token"], workflow_id=workflow_id)
    assert deadline is not None and deadline > datetime.datetime.now(datetime.timezone.utc)
    client.add_task_logs(assignment["task_id"], ["first line", "second line"])
    client.update_task(
        assignment["task_id"],
        assignment["token"],
        TaskStatus.COMPLETED,
        {"doubled": 14},
        logs=["third line"],
        worker_id="poller-1",
        workflow_id=workflow_id,
    )
    workflow = client.wait_for_workflow(workflow_id, timeout=30)
    assert workflow.status == WorkflowStatus.COMPLETED and workflow.tasks[0].output == {"doubled": 14}
    logs = [line.message for line in client.get_task_logs(assignment["task_id"])]
    assert logs == ["first line", "second line", "third line"]
    with pytest.raises(FailedPreconditionError):
        client.update_task(assignment["task_id"], "stale-token", TaskStatus.COMPLETED)


def test_batch_poll(client: BatonClient) -> None:
    task_type = unique("batched")
    client.register_task_defs(task_def(task_type))
    name = waiting_workflow(client, simple_task(task_type, "p"))
    ids = {client.start_workflow(name) for _ in range(3)}
    taken: list[dict[str, Any]] = []

    def take() -> bool:
        taken.extend(client.batch_poll_tasks(task_type, 10, timeout_ms=500))
        return len(taken) >= 3

    wait_until(take)
    assert {t["workflow_id"] for t in taken} == ids
    for t in taken:
        client.update_task(t["task_id"], t["token"], "COMPLETED", workflow_id=t["workflow_id"])
    for workflow_id in ids:
        assert client.wait_for_workflow(workflow_id, timeout=30).status == WorkflowStatus.COMPLETED


def test_search_workflows_and_tasks(client: BatonClient) -> None:
    name = waiting_workflow(client)
    marker = unique("needle")
    workflow_id = client.start_workflow(name, {"marker": marker})

    def hits() -> Any:
        found = client.search_workflows(f"workflowType = '{name}'", free_text=marker)
        return found if found.total_hits == 1 else None

    found = wait_until(hits)
    summary = found.results[0]
    assert summary["workflow_id"] == workflow_id and summary["status"] == "RUNNING"
    assert summary["input"] == {"marker": marker} and isinstance(summary["start_time"], datetime.datetime)
    assert client.search_workflows(f"workflowType = '{name}'", size=0).results == []
    by_tasks = wait_until(
        lambda: client.search_workflows(f"taskType = 'WAIT' AND workflowType = '{name}'", by_tasks=True).results
    )
    assert [r["workflow_id"] for r in by_tasks] == [workflow_id]

    tasks = wait_until(lambda: client.search_tasks(f"workflowId = '{workflow_id}'", sort=["scheduledTime:ASC"]).results)
    assert tasks[0]["task_type"] == "WAIT" and tasks[0]["workflow_type"] == name
    client.terminate_workflow(workflow_id)


def test_execute_until_a_task_finishes(client: BatonClient) -> None:
    name = waiting_workflow(client, {"name": "quick", "taskReferenceName": "quick", "type": "SET_VARIABLE",
                                     "inputParameters": {"x": 1}}, wait_task("w"))
    workflow = client.execute_workflow(name, wait_seconds=20, wait_until_task_ref="quick")
    assert workflow.status == WorkflowStatus.RUNNING
    quick = workflow.task("quick")
    assert quick is not None and quick.status == TaskStatus.COMPLETED
    client.terminate_workflow(workflow.workflow_id)


def test_wait_workflow_until_a_task_finishes_on_a_run_started_elsewhere(
    client: BatonClient, server: Any
) -> None:
    name = waiting_workflow(client, wait_task("first"), wait_task("second"))
    workflow_id = client.start_workflow(name)

    async def wait_then_signal() -> Any:
        async with AsyncBatonClient(server.address) as aclient:
            waiting = asyncio.ensure_future(
                aclient.wait_workflow(workflow_id, wait_seconds=60, wait_until_task_ref="first")
            )
            task_in(client, workflow_id, "first", TaskStatus.IN_PROGRESS)
            assert not waiting.done()
            await aclient.update_task_by_ref(workflow_id, "first", TaskStatus.COMPLETED, {"ok": 1})
            return await asyncio.wait_for(waiting, 30)

    seen = asyncio.run(wait_then_signal())
    assert seen.task_ref_finished and not seen.finished
    assert seen.workflow.workflow_id == workflow_id
    assert seen.workflow.status == WorkflowStatus.RUNNING
    first = seen.workflow.task("first")
    assert first is not None and first.status == TaskStatus.COMPLETED

    # Without a task reference the wait is for the execution to end.
    client.update_task_by_ref(workflow_id, "second", TaskStatus.COMPLETED)
    ended = client.wait_workflow(workflow_id, wait_seconds=30)
    assert ended.finished and not ended.task_ref_finished
    assert ended.workflow.status == WorkflowStatus.COMPLETED
    assert [t.reference_task_name for t in ended.workflow.tasks] == ["first", "second"]


def test_wait_workflow_runs_out_and_says_so(client: BatonClient) -> None:
    workflow_id = client.start_workflow(waiting_workflow(client))
    seen = client.wait_workflow(workflow_id, wait_seconds=1, wait_until_task_ref="w")
    assert not seen.finished and not seen.task_ref_finished
    assert seen.workflow.status == WorkflowStatus.RUNNING
    w = seen.workflow.task("w")
    assert w is not None and w.status == TaskStatus.IN_PROGRESS
    client.terminate_workflow(workflow_id)


def test_wait_workflow_errors(client: BatonClient) -> None:
    with pytest.raises(NotFoundError) as unknown_id:
        client.wait_workflow("no-such-workflow", wait_seconds=1)
    assert unknown_id.value.code.name == "NOT_FOUND" and unknown_id.value.message

    workflow_id = client.start_workflow(waiting_workflow(client))
    with pytest.raises(NotFoundError) as unknown_ref:
        client.wait_workflow(workflow_id, wait_seconds=1, wait_until_task_ref="no_such_ref")
    assert "no_such_ref" in unknown_ref.value.message

    for out_of_range in (301, -1):
        with pytest.raises(InvalidArgumentError) as invalid:
            client.wait_workflow(workflow_id, wait_seconds=out_of_range)
        assert invalid.value.code.name == "INVALID_ARGUMENT"
        assert "wait" in invalid.value.message.lower(), invalid.value.message
    client.terminate_workflow(workflow_id)


def test_retention_overview_and_import(client: BatonClient) -> None:
    retention = client.get_retention()
    assert {"max_age_seconds", "keep_last", "archive_dir", "passes", "removed"} <= set(retention)
    workflow_id = client.start_workflow(waiting_workflow(client))
    client.terminate_workflow(workflow_id, "for the overview")

    def listed() -> Any:
        overview = client.get_overview(recent_failures=5)
        failures = [f for f in overview["recent_failures"] if f["workflow_id"] == workflow_id]
        return overview if failures and failures[0]["status"] == "TERMINATED" else None

    overview = wait_until(listed)
    assert overview["recent_failures_available"]
    assert isinstance(overview["server_time"], datetime.datetime)
    assert overview["workflows_started"] >= 1 and isinstance(overview["queues"], list)
    with pytest.raises(InvalidArgumentError):
        client.import_workflows([b"this is not an archived execution"])


def test_the_async_client(server: Any, client: BatonClient) -> None:
    name = waiting_workflow(client, wait_task("first"), wait_task("second"))
    handler_name = unique("eh_async")

    async def scenario() -> None:
        async with AsyncBatonClient(server.address) as aclient:
            added = await aclient.add_event_handler(handler(handler_name, f"conductor:{unique('q')}"))
            assert (await aclient.get_event_handler(handler_name)) == added
            assert handler_name in [h.name for h in await aclient.list_event_handlers()]
            await aclient.delete_event_handler(handler_name)

            workflow_id = await aclient.start_workflow(name)
            while (await aclient.get_workflow(workflow_id)).task("first") is None:
                await asyncio.sleep(0.05)
            assert await aclient.skip_task(workflow_id, "second") is False
            await aclient.update_task_by_ref(workflow_id, "first", TaskStatus.COMPLETED, {"by": "async"})
            workflow = await aclient.wait_for_workflow(workflow_id, timeout=30)
            assert workflow.status == WorkflowStatus.COMPLETED

            page = await aclient.list_workflow_tasks(workflow_id)
            assert [t.status for t in page.tasks] == [TaskStatus.COMPLETED, TaskStatus.SKIPPED]
            other = await aclient.start_workflow(name)
            assert await aclient.get_running_workflows(name) == [other]
            outcomes = await aclient.run_bulk_operation(BulkOperation.TERMINATE, [other])
            assert outcomes[0].ok
            assert await aclient.get_running_workflows(name) == []
            assert (await aclient.get_overview())["workflows_started"] >= 2
            assert "passes" in await aclient.get_retention()
            assert await aclient.poll_task(unique("nobody")) is None
            assert (await aclient.search_workflows(size=0)).results == []

    asyncio.run(scenario())


def test_import_archived_executions(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retention archives a finished execution and removes it; the archive line imports it back."""
    import shutil
    import subprocess

    from conftest import BatonServer

    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("the zstd command is needed to read retention's archive files")
    archive = tmp_path / "archive"
    monkeypatch.setenv("BATON_ARCHIVE_DIR", str(archive))
    monkeypatch.setenv("BATON_RETENTION_MAX_AGE", "1s")
    srv = BatonServer(str(tmp_path / "data"))
    srv.start()
    try:
        with BatonClient(srv.address) as client:
            assert client.get_retention()["archive_dir"] == str(archive)
            name = waiting_workflow(client)
            workflow_id = client.start_workflow(name)
            task_in(client, workflow_id, "w", TaskStatus.IN_PROGRESS)
            client.update_task_by_ref(workflow_id, "w", TaskStatus.COMPLETED, {"kept": "in the archive"})
            client.wait_for_workflow(workflow_id, timeout=30)

            def gone() -> bool:
                try:
                    client.get_workflow(workflow_id)
                    return False
                except NotFoundError:
                    return bool(client.get_retention()["archived"] >= 1)

            wait_until(gone, timeout=60)
            lines = [
                line
                for path in sorted(archive.rglob("*"))
                if path.is_file()
                for line in subprocess.run(
                    [zstd, "-dcq", str(path)], check=True, capture_output=True
                ).stdout.splitlines()
                if line.strip()
            ]
            assert lines
            outcome = client.import_workflows(lines)
            assert (outcome.imported, outcome.already_present) == (len(lines), 0)
            restored = client.get_workflow(workflow_id)
            assert restored.status == WorkflowStatus.COMPLETED
            task = restored.task("w")
            assert task is not None and task.output == {"kept": "in the archive"}
            again = client.import_workflows([line.decode() for line in lines])
            assert (again.imported, again.already_present) == (0, len(lines))
    finally:
        srv.stop()


def test_the_async_client_polls_and_reruns(server: Any, client: BatonClient) -> None:
    task_type = unique("polled_async")
    client.register_task_defs(task_def(task_type))
    name = waiting_workflow(client, simple_task(task_type, "p"))
    correlation = unique("corr")

    async def scenario() -> None:
        async with AsyncBatonClient(server.address) as aclient:
            workflow_id = await aclient.start_workflow(name, correlation_id=correlation)
            found = await aclient.get_workflows_by_correlation_ids(name, [correlation])
            assert [w.workflow_id for w in found[correlation]] == [workflow_id]
            while not [q for q in await aclient.list_queues(task_type) if q["depth"] > 0]:
                await asyncio.sleep(0.05)
            taken = await aclient.batch_poll_tasks(task_type, 5, worker_id="async-poller", timeout_ms=5000)
            assert [t["workflow_id"] for t in taken] == [workflow_id]
            assignment = taken[0]
            assert "async-poller" in [w["worker_id"] for w in await aclient.list_workers(task_type)]
            assert await aclient.extend_lease(assignment["task_id"], assignment["token"]) is not None
            await aclient.add_task_logs(assignment["task_id"], ["from asyncio"])
            await aclient.decide_workflow(workflow_id)
            await aclient.reset_callbacks(workflow_id)
            await aclient.update_task(assignment["task_id"], assignment["token"], TaskStatus.COMPLETED, {"n": 1})
            done = await aclient.wait_for_workflow(workflow_id, timeout=30)
            assert done.status == WorkflowStatus.COMPLETED
            assert [line.message for line in await aclient.get_task_logs(assignment["task_id"])] == ["from asyncio"]

            await aclient.rerun_workflow(workflow_id, assignment["task_id"], task_input={"n": 2})
            again = await aclient.poll_task(task_type, timeout_ms=5000)
            assert again is not None and again["input"] == {"n": 2} and again["task_id"] != assignment["task_id"]
            await aclient.update_task(again["task_id"], again["token"], "COMPLETED", workflow_id=workflow_id)
            assert (await aclient.wait_for_workflow(workflow_id, timeout=30)).status == WorkflowStatus.COMPLETED

            query = f"workflowId = '{workflow_id}'"
            hits = await aclient.search_tasks(query)
            while hits.total_hits < 1:
                await asyncio.sleep(0.1)
                hits = await aclient.search_tasks(query)
            assert {h["task_type"] for h in hits.results} == {task_type}
            with pytest.raises(InvalidArgumentError):
                await aclient.import_workflows(["not an archived execution"])

    asyncio.run(asyncio.wait_for(scenario(), timeout=60))
