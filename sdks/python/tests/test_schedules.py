"""Schedules through the client against the real server: a schedule that fires every second
is saved, fires, is paused, resumed, triggered and backfilled; previews, lists, bulk pauses,
deletes and refusals; the same with the asyncio client."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support import unique, wait_until

from baton import (
    AsyncBatonClient,
    BatonClient,
    InvalidArgumentError,
    NotFoundError,
    OverlapPolicy,
    Schedule,
    WorkflowStatus,
)

T = TypeVar("T")

EVERY_SECOND = "* * * * * *"
YEARLY = "0 0 0 1 1 *"


def set_variable_workflow(client: BatonClient) -> str:
    """A workflow of one SET_VARIABLE task: it completes without a worker."""
    name = unique("wf_sched")
    client.register_workflow_def(
        {
            "name": name,
            "version": 1,
            "schemaVersion": 2,
            "tasks": [
                {
                    "name": "remember",
                    "taskReferenceName": "remember",
                    "type": "SET_VARIABLE",
                    "inputParameters": {"value": "${workflow.input.value}"},
                }
            ],
            "outputParameters": {"value": "${workflow.variables.value}"},
        }
    )
    return name


def schedule_def(name: str, workflow: str, cron: str = EVERY_SECOND, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "cronExpression": cron,
        "startWorkflowRequest": {"name": workflow, "version": 1, "input": {"value": "scheduled"}},
        **extra,
    }


def whole_seconds_before(moment: dt.datetime, seconds: int) -> dt.datetime:
    """A whole second at least ``seconds`` before ``moment``."""
    return (moment - dt.timedelta(seconds=seconds)).replace(microsecond=0)


def started(entries: list[Any], kind: str) -> list[Any]:
    return [e for e in entries if e.type == "STARTED" and e.event.get("kind") == kind]


def test_schedule_fires_and_is_steered(client: BatonClient) -> None:
    workflow = set_variable_workflow(client)
    name = unique("every_second")
    saved = client.save_schedule(schedule_def(name, workflow))
    try:
        assert (saved.name, saved.workflow_name, saved.zone_id) == (name, workflow, "UTC")
        assert saved.definition["cronExpression"] == EVERY_SECOND
        assert saved.definition["startWorkflowRequest"]["input"] == {"value": "scheduled"}
        assert not saved.paused and saved.next_run_time is not None
        assert saved.create_time is not None and saved.create_time.tzinfo is not None

        # It fires on its own; its history says what it started, newest first.
        fired = wait_until(lambda: (s := client.get_schedule(name)).counters.fired >= 1 and s)
        assert fired.last_fired_time is not None and fired.revision > saved.revision
        history = wait_until(lambda: started(client.get_schedule_history(name), "SCHEDULED"))
        entry = history[0]
        assert entry.workflow_id and entry.slot_time is not None and entry.record_time is not None
        run = client.wait_for_workflow(entry.workflow_id)
        assert run.status is WorkflowStatus.COMPLETED
        assert run.input["value"] == "scheduled" and run.input["_startedByScheduler"] == name
        slots = [e.slot_time for e in client.get_schedule_history(name) if e.slot_time is not None]
        assert slots == sorted(slots, reverse=True)
        assert len(client.get_schedule_history(name, limit=1)) == 1

        # Paused, it has no next run and keeps the note; resumed, it fires again.
        paused = client.pause_schedule(name, "freeze")
        assert paused.paused and paused.note == "freeze" and paused.next_run_time is None
        assert paused.definition["paused"] is True
        assert client.get_schedule(name).paused
        resumed = client.resume_schedule(name, "thaw")
        assert not resumed.paused and resumed.note == "thaw" and resumed.next_run_time is not None
        fired_before = resumed.counters.fired
        wait_until(lambda: client.get_schedule(name).counters.fired > fired_before)

        # Run now, with input merged into the schedule's.
        ids = client.trigger_schedule(name, {"value": "manual", "extra": 1}, overlap=OverlapPolicy.ALLOW_ALL)
        assert len(ids) == 1
        manual = client.wait_for_workflow(ids[0])
        assert manual.status is WorkflowStatus.COMPLETED
        assert (manual.input["value"], manual.input["extra"]) == ("manual", 1)
        assert manual.output == {"value": "manual"}
        assert client.get_schedule(name).counters.manual == 1
        assert started(client.get_schedule_history(name), "MANUAL")[0].workflow_id == ids[0]

        # Backfill three whole seconds from before it was created: three runs.
        assert saved.create_time is not None
        start = whole_seconds_before(saved.create_time, 4)
        client.backfill_schedule(name, start, start + dt.timedelta(seconds=2), overlap="ALLOW_ALL")
        wait_until(lambda: client.get_schedule(name).counters.backfilled == 3)
        backfilled = started(
            client.get_schedule_history(name, from_time=start, until_time=start + dt.timedelta(seconds=2)),
            "BACKFILL",
        )
        assert sorted(e.slot_time for e in backfilled) == [start + dt.timedelta(seconds=i) for i in range(3)]
        for e in backfilled:
            assert client.wait_for_workflow(e.workflow_id).status is WorkflowStatus.COMPLETED
        # Slots that ran already are found, not run again: no new workflow ids.
        client.backfill_schedule(name, start, start + dt.timedelta(seconds=2))
        again = started(
            client.get_schedule_history(name, from_time=start, until_time=start + dt.timedelta(seconds=2)),
            "BACKFILL",
        )
        assert {e.workflow_id for e in again} == {e.workflow_id for e in backfilled}
    finally:
        client.delete_schedule(name)


def test_preview_list_bulk_and_delete(client: BatonClient, tmp_path: Path) -> None:
    workflow = set_variable_workflow(client)
    other_workflow = set_variable_workflow(client)
    a, b = unique("yearly_a"), unique("yearly_b")
    c = unique("yearly_c")
    client.save_schedule(schedule_def(a, workflow, YEARLY))
    # JSON text and a path to a JSON file work as well as dicts.
    client.save_schedule(json.dumps(schedule_def(b, workflow, YEARLY, zoneId="Europe/Paris")))
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(schedule_def(c, other_workflow, YEARLY)))
    client.save_schedule(path)

    # A cron expression that is not saved anywhere, read in a zone.
    preview = client.preview_schedule(
        cron_expression="0 9 * * *", zone_id="Europe/Paris", from_time=dt.datetime(2026, 1, 5), limit=3
    )
    assert preview.zone_id == "Europe/Paris" and preview.truncated
    assert [s.time for s in preview.slots] == [
        dt.datetime(2026, 1, d, 8, 0, tzinfo=dt.timezone.utc) for d in (5, 6, 7)
    ]
    assert {(s.spec, s.spec_index) for s in preview.slots} == {("0 9 * * *", 0)}
    # An unsaved definition with an interval next to its cron expression.
    unsaved = schedule_def(unique("unsaved"), workflow, "0 0 12 * * *", intervals=[{"everySeconds": 3600}])
    both = client.preview_schedule(
        definition=unsaved,
        from_time=dt.datetime(2026, 1, 5, 10, 30, tzinfo=dt.timezone.utc),
        until_time=dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.timezone.utc),
        limit=10,
    )
    assert not both.truncated and both.zone_id == "UTC"
    assert [s.time.hour for s in both.slots][-1] == 12
    assert {s.spec_index for s in both.slots} <= {0, 1} and any(s.spec.startswith("@every") for s in both.slots)
    # A saved schedule, by name, in its own zone.
    now = dt.datetime.now(dt.timezone.utc)
    saved_preview = client.preview_schedule(b, until_time=now + dt.timedelta(days=3 * 366), limit=2)
    assert saved_preview.zone_id == "Europe/Paris" and len(saved_preview.slots) == 2
    # Midnight of January 1st in Paris is 23:00 UTC the day before.
    assert all((s.time.month, s.time.day, s.time.hour) == (12, 31, 23) for s in saved_preview.slots)
    with pytest.raises(ValueError):
        client.preview_schedule(a, cron_expression="* * * * *")

    # Lists are in name order, all of them or those of one workflow.
    everything = [s.name for s in client.list_schedules()]
    assert {a, b, c} <= set(everything) and everything == sorted(everything)
    assert [s.name for s in client.list_schedules(workflow)] == sorted([a, b])
    assert [s.name for s in client.list_schedules(other_workflow)] == [c]
    assert client.list_schedules(unique("no_such_workflow")) == []

    # Bulk pause reports each name; an unknown one does not stop the others.
    missing = unique("missing")
    outcomes = client.pause_schedules([a, missing, b], note="maintenance")
    assert [(o.name, o.ok) for o in outcomes] == [(a, True), (missing, False), (b, True)]
    assert "does not exist" in outcomes[1].error
    assert all(s.paused and s.note == "maintenance" for s in client.list_schedules(workflow))
    assert all(o.ok for o in client.resume_schedules([a, b]))
    assert not any(s.paused for s in client.list_schedules(workflow))

    # Deleted, it is gone (its name is free again).
    for name in (a, b, c):
        client.delete_schedule(name)
    with pytest.raises(NotFoundError):
        client.get_schedule(a)
    assert {a, b, c}.isdisjoint(s.name for s in client.list_schedules())


def test_refusals(client: BatonClient) -> None:
    workflow = set_variable_workflow(client)
    missing = unique("missing")
    with pytest.raises(NotFoundError) as excinfo:
        client.get_schedule(missing)
    assert excinfo.value.code.name == "NOT_FOUND"
    assert excinfo.value.message == f"schedule {missing} does not exist"
    for call in (
        lambda: client.pause_schedule(missing),
        lambda: client.resume_schedule(missing),
        lambda: client.delete_schedule(missing),
        lambda: client.trigger_schedule(missing),
        lambda: client.backfill_schedule(missing, dt.datetime(2026, 1, 1)),
        lambda: client.get_schedule_history(missing),
        lambda: client.preview_schedule(missing),
    ):
        with pytest.raises(NotFoundError, match=missing):
            call()

    # Malformed JSON, a definition of the wrong shape, an invalid cron, an unknown workflow.
    with pytest.raises(InvalidArgumentError) as bad_json:
        client.save_schedule("{not json")
    assert "definition_json" in bad_json.value.message
    with pytest.raises(InvalidArgumentError):
        client.save_schedule({"name": unique("s"), "cronExpression": 5, "startWorkflowRequest": {"name": workflow}})
    with pytest.raises(InvalidArgumentError, match="cronExpression"):
        client.save_schedule(schedule_def(unique("s"), workflow, "* * *"))
    with pytest.raises(InvalidArgumentError, match="is not defined"):
        client.save_schedule(schedule_def(unique("s"), unique("no_such_workflow")))
    with pytest.raises(InvalidArgumentError):
        client.preview_schedule(cron_expression="not a cron")

    # Refusals of a saved schedule's operations.
    name = unique("yearly")
    client.save_schedule(schedule_def(name, workflow, YEARLY))
    try:
        with pytest.raises(InvalidArgumentError):
            client.trigger_schedule(name, overlap="SOMETIMES")
        with pytest.raises(InvalidArgumentError):
            client.backfill_schedule(name, dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 1))
        with pytest.raises(InvalidArgumentError):
            client.pause_schedules([])
    finally:
        client.delete_schedule(name)


async def async_wait_until(predicate: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Awaits ``predicate`` until it returns a truthy value; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_async_client_schedules(server: Any, client: BatonClient) -> None:
    workflow = set_variable_workflow(client)
    name = unique("async_every_second")

    async def main() -> None:
        async with AsyncBatonClient(server.address) as aclient:
            saved = await aclient.save_schedule(schedule_def(name, workflow))
            try:
                assert isinstance(saved, Schedule) and saved.workflow_name == workflow

                async def has_fired() -> bool:
                    return (await aclient.get_schedule(name)).counters.fired >= 1

                await async_wait_until(has_fired)
                history = await aclient.get_schedule_history(name, limit=50)
                assert started(history, "SCHEDULED")

                paused = await aclient.pause_schedule(name, "async pause")
                assert paused.paused and paused.note == "async pause"
                resumed = await aclient.resume_schedule(name)
                assert not resumed.paused

                ids = await aclient.trigger_schedule(name, {"value": "async"})
                run = await aclient.wait_for_workflow(ids[0])
                assert run.status is WorkflowStatus.COMPLETED and run.output == {"value": "async"}

                assert saved.create_time is not None
                start = whole_seconds_before(saved.create_time, 3)
                await aclient.backfill_schedule(name, start, start + dt.timedelta(seconds=1))

                async def backfilled() -> bool:
                    return (await aclient.get_schedule(name)).counters.backfilled == 2

                await async_wait_until(backfilled)

                preview = await aclient.preview_schedule(
                    cron_expression="*/15 * * * *", from_time=dt.datetime(2026, 1, 1), limit=4
                )
                assert [s.time.minute for s in preview.slots] == [15, 30, 45, 0]
                assert (await aclient.preview_schedule(definition=schedule_def(name, workflow), limit=1)).slots

                assert [s.name for s in await aclient.list_schedules(workflow)] == [name]
                outcomes = await aclient.pause_schedules([name], note="bulk")
                assert [(o.name, o.ok) for o in outcomes] == [(name, True)]
                assert (await aclient.get_schedule(name)).paused
                assert [o.ok for o in await aclient.resume_schedules([name])] == [True]
            finally:
                await aclient.delete_schedule(name)
            with pytest.raises(NotFoundError, match=f"schedule {name} does not exist"):
                await aclient.get_schedule(name)
            with pytest.raises(InvalidArgumentError):
                await aclient.save_schedule("{not json")

    asyncio.run(main())
