"""Every client call, described once: the request it sends and what it makes of the answer.

Each call is a generator ("plan") that yields the steps it needs, an :class:`Rpc` or a
:class:`Sleep`, receives the answer to each, and returns the call's result. The blocking
:class:`baton.BatonClient` and the asyncio :class:`baton.AsyncBatonClient` run the same plans,
each with its own channel and sleep, so no call is written twice.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, Union

import grpc

from baton._struct import datetime_to_timestamp, dict_to_struct, message_to_dict, timestamp_to_datetime, to_jsonable
from baton.errors import DeadlineExceededError
from baton.models import (
    ApiKey,
    AuditEvent,
    AuditOutcome,
    BulkOperation,
    BulkScheduleOutcome,
    BulkWorkflowOutcome,
    EventHandler,
    IdempotencyStrategy,
    ImportOutcome,
    MetricsHistory,
    NewApiKey,
    OverlapPolicy,
    Role,
    Schedule,
    ScheduleHistoryEntry,
    SchedulePreview,
    SearchResult,
    TaskDefInfo,
    TaskInfo,
    TaskLogLine,
    TaskPage,
    TaskStatus,
    ValidationProblem,
    ValidationResult,
    Workflow,
    WorkflowDefInfo,
    WorkflowWait,
)
from baton.v1 import admin_pb2, common_pb2, metadata_pb2, monitor_pb2, schedule_pb2, task_pb2, workflow_pb2

T = TypeVar("T")


@dataclass(frozen=True)
class Rpc:
    """A step of a plan: call ``method`` of ``service`` with ``request``."""

    service: str
    """One of ``metadata``, ``workflows``, ``tasks``, ``schedules``, ``monitor``, ``admin``."""
    method: str
    request: Any
    timeout: float | None = None
    """Seconds the call may take; None for the client's default."""


@dataclass(frozen=True)
class Sleep:
    """A step of a plan: wait ``seconds`` before going on."""

    seconds: float


Step = Union[Rpc, Sleep]
Plan = Generator[Step, Any, T]
"""A call described as steps; its return value is the call's result."""


class Settings(Protocol):
    """What a plan reads from the client that runs it."""

    timeout: float


def _rpc(service: str, method: str, request: Any, timeout: float | None = None) -> Generator[Step, Any, Any]:
    response = yield Rpc(service, method, request, timeout)
    return response


DefinitionLike = Union[Mapping[str, Any], str, bytes, "os.PathLike[str]"]
"""A definition as a dict, as JSON text (str or bytes), or as a path to a JSON file."""

DEFAULT_TIMEOUT = 30.0
"""Seconds a call may take before it fails with :class:`baton.DeadlineExceededError`."""

def _definition(value: DefinitionLike) -> metadata_pb2.Definition:
    if isinstance(value, os.PathLike):
        with open(value, encoding="utf-8") as f:
            return metadata_pb2.Definition(json_text=f.read())
    if isinstance(value, bytes):
        return metadata_pb2.Definition(json_text=value.decode("utf-8"))
    if isinstance(value, str):
        return metadata_pb2.Definition(json_text=value)
    definition = metadata_pb2.Definition()
    dict_to_struct(value, definition.json)
    return definition


def _definitions(values: DefinitionLike | Iterable[Mapping[str, Any]]) -> list[metadata_pb2.Definition]:
    if isinstance(values, (Mapping, str, bytes, os.PathLike)):
        return [_definition(values)]
    return [_definition(v) for v in values]


def _start_request(
    name: str,
    input: Mapping[str, Any] | None,
    version: int | None,
    correlation_id: str | None,
    priority: int,
    task_to_domain: Mapping[str, str] | None,
    idempotency_key: str | None,
    idempotency_strategy: IdempotencyStrategy | str,
) -> workflow_pb2.StartWorkflowRequest:
    request = workflow_pb2.StartWorkflowRequest(
        name=name,
        correlation_id=correlation_id or "",
        priority=priority,
        idempotency_key=idempotency_key or "",
        idempotency_strategy=IdempotencyStrategy(idempotency_strategy).to_proto(),
    )
    if version:
        request.version = version
    dict_to_struct(input, request.input)
    if task_to_domain:
        request.task_to_domain.update(task_to_domain)
    return request


def _validation(response: metadata_pb2.ValidateWorkflowDefResponse) -> ValidationResult:
    return ValidationResult(
        valid=response.valid,
        errors=[ValidationProblem(path=e.path, message=e.message) for e in response.errors],
    )


def _json_text(value: DefinitionLike) -> str:
    if isinstance(value, os.PathLike):
        with open(value, encoding="utf-8") as f:
            return f.read()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(to_jsonable(value))


def _overlap(value: OverlapPolicy | str | None) -> str:
    if value is None:
        return ""
    return value.value if isinstance(value, OverlapPolicy) else value


def _save_schedule_request(definition: DefinitionLike) -> schedule_pb2.SaveScheduleRequest:
    return schedule_pb2.SaveScheduleRequest(definition_json=_json_text(definition))


def _bulk_pause_request(names: Iterable[str] | str, resume: bool, note: str) -> schedule_pb2.BulkPauseSchedulesRequest:
    return schedule_pb2.BulkPauseSchedulesRequest(
        names=[names] if isinstance(names, str) else list(names), resume=resume, note=note
    )


def _trigger_request(
    name: str, input: Mapping[str, Any] | None, overlap: OverlapPolicy | str | None
) -> schedule_pb2.TriggerScheduleRequest:
    request = schedule_pb2.TriggerScheduleRequest(name=name, overlap=_overlap(overlap))
    if input is not None:
        # Set even when empty: an unset input keeps the schedule's as defined.
        request.input.SetInParent()
        dict_to_struct(input, request.input)
    return request


