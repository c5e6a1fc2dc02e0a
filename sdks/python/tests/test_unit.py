"""Tests of the SDK's own logic that need no server: argument binding, result mapping,
value conversion and configuration."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any, TypedDict

import grpc
import pytest

from baton import TaskResult, TaskStatus, TerminalError, current_task
from baton._struct import dict_to_struct, struct_to_dict
from baton.errors import AlreadyExistsError, BatonError, NotFoundError, error_for_code
from baton.models import IdempotencyStrategy, WorkflowStatus
from baton.task import Invoker, Task, run_sync
from baton.v1 import common_pb2, task_pb2, workflow_pb2
from baton.worker import (
    DEFAULT_MAX_MESSAGE_BYTES,
    TaskRegistry,
    WorkerTask,
    env_name,
    fit_result,
    lease_extension_delay,
    max_message_bytes,
    resolve_batch,
    resolve_task,
    worker_task,
)


def make_task(**input: Any) -> Task:
    return Task(task_id="t-1", task_type="demo", input=input, token="tok", workflow_id="wf-1", worker_id="w")


@dataclasses.dataclass
class Address:
    city: str
    zip: str = ""


@dataclasses.dataclass
class Order:
    order_id: str
    amount: float
    address: Address | None = None
    tags: list[str] = dataclasses.field(default_factory=list)


class OrderDict(TypedDict):
    order_id: str


def test_struct_round_trip_keeps_json_types() -> None:
    value = {"s": "x", "i": 3, "f": 2.5, "b": True, "n": None, "l": [1, "a", {"k": False}], "o": {"deep": [[]]}}
    back = struct_to_dict(dict_to_struct(value))
    assert back == value
    assert isinstance(back["i"], int)
    assert isinstance(back["f"], float)


def test_struct_accepts_dataclasses_tuples_and_enums() -> None:
    value = {"order": Order("o1", 3.0, Address("Oslo")), "t": (1, 2), "st": TaskStatus.COMPLETED}
    back = struct_to_dict(dict_to_struct(value))
    assert back == {
        "order": {"order_id": "o1", "amount": 3, "address": {"city": "Oslo", "zip": ""}, "tags": []},
        "t": [1, 2],
        "st": "COMPLETED",
    }


def test_struct_rejects_unknown_objects() -> None:
    with pytest.raises(TypeError):
        dict_to_struct({"x": object()})


def test_invoker_passes_task() -> None:
    def handler(task: Task) -> dict[str, Any]:
        return {"id": task.task_id, "n": task.input["n"]}

    result = run_sync(Invoker(handler), make_task(n=2)).result
    assert result.status == common_pb2.TASK_STATUS_COMPLETED
    assert struct_to_dict(result.output) == {"id": "t-1", "n": 2}


def test_invoker_unannotated_task_parameter() -> None:
    def handler(task):  # type: ignore[no-untyped-def]
        return {"got": task.input}

    result = run_sync(Invoker(handler), make_task(a=1)).result
    assert struct_to_dict(result.output) == {"got": {"a": 1}}


def test_invoker_builds_dataclass_input_and_accepts_dataclass_output() -> None:
    def handler(order: Order) -> Order:
        assert isinstance(order.address, Address)
        assert isinstance(order.amount, float)
        return dataclasses.replace(order, amount=order.amount * 2)

    req = run_sync(Invoker(handler), make_task(order_id="o9", amount=5, address={"city": "Rome"}, extra=1))
    assert struct_to_dict(req.result.output) == {
        "order_id": "o9",
        "amount": 10,
        "address": {"city": "Rome", "zip": ""},
        "tags": [],
    }


def test_invoker_dataclass_missing_field_is_terminal() -> None:
    def handler(order: Order) -> None:
        raise AssertionError("not called")

    result = run_sync(Invoker(handler), make_task(amount=1)).result
    assert result.status == common_pb2.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
    assert "Order" in result.reason_for_incompletion


def test_invoker_dict_and_typed_dict_input() -> None:
    def plain(data: dict[str, Any]) -> dict[str, Any]:
        return {"keys": sorted(data)}

    def typed(data: OrderDict) -> dict[str, Any]:
        return {"id": data["order_id"]}

    assert struct_to_dict(run_sync(Invoker(plain), make_task(b=1, a=2)).result.output) == {"keys": ["a", "b"]}
    assert struct_to_dict(run_sync(Invoker(typed), make_task(order_id="x")).result.output) == {"id": "x"}


def test_invoker_keyword_style() -> None:
    def greet(name: str, punctuation: str = "!", task: Task | None = None) -> str:
        return f"Hello, {name}{punctuation}"

    def with_task(name: str, task: Task) -> dict[str, Any]:
        return {"name": name, "task_id": task.task_id}

    def with_kwargs(name: str, **rest: Any) -> dict[str, Any]:
        return {"name": name, "rest": rest}

    assert struct_to_dict(run_sync(Invoker(greet), make_task(name="Ada")).result.output) == {
        "result": "Hello, Ada!"
    }
    assert struct_to_dict(run_sync(Invoker(with_task), make_task(name="Ada")).result.output) == {
        "name": "Ada",
        "task_id": "t-1",
    }
    assert struct_to_dict(run_sync(Invoker(with_kwargs), make_task(name="A", x=1)).result.output) == {
        "name": "A",
        "rest": {"x": 1},
    }
    missing = run_sync(Invoker(greet), make_task()).result
    assert missing.status == common_pb2.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
    assert "'name'" in missing.reason_for_incompletion


def test_invoker_no_arguments_and_none_output() -> None:
    def nothing() -> None:
        return None

    result = run_sync(Invoker(nothing), make_task(x=1)).result
    assert result.status == common_pb2.TASK_STATUS_COMPLETED
    assert struct_to_dict(result.output) == {}


def test_invoker_detects_coroutines() -> None:
    async def a(task: Task) -> None:
        return None

    class Callable:
        async def __call__(self, task: Task) -> None:
            return None

    def s(task: Task) -> None:
        return None

    assert Invoker(a).is_async
    assert Invoker(Callable()).is_async
    assert not Invoker(s).is_async


def test_exception_fails_with_traceback_in_logs() -> None:
    def boom(task: Task) -> None:
        task.log("about to fail")
        raise ValueError("bad amount")

    result = run_sync(Invoker(boom), make_task()).result
    assert result.status == common_pb2.TASK_STATUS_FAILED
    assert result.reason_for_incompletion == "ValueError: bad amount"
    assert result.task_id == "t-1" and result.workflow_id == "wf-1" and result.worker_id == "w"
    assert result.logs[0].message == "about to fail"
    assert "Traceback" in result.logs[1].message and "bad amount" in result.logs[1].message


def test_terminal_error_with_output() -> None:
    def refuse(task: Task) -> None:
        raise TerminalError("card declined", output={"code": 51})

    result = run_sync(Invoker(refuse), make_task()).result
    assert result.status == common_pb2.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
    assert result.reason_for_incompletion == "card declined"
    assert struct_to_dict(result.output) == {"code": 51}


def test_task_result_variants() -> None:
    def progress(task: Task) -> TaskResult:
        return TaskResult.in_progress({"step": 1}, callback_after_seconds=5)

    def zero_callback(task: Task) -> TaskResult:
        return TaskResult(TaskStatus.IN_PROGRESS)

    def failed(task: Task) -> TaskResult:
        return TaskResult.failed("try later", {"partial": True})

    r = run_sync(Invoker(progress), make_task()).result
    assert (r.status, r.callback_after_seconds) == (common_pb2.TASK_STATUS_IN_PROGRESS, 5)
    assert struct_to_dict(r.output) == {"step": 1}
    assert run_sync(Invoker(zero_callback), make_task()).result.callback_after_seconds == 1
    f = run_sync(Invoker(failed), make_task()).result
    assert (f.status, f.reason_for_incompletion) == (common_pb2.TASK_STATUS_FAILED, "try later")
    with pytest.raises(ValueError):
        TaskResult(TaskStatus.SKIPPED)


def test_unserialisable_output_fails_the_task() -> None:
    def bad(task: Task) -> dict[str, Any]:
        return {"x": object()}

    result = run_sync(Invoker(bad), make_task()).result
    assert result.status == common_pb2.TASK_STATUS_FAILED
    assert result.reason_for_incompletion.startswith("task output cannot be sent")


def test_current_task_is_set_during_the_call() -> None:
    seen: list[Task | None] = []

    def handler() -> None:
        seen.append(current_task())

    task = make_task()
    run_sync(Invoker(handler), task)
    assert seen == [task]
    assert current_task() is None


def test_decorator_registers_and_keeps_function() -> None:
    registry = TaskRegistry()

    @worker_task("my_task", concurrency=3, domain="blue", registry=registry)
    def handler(x: int) -> int:
        return x + 1

    assert handler(1) == 2
    (spec,) = registry.tasks()
    assert (spec.task_type, spec.concurrency, spec.domain, spec.handler) == ("my_task", 3, "blue", handler)


def test_resolve_task_precedence() -> None:
    spec = WorkerTask("send-email", lambda: None, concurrency=3, domain="blue")
    assert env_name("send-email", "CONCURRENCY") == "BATON_WORKER_SEND_EMAIL_CONCURRENCY"
    plain = resolve_task(spec, "w1", environ={})
    assert (plain.concurrency, plain.domain, plain.worker_id, plain.paused) == (3, "blue", "w1", False)
    glob = resolve_task(
        WorkerTask("send-email", lambda: None),
        "w1",
        environ={"BATON_WORKER_CONCURRENCY": "7", "BATON_WORKER_DOMAIN": "green", "BATON_WORKER_PAUSED": "true"},
    )
    assert (glob.concurrency, glob.domain, glob.paused) == (7, "green", True)
    code_beats_global = resolve_task(spec, "w1", environ={"BATON_WORKER_CONCURRENCY": "7"})
    assert code_beats_global.concurrency == 3
    own = resolve_task(
        spec,
        "w1",
        environ={
            "BATON_WORKER_SEND_EMAIL_CONCURRENCY": "9",
            "BATON_WORKER_SEND_EMAIL_DOMAIN": "red",
            "BATON_WORKER_SEND_EMAIL_WORKER_ID": "mailer",
        },
    )
    assert (own.concurrency, own.domain, own.worker_id) == (9, "red", "mailer")
    default = resolve_task(WorkerTask("x", lambda: None), "w1", environ={})
    assert (default.concurrency, default.lease_extension) == (10, True)
    with pytest.raises(ValueError):
        resolve_task(WorkerTask("x", lambda: None, concurrency=0), "w1", environ={})
    with pytest.raises(ValueError, match="not a number"):
        resolve_task(spec, "w1", environ={"BATON_WORKER_SEND_EMAIL_CONCURRENCY": "many"})


def test_batching_is_on_unless_code_or_environment_turns_it_off() -> None:
    assert resolve_batch(None, environ={}) is True
    assert resolve_batch(None, environ={"BATON_WORKER_BATCH": "0"}) is False
    assert resolve_batch(None, environ={"BATON_WORKER_BATCH": "on"}) is True
    assert resolve_batch(True, environ={"BATON_WORKER_BATCH": "false"}) is True
    assert resolve_batch(False, environ={}) is False
    with pytest.raises(ValueError, match="BATON_WORKER_BATCH"):
        resolve_batch(None, environ={"BATON_WORKER_BATCH": "sometimes"})


def test_per_task_type_environment_for_every_setting() -> None:
    """Each setting of one task type can be set by its own variable; other types keep theirs."""
    email = WorkerTask("send-email", lambda: None, concurrency=3, lease_extension=True, paused=False)
    sms = WorkerTask("sms.v2", lambda: None, concurrency=4)
    environ = {
        "BATON_WORKER_SEND_EMAIL_CONCURRENCY": "12",
        "BATON_WORKER_SEND_EMAIL_DOMAIN": "eu",
        "BATON_WORKER_SEND_EMAIL_WORKER_ID": "mailer-1",
        "BATON_WORKER_SEND_EMAIL_PAUSED": "yes",
        "BATON_WORKER_SEND_EMAIL_LEASE_EXTENSION": "off",
        "BATON_WORKER_LEASE_EXTENSION": "false",
        "BATON_WORKER_DOMAIN": "us",
    }
    e = resolve_task(email, "w1", environ=environ)
    assert (e.concurrency, e.domain, e.worker_id, e.paused, e.lease_extension) == (12, "eu", "mailer-1", True, False)
    s = resolve_task(sms, "w1", environ=environ)
    assert env_name("sms.v2", "PAUSED") == "BATON_WORKER_SMS_V2_PAUSED"
    assert (s.concurrency, s.domain, s.worker_id, s.paused, s.lease_extension) == (4, "us", "w1", False, False)
    # A value in code beats the variable for every task type, but not the task type's own.
    kept = resolve_task(email, "w1", environ={"BATON_WORKER_LEASE_EXTENSION": "false"})
    assert kept.lease_extension is True
    with pytest.raises(ValueError, match="lease_extension"):
        resolve_task(sms, "w1", environ={"BATON_WORKER_SMS_V2_LEASE_EXTENSION": "sometimes"})


def test_lease_extension_delay() -> None:
    assert lease_extension_delay(3600) == 2880
    assert lease_extension_delay(10) == 8
    assert lease_extension_delay(1) == 0.5
    assert lease_extension_delay(0.5) == 0.1


def test_message_limit_comes_from_the_stream_header_or_defaults_to_4_mib() -> None:
    assert DEFAULT_MAX_MESSAGE_BYTES == 4194304
    assert max_message_bytes([("baton-max-message-bytes", "5242880"), ("date", "x")]) == 5242880
    assert max_message_bytes(grpc.aio.Metadata(("baton-max-message-bytes", "2097152"))) == 2097152
    assert max_message_bytes([("Baton-Max-Message-Bytes", b" 1048576 ")]) == 1048576
    # An older server sends no such header; a value that is no size is ignored.
    assert max_message_bytes(grpc.aio.Metadata()) == 4194304
    assert max_message_bytes(None) == 4194304
    assert max_message_bytes([("baton-max-message-bytes", "lots")]) == 4194304
    assert max_message_bytes([("baton-max-message-bytes", "0")]) == 4194304


def test_result_over_the_message_limit_becomes_a_small_failure() -> None:
    task = make_task()
    task.log("a line that goes too")
    request = run_sync(Invoker(lambda: {"blob": "x" * 10_000}), task)
    request.result.token = "tok"
    size = request.ByteSize()
    assert size > 10_000 and len(request.result.logs) == 1

    untouched = task_pb2.WorkRequest()
    untouched.CopyFrom(request)
    assert fit_result(untouched, size) is None
    assert untouched == request

    assert fit_result(request, 5_000) == size
    result = request.result
    assert (result.task_id, result.token, result.workflow_id, result.worker_id) == ("t-1", "tok", "wf-1", "w")
    assert result.status == common_pb2.TASK_STATUS_FAILED
    assert not result.HasField("output") or len(result.output.fields) == 0
    assert len(result.logs) == 0 and result.callback_after_seconds == 0
    assert result.reason_for_incompletion == (
        f"the task result is {size} bytes, more than the 5000 bytes the server reads in one message"
    )
    assert fit_result(request, 5_000) is None  # the replacement fits: nothing loops


def test_errors_map_codes() -> None:
    err = error_for_code(grpc.StatusCode.NOT_FOUND, "no such workflow")
    assert isinstance(err, NotFoundError) and isinstance(err, BatonError)
    assert err.code is grpc.StatusCode.NOT_FOUND
    assert str(err) == "NOT_FOUND: no such workflow"
    assert isinstance(error_for_code(grpc.StatusCode.ALREADY_EXISTS, ""), AlreadyExistsError)
    assert type(error_for_code(grpc.StatusCode.DATA_LOSS, "x")) is BatonError
    import baton.errors as errors

    for code, kind in {
        grpc.StatusCode.NOT_FOUND: errors.NotFoundError,
        grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExistsError,
        grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgumentError,
        grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPreconditionError,
        grpc.StatusCode.UNAVAILABLE: errors.UnavailableError,
        grpc.StatusCode.DEADLINE_EXCEEDED: errors.DeadlineExceededError,
        grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhaustedError,
        grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDeniedError,
        grpc.StatusCode.UNAUTHENTICATED: errors.UnauthenticatedError,
        grpc.StatusCode.ABORTED: errors.AbortedError,
        grpc.StatusCode.INTERNAL: errors.InternalError,
    }.items():
        mapped = error_for_code(code, "why")
        assert type(mapped) is kind and mapped.code is code and mapped.message == "why"


def test_enums_match_proto() -> None:
    assert WorkflowStatus.from_proto(common_pb2.WORKFLOW_STATUS_PAUSED) is WorkflowStatus.PAUSED
    assert TaskStatus.from_proto(common_pb2.TASK_STATUS_TIMED_OUT) is TaskStatus.TIMED_OUT
    assert TaskStatus.FAILED.to_proto() == common_pb2.TASK_STATUS_FAILED
    assert (
        IdempotencyStrategy("RETURN_EXISTING").to_proto()
        == workflow_pb2.IDEMPOTENCY_STRATEGY_RETURN_EXISTING
    )
    for value in common_pb2.WorkflowStatus.values():
        WorkflowStatus.from_proto(value)
    for value in common_pb2.TaskStatus.values():
        TaskStatus.from_proto(value)


def test_schedule_requests() -> None:
    from baton._operations import _bulk_pause_request, _history_request, _preview_request, _trigger_request
    from baton.models import OverlapPolicy

    # An empty input is sent (it replaces nothing but is present); None leaves it unset.
    assert _trigger_request("s", {}, None).HasField("input")
    assert not _trigger_request("s", None, None).HasField("input")
    assert _trigger_request("s", None, OverlapPolicy.BUFFER_ONE).overlap == "BUFFER_ONE"
    assert _trigger_request("s", None, "skip").overlap == "skip"
    assert list(_bulk_pause_request("one", True, "").names) == ["one"]

    naive = _history_request("s", datetime.datetime(2026, 1, 1), None, None)
    aware = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    assert naive.from_time.ToDatetime(tzinfo=datetime.timezone.utc) == aware
    assert not naive.HasField("until_time") and naive.limit == 0

    request = _preview_request(None, {"name": "s", "cronExpression": "* * * * *"}, None, None, None, None, 5)
    assert request.WhichOneof("of") == "definition_json" and request.limit == 5
    assert json.loads(request.definition_json)["cronExpression"] == "* * * * *"
    assert _preview_request("s", None, None, None, None, None, None).WhichOneof("of") == "name"
    for wrong in ((None, None, None), ("s", None, "* * * * *")):
        with pytest.raises(ValueError):
            _preview_request(wrong[0], wrong[1], wrong[2], None, None, None, None)


def test_schedule_views_from_proto() -> None:
    from baton.models import Schedule, ScheduleHistoryEntry
    from baton.v1 import schedule_pb2

    view = schedule_pb2.ScheduleView(
        name="s", workflow_name="w", zone_id="UTC", definition_json='{"name": "s", "maxRuns": 3}', paused=True
    )
    view.counters.fired = 2
    view.next_run_time.FromSeconds(0)
    schedule = Schedule.from_proto(view)
    assert schedule.definition == {"name": "s", "maxRuns": 3} and schedule.counters.fired == 2
    assert schedule.next_run_time == datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    assert schedule.last_fired_time is None

    entry = schedule_pb2.ScheduleHistoryEntry()
    entry.event.update({"type": "STARTED", "workflowId": "wf-1", "shardIndex": 0})
    parsed = ScheduleHistoryEntry.from_proto(entry)
    assert (parsed.type, parsed.workflow_id, parsed.event["shardIndex"]) == ("STARTED", "wf-1", 0)
    assert parsed.slot_time is None