def _backfill_request(
    name: str, from_time: _dt.datetime, until_time: _dt.datetime | None, overlap: OverlapPolicy | str | None
) -> schedule_pb2.BackfillScheduleRequest:
    request = schedule_pb2.BackfillScheduleRequest(name=name, overlap=_overlap(overlap))
    datetime_to_timestamp(from_time, request.from_time)
    if until_time is not None:
        datetime_to_timestamp(until_time, request.until_time)
    return request


def _preview_request(
    name: str | None,
    definition: DefinitionLike | None,
    cron_expression: str | None,
    zone_id: str | None,
    from_time: _dt.datetime | None,
    until_time: _dt.datetime | None,
    limit: int | None,
) -> schedule_pb2.PreviewScheduleRequest:
    given = [x is not None for x in (name, definition, cron_expression)]
    if sum(given) != 1:
        raise ValueError("preview_schedule takes exactly one of name, definition and cron_expression")
    request = schedule_pb2.PreviewScheduleRequest(zone_id=zone_id or "", limit=limit or 0)
    if name is not None:
        request.name = name
    elif definition is not None:
        request.definition_json = _json_text(definition)
    elif cron_expression is not None:
        request.cron_expression = cron_expression
    if from_time is not None:
        datetime_to_timestamp(from_time, request.from_time)
    if until_time is not None:
        datetime_to_timestamp(until_time, request.until_time)
    return request


def _history_request(
    name: str, from_time: _dt.datetime | None, until_time: _dt.datetime | None, limit: int | None
) -> schedule_pb2.GetScheduleHistoryRequest:
    request = schedule_pb2.GetScheduleHistoryRequest(name=name, limit=limit or 0)
    if from_time is not None:
        datetime_to_timestamp(from_time, request.from_time)
    if until_time is not None:
        datetime_to_timestamp(until_time, request.until_time)
    return request


def _audit_request(
    actor: str | None,
    action: str | None,
    outcome: AuditOutcome | str | None,
    since: _dt.datetime | None,
    until: _dt.datetime | None,
    before: int | None,
    limit: int | None,
) -> admin_pb2.ListAuditEventsRequest:
    request = admin_pb2.ListAuditEventsRequest(
        actor=actor or "",
        action=action or "",
        outcome=AuditOutcome.parse(outcome).to_proto() if outcome is not None else admin_pb2.AUDIT_OUTCOME_UNSPECIFIED,
        before=before or 0,
        limit=limit or 0,
    )
    if since is not None:
        datetime_to_timestamp(since, request.since)
    if until is not None:
        datetime_to_timestamp(until, request.until)
    return request


def _struct_or_none(value: Mapping[str, Any] | None, target: Any) -> None:
    # Sets a Struct field only when a value is given: absent and empty mean different things.
    if value is not None:
        target.SetInParent()
        dict_to_struct(value, target)


def _task_status(value: TaskStatus | str) -> common_pb2.TaskStatus.ValueType:
    return TaskStatus(value).to_proto()


def _task_logs(logs: Iterable[str | TaskLogLine] | None) -> list[common_pb2.TaskLog]:
    result = []
    for line in logs or ():
        if isinstance(line, TaskLogLine):
            log = common_pb2.TaskLog(message=line.message)
            if line.time is not None:
                datetime_to_timestamp(line.time, log.time)
        else:
            log = common_pb2.TaskLog(message=line)
        result.append(log)
    return result


def _search_result(response: Any) -> SearchResult:
    return SearchResult(total_hits=response.total_hits, results=[message_to_dict(r) for r in response.results])


# --- definitions ---------------------------------------------------------------------


def register_workflow_def(
    self: Settings, definition: DefinitionLike, *, overwrite: bool = False
) -> Plan[WorkflowDefInfo]:
    """Registers a workflow definition version.

    Fails with :class:`baton.AlreadyExistsError` if that name and version exist, unless
    ``overwrite`` is true (then the stored version is replaced).
    """
    if overwrite:
        return (yield from update_workflow_defs(self, definition))[0]
    request = metadata_pb2.RegisterWorkflowDefRequest(definition=_definition(definition))
    response = yield from _rpc("metadata", "RegisterWorkflowDef", request)
    return WorkflowDefInfo.from_proto(response.workflow_def)


def update_workflow_defs(
    self: Settings, definitions: DefinitionLike | Iterable[Mapping[str, Any]]
) -> Plan[list[WorkflowDefInfo]]:
    """Creates or replaces one or more workflow definitions."""
    request = metadata_pb2.UpdateWorkflowDefRequest(definitions=_definitions(definitions))
    response = yield from _rpc("metadata", "UpdateWorkflowDef", request)
    return [WorkflowDefInfo.from_proto(d) for d in response.workflow_defs]


def get_workflow_def(self: Settings, name: str, version: int | None = None) -> Plan[WorkflowDefInfo]:
    """Reads a workflow definition: the given version, or the latest."""
    request = metadata_pb2.GetWorkflowDefRequest(name=name)
    if version:
        request.version = version
    response = yield from _rpc("metadata", "GetWorkflowDef", request)
    return WorkflowDefInfo.from_proto(response.workflow_def)


def list_workflow_defs(
    self: Settings, name: str | None = None, *, all_versions: bool = False
) -> Plan[list[WorkflowDefInfo]]:
    """Lists workflow definitions (latest versions, or every version)."""
    request = metadata_pb2.ListWorkflowDefsRequest(name=name or "", all_versions=all_versions)
    response = yield from _rpc("metadata", "ListWorkflowDefs", request)
    return [WorkflowDefInfo.from_proto(d) for d in response.workflow_defs]


def delete_workflow_def(self: Settings, name: str, version: int) -> Plan[None]:
    """Deletes one version of a workflow definition."""
    yield from _rpc("metadata", "DeleteWorkflowDef", metadata_pb2.DeleteWorkflowDefRequest(name=name, version=version))


def validate_workflow_def(self: Settings, definition: DefinitionLike) -> Plan[ValidationResult]:
    """Checks a workflow definition without storing it."""
    request = metadata_pb2.ValidateWorkflowDefRequest(definition=_definition(definition))
    return _validation((yield from _rpc("metadata", "ValidateWorkflowDef", request)))


def register_task_defs(
    self: Settings, definitions: DefinitionLike | Iterable[Mapping[str, Any]]
) -> Plan[list[TaskDefInfo]]:
    """Creates or replaces task definitions: one dict, a list of dicts, or JSON text."""
    request = metadata_pb2.RegisterTaskDefsRequest(definitions=_definitions(definitions))
    response = yield from _rpc("metadata", "RegisterTaskDefs", request)
    return [TaskDefInfo.from_proto(d) for d in response.task_defs]


def get_task_def(self: Settings, name: str) -> Plan[TaskDefInfo]:
    """Reads one task definition."""
    response = yield from _rpc("metadata", "GetTaskDef", metadata_pb2.GetTaskDefRequest(name=name))
    return TaskDefInfo.from_proto(response.task_def)


def list_task_defs(self: Settings) -> Plan[list[TaskDefInfo]]:
    """Lists every task definition."""
    response = yield from _rpc("metadata", "ListTaskDefs", metadata_pb2.ListTaskDefsRequest())
    return [TaskDefInfo.from_proto(d) for d in response.task_defs]


def delete_task_def(self: Settings, name: str) -> Plan[None]:
    """Deletes a task definition."""
    yield from _rpc("metadata", "DeleteTaskDef", metadata_pb2.DeleteTaskDefRequest(name=name))


# --- event handlers --------------------------------------------------------------------


def add_event_handler(self: Settings, definition: DefinitionLike) -> Plan[EventHandler]:
    """Stores a new event handler (Conductor's JSON: name, event, condition, actions, active).

    Fails with :class:`baton.AlreadyExistsError` when one by that name exists.
    """
    request = metadata_pb2.AddEventHandlerRequest(handler=_definition(definition))
    response = yield from _rpc("metadata", "AddEventHandler", request)
    return EventHandler.from_proto(response.handler)


def update_event_handler(self: Settings, definition: DefinitionLike) -> Plan[EventHandler]:
    """Replaces the stored event handler that has the definition's name."""
    request = metadata_pb2.UpdateEventHandlerRequest(handler=_definition(definition))
    response = yield from _rpc("metadata", "UpdateEventHandler", request)
    return EventHandler.from_proto(response.handler)


def delete_event_handler(self: Settings, name: str) -> Plan[None]:
    """Deletes an event handler by name."""
    yield from _rpc("metadata", "DeleteEventHandler", metadata_pb2.DeleteEventHandlerRequest(name=name))


def get_event_handler(self: Settings, name: str) -> Plan[EventHandler]:
    """Reads one event handler; :class:`baton.NotFoundError` if there is none by that name."""
    response = yield from _rpc("metadata", "GetEventHandler", metadata_pb2.GetEventHandlerRequest(name=name))
    return EventHandler.from_proto(response.handler)


def list_event_handlers(
    self: Settings, event: str | None = None, *, active_only: bool = False
) -> Plan[list[EventHandler]]:
    """Lists event handlers by name: all, or those of one ``event`` (``provider:queue``)."""
    request = metadata_pb2.ListEventHandlersRequest(event=event or "", active_only=active_only)
    response = yield from _rpc("metadata", "ListEventHandlers", request)
    return [EventHandler.from_proto(h) for h in response.handlers]


# --- workflows -------------------------------------------------------------------------


def start_workflow(
    self: Settings,
    name: str,
    input: Mapping[str, Any] | None = None,
    *,
    version: int | None = None,
    correlation_id: str | None = None,
    priority: int = 0,
    task_to_domain: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    idempotency_strategy: IdempotencyStrategy | str = IdempotencyStrategy.FAIL,
) -> Plan[str]:
    """Starts an execution of a registered workflow, by name, and returns its id.

    With ``idempotency_key``, a second start with the same key follows
    ``idempotency_strategy``: FAIL raises :class:`baton.AlreadyExistsError`,
    RETURN_EXISTING returns the first execution's id, FAIL_ON_RUNNING refuses only while
    that execution is still running or paused.
    """
    request = _start_request(
        name, input, version, correlation_id, priority, task_to_domain, idempotency_key, idempotency_strategy
    )
    response = yield from _rpc("workflows", "StartWorkflow", request)
    return str(response.workflow_id)


def execute_workflow(
    self: Settings,
    name: str,
    input: Mapping[str, Any] | None = None,
    *,
    wait_seconds: int = 10,
    wait_until_task_ref: str | None = None,
    version: int | None = None,
    correlation_id: str | None = None,
    priority: int = 0,
    task_to_domain: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    idempotency_strategy: IdempotencyStrategy | str = IdempotencyStrategy.FAIL,
) -> Plan[Workflow]:
    """Starts an execution by name and waits up to ``wait_seconds`` (at most 300) for it to finish.

    With ``wait_until_task_ref``, returns as soon as the task with that reference name has
    finished, even while the execution goes on. Returns the execution as it stood when the
    wait ended, with its tasks; check :attr:`Workflow.is_terminal` to see whether it finished.
    """
    request = workflow_pb2.ExecuteWorkflowRequest(
        start=_start_request(
            name, input, version, correlation_id, priority, task_to_domain, idempotency_key, idempotency_strategy
        ),
        wait_seconds=wait_seconds,
        wait_until_task_ref=wait_until_task_ref or "",
    )
    response = yield from _rpc("workflows", "ExecuteWorkflow", request, wait_seconds + self.timeout)
    return Workflow.from_proto(response.workflow)


def wait_workflow(
    self: Settings,
    workflow_id: str,
    *,
    wait_seconds: int = 10,
    wait_until_task_ref: str | None = None,
) -> Plan[WorkflowWait]:
    """Waits up to ``wait_seconds`` (0 to 300; 0 means the server's default of 10) for an
    execution that already exists to finish, without starting anything.

    With ``wait_until_task_ref``, returns as soon as the task with that reference name has
    finished, even while the execution goes on. Returns a :class:`baton.WorkflowWait`: the
    execution as it stood when the wait ended (with its tasks), whether it had ``finished``
    and whether the task reference had (``task_ref_finished``); running out of time is not an
    error. Raises :class:`baton.NotFoundError` for an unknown execution or a task reference
    its definition lacks, :class:`baton.InvalidArgumentError` for ``wait_seconds`` outside 0-300.
    """
    request = workflow_pb2.WaitWorkflowRequest(
        workflow_id=workflow_id,
        wait_seconds=wait_seconds,
        wait_until_task_ref=wait_until_task_ref or "",
    )
    wait = (wait_seconds or 10) if 0 <= wait_seconds <= 300 else 0
    response = yield from _rpc("workflows", "WaitWorkflow", request, wait + self.timeout)
    return WorkflowWait.from_proto(response)


def get_workflow(self: Settings, workflow_id: str, *, include_tasks: bool = True) -> Plan[Workflow]:
    """Reads one execution, with its tasks unless ``include_tasks`` is false."""
    request = workflow_pb2.GetWorkflowRequest(workflow_id=workflow_id, include_tasks=include_tasks)
    response = yield from _rpc("workflows", "GetWorkflow", request)
    return Workflow.from_proto(response.workflow)


def get_workflows_by_correlation_id(
    self: Settings, name: str, correlation_id: str, *, include_closed: bool = False, include_tasks: bool = False
) -> Plan[list[Workflow]]:
    """Lists the executions of a workflow that carry a correlation id, oldest first."""
    request = workflow_pb2.GetWorkflowsByCorrelationIdRequest(
        name=name, correlation_id=correlation_id, include_closed=include_closed, include_tasks=include_tasks
    )
    response = yield from _rpc("workflows", "GetWorkflowsByCorrelationId", request)
    return [Workflow.from_proto(w) for w in response.workflows]


def get_workflows_by_correlation_ids(
    self: Settings,
    name: str,
    correlation_ids: Iterable[str],
    *,
    include_closed: bool = False,
    include_tasks: bool = False,
) -> Plan[dict[str, list[Workflow]]]:
    """Lists the executions of a workflow for several correlation ids (at most 1000).

    Returns a dict from each distinct correlation id, in the order given, to its executions,
    oldest first.
    """
    request = workflow_pb2.GetWorkflowsByCorrelationIdsRequest(
        name=name, correlation_ids=list(correlation_ids), include_closed=include_closed, include_tasks=include_tasks
    )
    response = yield from _rpc("workflows", "GetWorkflowsByCorrelationIds", request)
    return {r.correlation_id: [Workflow.from_proto(w) for w in r.workflows] for r in response.results}


def wait_for_workflow(
    self: Settings, workflow_id: str, *, timeout: float = 60.0, poll_interval: float = 0.1
) -> Plan[Workflow]:
    """Polls an execution until it reaches a terminal status and returns it.

    Raises :class:`baton.DeadlineExceededError` if it is still running after ``timeout``
    seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        workflow = yield from get_workflow(self, workflow_id)
        if workflow.is_terminal:
            return workflow
        if time.monotonic() >= deadline:
            raise DeadlineExceededError(
                f"workflow {workflow_id} still {workflow.status.value} after {timeout}s",
                grpc.StatusCode.DEADLINE_EXCEEDED,
            )
        yield Sleep(poll_interval)


def pause_workflow(self: Settings, workflow_id: str) -> Plan[None]:
    """Pauses a running execution: nothing new is scheduled until it is resumed."""
    yield from _rpc("workflows", "PauseWorkflow", workflow_pb2.PauseWorkflowRequest(workflow_id=workflow_id))


def resume_workflow(self: Settings, workflow_id: str) -> Plan[None]:
    """Resumes a paused execution."""
    yield from _rpc("workflows", "ResumeWorkflow", workflow_pb2.ResumeWorkflowRequest(workflow_id=workflow_id))


def terminate_workflow(self: Settings, workflow_id: str, reason: str = "") -> Plan[None]:
    """Terminates a running or paused execution and cancels its unfinished tasks."""
    request = workflow_pb2.TerminateWorkflowRequest(workflow_id=workflow_id, reason=reason)
    yield from _rpc("workflows", "TerminateWorkflow", request)


def restart_workflow(self: Settings, workflow_id: str, *, use_latest_definitions: bool = False) -> Plan[None]:
    """Runs a terminal execution again from the beginning, under the same id."""
    request = workflow_pb2.RestartWorkflowRequest(
        workflow_id=workflow_id, use_latest_definitions=use_latest_definitions
    )
    yield from _rpc("workflows", "RestartWorkflow", request)


def retry_workflow(self: Settings, workflow_id: str, *, resume_subworkflow_tasks: bool = False) -> Plan[None]:
    """Resumes a failed, timed-out or terminated execution from its failed task."""
    request = workflow_pb2.RetryWorkflowRequest(
        workflow_id=workflow_id, resume_subworkflow_tasks=resume_subworkflow_tasks
    )
    yield from _rpc("workflows", "RetryWorkflow", request)


def remove_workflow(self: Settings, workflow_id: str) -> Plan[None]:
    """Deletes an execution and its tasks."""
    yield from _rpc("workflows", "RemoveWorkflow", workflow_pb2.RemoveWorkflowRequest(workflow_id=workflow_id))


def rerun_workflow(
    self: Settings,
    workflow_id: str,
    task_id: str,
    *,
    task_input: Mapping[str, Any] | None = None,
    workflow_input: Mapping[str, Any] | None = None,
) -> Plan[None]:
    """Runs an execution again from one of its task instances (running or terminal).

    That instance and every task scheduled after it are removed and the task is scheduled
    anew. ``task_input`` replaces the input of a worker task run again; ``workflow_input``
    replaces the execution's input. Either, when omitted, is left as it is.
    """
    request = workflow_pb2.RerunWorkflowRequest(workflow_id=workflow_id, task_id=task_id)
    _struct_or_none(task_input, request.task_input)
    _struct_or_none(workflow_input, request.workflow_input)
    yield from _rpc("workflows", "RerunWorkflow", request)


def skip_task(
    self: Settings,
    workflow_id: str,
    task_ref_name: str,
    *,
    task_input: Mapping[str, Any] | None = None,
    task_output: Mapping[str, Any] | None = None,
) -> Plan[bool]:
    """Skips a task of a running execution by reference name; the flow goes on past it.

    Returns True when the task was skipped at once (it was scheduled or running), False when
    it will be skipped once the flow reaches it. ``task_output`` is what the tasks after it
    see as its output. A finished task is refused.
    """
    request = workflow_pb2.SkipTaskRequest(workflow_id=workflow_id, task_ref_name=task_ref_name)
    _struct_or_none(task_input, request.task_input)
    _struct_or_none(task_output, request.task_output)
    response = yield from _rpc("workflows", "SkipTask", request)
    return bool(response.skipped_now)


def reset_callbacks(self: Settings, workflow_id: str) -> Plan[None]:
    """Makes the tasks of an execution that wait out a ``callbackAfterSeconds`` ready now."""
    yield from _rpc("workflows", "ResetCallbacks", workflow_pb2.ResetCallbacksRequest(workflow_id=workflow_id))


def decide_workflow(self: Settings, workflow_id: str) -> Plan[None]:
    """Re-evaluates an execution now, scheduling whatever is due; harmless when nothing is."""
    yield from _rpc("workflows", "DecideWorkflow", workflow_pb2.DecideWorkflowRequest(workflow_id=workflow_id))


def list_workflow_tasks(
    self: Settings,
    workflow_id: str,
    *,
    statuses: Iterable[TaskStatus | str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Plan[TaskPage]:
    """Lists the task instances of an execution a page at a time, in scheduling order.

    ``statuses`` keeps only tasks in one of them; ``limit`` defaults to 100 (at most 1000).
    """
    request = workflow_pb2.ListWorkflowTasksRequest(
        workflow_id=workflow_id,
        statuses=[_task_status(s) for s in statuses or ()],
        offset=offset,
        limit=limit or 0,
    )
    response = yield from _rpc("workflows", "ListWorkflowTasks", request)
    return TaskPage(
        tasks=[TaskInfo.from_proto(t) for t in response.tasks], total=response.total, next_offset=response.next_offset
    )


def get_running_workflows(
    self: Settings,
    name: str,
    *,
    version: int | None = None,
    created_after: _dt.datetime | None = None,
    created_before: _dt.datetime | None = None,
) -> Plan[list[str]]:
    """Lists the ids of the running and paused executions of a workflow, oldest first."""
    request = workflow_pb2.GetRunningWorkflowsRequest(name=name)
    if version:
        request.version = version
    if created_after is not None:
        datetime_to_timestamp(created_after, request.created_after)
    if created_before is not None:
        datetime_to_timestamp(created_before, request.created_before)
    response = yield from _rpc("workflows", "GetRunningWorkflows", request)
    return list(response.workflow_ids)


def run_bulk_operation(
    self: Settings,
    operation: BulkOperation | str,
    workflow_ids: Iterable[str],
    *,
    reason: str = "",
    use_latest_definitions: bool = False,
) -> Plan[list[BulkWorkflowOutcome]]:
    """Applies one operation to up to 1000 executions; one outcome per id, in the order given.

    An execution the operation fails for does not stop the others: its outcome has ``ok``
    false with the status code and reason. ``reason`` applies to TERMINATE and
    ``use_latest_definitions`` to RESTART.
    """
    request = workflow_pb2.RunBulkOperationRequest(
        operation=BulkOperation(operation).to_proto(),
        workflow_ids=list(workflow_ids),
        reason=reason,
        use_latest_definitions=use_latest_definitions,
    )
    response = yield from _rpc("workflows", "RunBulkOperation", request)
    return [BulkWorkflowOutcome.from_proto(r) for r in response.results]


def search_workflows(
    self: Settings,
    query: str = "",
    *,
    free_text: str = "",
    sort: Iterable[str] = (),
    start: int = 0,
    size: int | None = None,
    by_tasks: bool = False,
) -> Plan[SearchResult]:
    """Searches executions with Conductor's query language (``status = 'FAILED' AND ...``).

    ``free_text`` matches ids, inputs, outputs and failure reasons; ``sort`` holds keys such
    as ``startTime:DESC``; ``size`` defaults to 100 (0 only counts). With ``by_tasks`` the
    query and sort name task fields and each execution with a matching task is listed once.
    The index follows changes within a second or two.
    """
    request = workflow_pb2.SearchWorkflowsRequest(
        query=query, free_text=free_text, sort=list(sort), start=start, by_tasks=by_tasks
    )
    if size is not None:
        request.size = size
    return _search_result((yield from _rpc("workflows", "SearchWorkflows", request)))


def import_workflows(self: Settings, lines: Iterable[bytes | str]) -> Plan[ImportOutcome]:
    """Loads archived executions back (lines of retention's archive files, at most 1000).

    Every line is checked before anything is written; ids stored already are skipped.
    """
    encoded = [line.encode("utf-8") if isinstance(line, str) else line for line in lines]
    response = yield from _rpc("workflows", "ImportWorkflows", workflow_pb2.ImportWorkflowsRequest(lines=encoded))
    return ImportOutcome(imported=response.imported, already_present=response.already_present)


def get_retention(self: Settings) -> Plan[dict[str, Any]]:
    """Reads retention's defaults, archive directory and counters since the server started.

    The dict has the fields of ``baton.v1.GetRetentionResponse`` (``max_age_seconds``,
    ``keep_last``, ``archive_dir``, ``passes``, ``removed``, ``archived``, ...).
    """
    return message_to_dict((yield from _rpc("workflows", "GetRetention", workflow_pb2.GetRetentionRequest())))


# --- tasks -----------------------------------------------------------------------------


def get_task(self: Settings, task_id: str) -> Plan[TaskInfo]:
    """Reads one task instance."""
    response = yield from _rpc("tasks", "GetTask", task_pb2.GetTaskRequest(task_id=task_id))
    return TaskInfo.from_proto(response.task)


def get_task_logs(self: Settings, task_id: str) -> Plan[list[TaskLogLine]]:
    """Reads the log lines workers wrote for a task, oldest first."""
    response = yield from _rpc("tasks", "GetTaskLogs", task_pb2.GetTaskLogsRequest(task_id=task_id))
    return [TaskLogLine.from_proto(log) for log in response.logs]


def add_task_logs(self: Settings, task_id: str, logs: Iterable[str | TaskLogLine]) -> Plan[None]:
    """Adds log lines to a task, oldest first (plain strings are stamped by the server)."""
    request = task_pb2.AddTaskLogsRequest(task_id=task_id, logs=_task_logs(logs))
    yield from _rpc("tasks", "AddTaskLogs", request)


def update_task_by_ref(
    self: Settings,
    workflow_id: str,
    task_ref_name: str,
    status: TaskStatus | str,
    output: Mapping[str, Any] | None = None,
    *,
    reason_for_incompletion: str = "",
    logs: Iterable[str | TaskLogLine] | None = None,
    worker_id: str = "",
) -> Plan[str]:
    """Reports the outcome of a task by its reference name and returns the id of the instance.

    This is how WAIT and HUMAN tasks are signalled: ``status`` COMPLETED, FAILED,
    FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS for the task's latest instance, with its
    ``output`` (merged into earlier output for IN_PROGRESS).
    """
    request = task_pb2.UpdateTaskByRefRequest(
        workflow_id=workflow_id,
        task_ref_name=task_ref_name,
        status=_task_status(status),
        reason_for_incompletion=reason_for_incompletion,
        logs=_task_logs(logs),
        worker_id=worker_id,
    )
    dict_to_struct(output, request.output)
    response = yield from _rpc("tasks", "UpdateTaskByRef", request)
    return str(response.task_id)


def poll_task(
    self: Settings, task_type: str, *, domain: str = "", worker_id: str = "", timeout_ms: int = 0
) -> Plan[dict[str, Any] | None]:
    """Takes one ready task of ``task_type``, waiting up to ``timeout_ms`` (at most 60000).

    Returns the assignment as a dict (``task_id``, ``token``, ``workflow_id``, ``input``,
    ``lease_deadline``, ... of ``baton.v1.TaskAssignment``), or None when none was ready.
    Report its outcome with :meth:`update_task`. For long-running workers use
    :class:`baton.Worker` instead.
    """
    request = task_pb2.PollRequest(task_type=task_type, domain=domain, worker_id=worker_id, timeout_ms=timeout_ms)
    response = yield from _rpc("tasks", "Poll", request, timeout_ms / 1000 + self.timeout)
    return message_to_dict(response.task) if response.HasField("task") else None


def batch_poll_tasks(
    self: Settings, task_type: str, count: int, *, domain: str = "", worker_id: str = "", timeout_ms: int = 0
) -> Plan[list[dict[str, Any]]]:
    """Takes up to ``count`` (1-1000) ready tasks, as :meth:`poll_task`; empty when none was ready."""
    request = task_pb2.BatchPollRequest(
        task_type=task_type, domain=domain, worker_id=worker_id, count=count, timeout_ms=timeout_ms
    )
    response = yield from _rpc("tasks", "BatchPoll", request, timeout_ms / 1000 + self.timeout)
    return [message_to_dict(t) for t in response.tasks]


def update_task(
    self: Settings,
    task_id: str,
    token: str,
    status: TaskStatus | str,
    output: Mapping[str, Any] | None = None,
    *,
    reason_for_incompletion: str = "",
    logs: Iterable[str | TaskLogLine] | None = None,
    callback_after_seconds: int = 0,
    worker_id: str = "",
    workflow_id: str = "",
) -> Plan[None]:
    """Reports the outcome of a polled task, quoting the ``token`` of its assignment.

    ``status`` is COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS; with
    IN_PROGRESS, ``callback_after_seconds`` hides the task that long before it is handed out
    again.
    """
    result = task_pb2.TaskResult(
        task_id=task_id,
        token=token,
        status=_task_status(status),
        reason_for_incompletion=reason_for_incompletion,
        logs=_task_logs(logs),
        callback_after_seconds=callback_after_seconds,
        worker_id=worker_id,
        workflow_id=workflow_id,
    )
    dict_to_struct(output, result.output)
    yield from _rpc("tasks", "UpdateTask", task_pb2.UpdateTaskRequest(result=result))


def extend_lease(self: Settings, task_id: str, token: str, *, workflow_id: str = "") -> Plan[_dt.datetime | None]:
    """Asks for more time on a polled task and returns the new lease deadline."""
    request = task_pb2.ExtendLeaseRequest(task_id=task_id, token=token, workflow_id=workflow_id)
    response = yield from _rpc("tasks", "ExtendLease", request)
    return timestamp_to_datetime(response, "lease_deadline")


def list_queues(self: Settings, task_type: str | None = None) -> Plan[list[dict[str, Any]]]:
    """Lists the ready queues (``task_type``, ``domain``, ``depth``, ``subscribers``)."""
    response = yield from _rpc("tasks", "ListQueues", task_pb2.ListQueuesRequest(task_type=task_type or ""))
    return [message_to_dict(q) for q in response.queues]


def list_workers(self: Settings, task_type: str | None = None) -> Plan[list[dict[str, Any]]]:
    """Lists the workers the server knows of, stream workers first, then pollers.

    Each is a dict of ``baton.v1.WorkerInfo`` fields (``kind`` STREAM or POLL,
    ``worker_id``, ``task_types``, ``domain``, ``credits``, ``in_flight``, ...).
    """
    response = yield from _rpc("tasks", "ListWorkers", task_pb2.ListWorkersRequest(task_type=task_type or ""))
    return [message_to_dict(w) for w in response.workers]


def search_tasks(
    self: Settings,
    query: str = "",
    *,
    free_text: str = "",
    sort: Iterable[str] = (),
    start: int = 0,
    size: int | None = None,
) -> Plan[SearchResult]:
    """Searches task instances; the query names task fields (``taskType``, ``status``, ...).

    Paging, sort and free text work as in :meth:`search_workflows`.
    """
    request = task_pb2.SearchTasksRequest(query=query, free_text=free_text, sort=list(sort), start=start)
    if size is not None:
        request.size = size
    return _search_result((yield from _rpc("tasks", "SearchTasks", request)))


# --- monitoring ------------------------------------------------------------------------


def get_overview(self: Settings, recent_failures: int = 0) -> Plan[dict[str, Any]]:
    """One reading of the server: counters, recent latencies, queues, workers, recent failures.

    The dict has the fields of ``baton.v1.GetOverviewResponse``; ``recent_failures`` is how
    many failed executions to list (default 10, at most 100).
    """
    request = monitor_pb2.GetOverviewRequest(recent_failures=recent_failures)
    return message_to_dict((yield from _rpc("monitor", "GetOverview", request)))


def get_metrics_history(self: Settings, minutes: int = 0) -> Plan[MetricsHistory]:
    """The last ``minutes`` of the server's key figures, one sample per ten seconds.

    Each :class:`baton.MetricsSample` counts the workflows and tasks that started or ended in
    its interval, gives the queue-wait and run-time quantiles over it, and the queue depth and
    stream workers at its end; the samples come oldest first. The server keeps an hour:
    ``minutes`` is at most 60, and 0 (the default) answers the whole hour. The first sample
    comes ten seconds after the server started. Fails with :class:`baton.InvalidArgumentError`
    when ``minutes`` is negative or above 60.
    """
    request = monitor_pb2.GetMetricsHistoryRequest(minutes=minutes)
    return MetricsHistory.from_proto((yield from _rpc("monitor", "GetMetricsHistory", request)))


# --- schedules -------------------------------------------------------------------------


def save_schedule(self: Settings, definition: DefinitionLike) -> Plan[Schedule]:
    """Creates a schedule, or replaces the definition of one keeping its state.

    ``definition`` is Conductor's schedule JSON (``name``, ``cronExpression``,
    ``zoneId``, ``startWorkflowRequest``, ...) with Baton's extensions (``cronSchedules``,
    ``intervals``, ``misfirePolicy``, ``overlapPolicy``, ``jitterMs``, ``maxRuns``, ...),
    as a dict, JSON text or a path to a JSON file. Fails with
    :class:`baton.InvalidArgumentError` when it is malformed or invalid, or when the
    workflow it starts is not defined.
    """
    response = yield from _rpc("schedules", "SaveSchedule", _save_schedule_request(definition))
    return Schedule.from_proto(response.schedule)


def get_schedule(self: Settings, name: str) -> Plan[Schedule]:
    """Reads one schedule; :class:`baton.NotFoundError` if there is none by that name."""
    response = yield from _rpc("schedules", "GetSchedule", schedule_pb2.GetScheduleRequest(name=name))
    return Schedule.from_proto(response.schedule)


def list_schedules(self: Settings, workflow_name: str | None = None) -> Plan[list[Schedule]]:
    """Lists schedules in name order, or only those starting ``workflow_name``."""
    request = schedule_pb2.ListSchedulesRequest(workflow_name=workflow_name or "")
    response = yield from _rpc("schedules", "ListSchedules", request)
    return [Schedule.from_proto(v) for v in response.schedules]


def delete_schedule(self: Settings, name: str) -> Plan[None]:
    """Deletes a schedule and its history; the runs it started and that are still open go on."""
    yield from _rpc("schedules", "DeleteSchedule", schedule_pb2.DeleteScheduleRequest(name=name))


def pause_schedule(self: Settings, name: str, note: str = "") -> Plan[Schedule]:
    """Pauses a schedule (slots already due are handled first) and returns it as it stands."""
    response = yield from _rpc("schedules", "PauseSchedule", schedule_pb2.PauseScheduleRequest(name=name, note=note))
    return Schedule.from_proto(response.schedule)


def resume_schedule(self: Settings, name: str, note: str = "") -> Plan[Schedule]:
    """Resumes a paused schedule; slots that came during the pause follow its misfire policy."""
    response = yield from _rpc(
        "schedules", "ResumeSchedule", schedule_pb2.ResumeScheduleRequest(name=name, note=note)
    )
    return Schedule.from_proto(response.schedule)


def pause_schedules(self: Settings, names: Iterable[str], note: str = "") -> Plan[list[BulkScheduleOutcome]]:
    """Pauses several schedules; one outcome per name, in the order given.

    A schedule that cannot be paused (for example an unknown name) does not stop the
    others: its outcome has ``ok`` false and the server's reason in ``error``.
    """
    response = yield from _rpc("schedules", "BulkPauseSchedules", _bulk_pause_request(names, False, note))
    return [BulkScheduleOutcome.from_proto(o) for o in response.outcomes]


def resume_schedules(self: Settings, names: Iterable[str], note: str = "") -> Plan[list[BulkScheduleOutcome]]:
    """Resumes several schedules; one outcome per name, as :meth:`pause_schedules`."""
    response = yield from _rpc("schedules", "BulkPauseSchedules", _bulk_pause_request(names, True, note))
    return [BulkScheduleOutcome.from_proto(o) for o in response.outcomes]


def trigger_schedule(
    self: Settings,
    name: str,
    input: Mapping[str, Any] | None = None,
    *,
    overlap: OverlapPolicy | str | None = None,
) -> Plan[list[str]]:
    """Runs a schedule's workflow now, paused or not, and returns the ids of the runs started.

    ``input`` is merged into the schedule's workflow input for this run. ``overlap``
    replaces the schedule's overlap policy for this run; the list is empty when that
    policy skipped or buffered the run.
    """
    response = yield from _rpc("schedules", "TriggerSchedule", _trigger_request(name, input, overlap))
    return list(response.workflow_ids)


def backfill_schedule(
    self: Settings,
    name: str,
    from_time: _dt.datetime,
    until_time: _dt.datetime | None = None,
    *,
    overlap: OverlapPolicy | str | None = None,
) -> Plan[Schedule]:
    """Runs every slot of ``[from_time, until_time]`` that has not run yet, whatever the
    misfire policy says.

    ``until_time`` defaults to now (slots after now are left to the schedule); naive
    datetimes are taken as UTC. ``overlap`` replaces the schedule's overlap policy for
    these runs. Large ranges go on in the background after the call returns; the
    schedule's ``counters.backfilled`` counts the slots started.
    """
    response = yield from _rpc(
        "schedules", "BackfillSchedule", _backfill_request(name, from_time, until_time, overlap)
    )
    return Schedule.from_proto(response.schedule)


def preview_schedule(
    self: Settings,
    name: str | None = None,
    *,
    definition: DefinitionLike | None = None,
    cron_expression: str | None = None,
    zone_id: str | None = None,
    from_time: _dt.datetime | None = None,
    until_time: _dt.datetime | None = None,
    limit: int | None = None,
) -> Plan[SchedulePreview]:
    """Lists the slots a schedule fires after ``from_time`` (default now) up to
    ``until_time`` (default a year later), at most ``limit`` (default 10).

    Give exactly one of: the ``name`` of a saved schedule, an unsaved ``definition``
    (as for :meth:`save_schedule`), or a ``cron_expression`` read in ``zone_id``
    (default UTC; ``zone_id`` is used only with ``cron_expression``).
    """
    request = _preview_request(name, definition, cron_expression, zone_id, from_time, until_time, limit)
    return SchedulePreview.from_proto((yield from _rpc("schedules", "PreviewSchedule", request)))


def get_schedule_history(
    self: Settings,
    name: str,
    *,
    from_time: _dt.datetime | None = None,
    until_time: _dt.datetime | None = None,
    limit: int | None = None,
) -> Plan[list[ScheduleHistoryEntry]]:
    """Reads a schedule's history, newest first: entries whose slot is in
    ``[from_time, until_time]`` (default all), at most ``limit`` (default 100).
    """
    response = yield from _rpc(
        "schedules", "GetScheduleHistory", _history_request(name, from_time, until_time, limit)
    )
    return [ScheduleHistoryEntry.from_proto(e) for e in response.entries]


# --- API keys and the audit log ---------------------------------------------------------


def create_api_key(self: Settings, name: str, role: Role | str) -> Plan[NewApiKey]:
    """Makes an API key with a ``name`` (who or what uses it, at most 200 characters) and a
    ``role`` (:class:`baton.Role` or its name: ``admin``, ``operator``, ``worker``, ``viewer``).

    Returns a :class:`baton.NewApiKey`: the stored key and, this once, its ``key_text``
    (``bk_<id>_<secret>``, for ``api_key=`` or ``BATON_API_KEY``) and ``secret`` (Conductor's
    ``keySecret``). Needs the admin role when the server runs with authentication on.
    Raises ``ValueError`` for an unknown role name.
    """
    request = admin_pb2.CreateApiKeyRequest(name=name, role=Role.parse(role).to_proto())
    return NewApiKey.from_proto((yield from _rpc("admin", "CreateApiKey", request)))


def list_api_keys(self: Settings) -> Plan[list[ApiKey]]:
    """Lists every API key, revoked ones too, oldest first (never their secrets).

    Needs the admin role when the server runs with authentication on.
    """
    response = yield from _rpc("admin", "ListApiKeys", admin_pb2.ListApiKeysRequest())
    return [ApiKey.from_proto(k) for k in response.keys]


def revoke_api_key(self: Settings, key_id: str) -> Plan[ApiKey]:
    """Revokes an API key by id and returns it, revoked: the key and every token made from it
    are refused from then on (:class:`baton.UnauthenticatedError`).

    Revoking a revoked key changes nothing; an unknown id raises
    :class:`baton.NotFoundError`. Needs the admin role when the server runs with
    authentication on.
    """
    response = yield from _rpc("admin", "RevokeApiKey", admin_pb2.RevokeApiKeyRequest(id=key_id))
    return ApiKey.from_proto(response.key)


def list_audit_events(
    self: Settings,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: AuditOutcome | str | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
    before: int | None = None,
    limit: int | None = None,
) -> Plan[list[AuditEvent]]:
    """Reads the audit log, newest first: requests that changed something, and refused ones.

    Filters (each optional): ``actor``, a key id or a key's name, exactly; ``action``, text
    the action contains, in any case (``"StartWorkflow"``); ``outcome``
    (:class:`baton.AuditOutcome` or its name: ``ok``, ``denied``, ``failed``); entries at or
    after ``since`` and before ``until`` (naive datetimes are taken as UTC). ``limit`` is
    1-1000 (default 100); for the next page pass the ``seq`` of the last entry as
    ``before``. Entries are written a few milliseconds after the request was answered. Needs
    the admin role when the server runs with authentication on.
    """
    request = _audit_request(actor, action, outcome, since, until, before, limit)
    response = yield from _rpc("admin", "ListAuditEvents", request)
    return [AuditEvent.from_proto(e) for e in response.events]
