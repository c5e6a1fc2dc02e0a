"""Clients for registering definitions and starting and steering workflows.

:class:`BatonClient` is blocking; :class:`AsyncBatonClient` offers the same methods as
coroutines. Both speak gRPC to ``baton server``; definitions use Conductor's JSON DSL and may
be given as dicts or as JSON text, and so may schedule definitions (Conductor's schedule
JSON). Every server error is raised as a
:class:`baton.BatonError` subclass that carries the gRPC status code.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any, Union

import grpc
import grpc.aio

from baton._channel import channel_options, resolve_address
from baton._struct import datetime_to_timestamp, dict_to_struct, to_jsonable
from baton.errors import BatonError, DeadlineExceededError, from_rpc_error
from baton.models import (
    BulkScheduleOutcome,
    IdempotencyStrategy,
    OverlapPolicy,
    Schedule,
    ScheduleHistoryEntry,
    SchedulePreview,
    TaskDefInfo,
    TaskInfo,
    TaskLogLine,
    ValidationProblem,
    ValidationResult,
    Workflow,
    WorkflowDefInfo,
)
from baton.v1 import (
    metadata_pb2,
    metadata_pb2_grpc,
    schedule_pb2,
    schedule_pb2_grpc,
    task_pb2,
    task_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)

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


class BatonClient:
    """Blocking client for a Baton server.

    Args:
        address: ``host:port`` of the server; defaults to ``BATON_SERVER`` or
            ``127.0.0.1:7070``.
        timeout: default seconds per call.
        credentials: channel credentials for TLS; plaintext when omitted.

    The client is thread-safe and should be reused; close it (or use it as a context
    manager) when done.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.address = resolve_address(address)
        self.timeout = timeout
        if credentials is None:
            self._channel = grpc.insecure_channel(self.address, options=channel_options())
        else:
            self._channel = grpc.secure_channel(self.address, credentials, options=channel_options())
        self._metadata = metadata_pb2_grpc.MetadataServiceStub(self._channel)
        self._workflows = workflow_pb2_grpc.WorkflowServiceStub(self._channel)
        self._tasks = task_pb2_grpc.TaskServiceStub(self._channel)
        self._schedules = schedule_pb2_grpc.ScheduleServiceStub(self._channel)

    def close(self) -> None:
        """Closes the connection."""
        self._channel.close()

    def __enter__(self) -> BatonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    # --- definitions -----------------------------------------------------------------

    def register_workflow_def(self, definition: DefinitionLike, *, overwrite: bool = False) -> WorkflowDefInfo:
        """Registers a workflow definition version.

        Fails with :class:`baton.AlreadyExistsError` if that name and version exist, unless
        ``overwrite`` is true (then the stored version is replaced).
        """
        if overwrite:
            return self.update_workflow_defs(definition)[0]
        response = self._call(
            self._metadata.RegisterWorkflowDef,
            metadata_pb2.RegisterWorkflowDefRequest(definition=_definition(definition)),
        )
        return WorkflowDefInfo.from_proto(response.workflow_def)

    def update_workflow_defs(
        self, definitions: DefinitionLike | Iterable[Mapping[str, Any]]
    ) -> list[WorkflowDefInfo]:
        """Creates or replaces one or more workflow definitions."""
        response = self._call(
            self._metadata.UpdateWorkflowDef,
            metadata_pb2.UpdateWorkflowDefRequest(definitions=_definitions(definitions)),
        )
        return [WorkflowDefInfo.from_proto(d) for d in response.workflow_defs]

    def get_workflow_def(self, name: str, version: int | None = None) -> WorkflowDefInfo:
        """Reads a workflow definition: the given version, or the latest."""
        request = metadata_pb2.GetWorkflowDefRequest(name=name)
        if version:
            request.version = version
        response = self._call(self._metadata.GetWorkflowDef, request)
        return WorkflowDefInfo.from_proto(response.workflow_def)

    def list_workflow_defs(self, name: str | None = None, *, all_versions: bool = False) -> list[WorkflowDefInfo]:
        """Lists workflow definitions (latest versions, or every version)."""
        response = self._call(
            self._metadata.ListWorkflowDefs,
            metadata_pb2.ListWorkflowDefsRequest(name=name or "", all_versions=all_versions),
        )
        return [WorkflowDefInfo.from_proto(d) for d in response.workflow_defs]

    def delete_workflow_def(self, name: str, version: int) -> None:
        """Deletes one version of a workflow definition."""
        self._call(
            self._metadata.DeleteWorkflowDef,
            metadata_pb2.DeleteWorkflowDefRequest(name=name, version=version),
        )

    def validate_workflow_def(self, definition: DefinitionLike) -> ValidationResult:
        """Checks a workflow definition without storing it."""
        response = self._call(
            self._metadata.ValidateWorkflowDef,
            metadata_pb2.ValidateWorkflowDefRequest(definition=_definition(definition)),
        )
        return _validation(response)

    def register_task_defs(self, definitions: DefinitionLike | Iterable[Mapping[str, Any]]) -> list[TaskDefInfo]:
        """Creates or replaces task definitions: one dict, a list of dicts, or JSON text."""
        response = self._call(
            self._metadata.RegisterTaskDefs,
            metadata_pb2.RegisterTaskDefsRequest(definitions=_definitions(definitions)),
        )
        return [TaskDefInfo.from_proto(d) for d in response.task_defs]

    def get_task_def(self, name: str) -> TaskDefInfo:
        """Reads one task definition."""
        response = self._call(self._metadata.GetTaskDef, metadata_pb2.GetTaskDefRequest(name=name))
        return TaskDefInfo.from_proto(response.task_def)

    def list_task_defs(self) -> list[TaskDefInfo]:
        """Lists every task definition."""
        response = self._call(self._metadata.ListTaskDefs, metadata_pb2.ListTaskDefsRequest())
        return [TaskDefInfo.from_proto(d) for d in response.task_defs]

    def delete_task_def(self, name: str) -> None:
        """Deletes a task definition."""
        self._call(self._metadata.DeleteTaskDef, metadata_pb2.DeleteTaskDefRequest(name=name))

    # --- workflows -------------------------------------------------------------------

    def start_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
        correlation_id: str | None = None,
        priority: int = 0,
        task_to_domain: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_strategy: IdempotencyStrategy | str = IdempotencyStrategy.FAIL,
    ) -> str:
        """Starts an execution of a registered workflow and returns its id.

        With ``idempotency_key``, a second start with the same key follows
        ``idempotency_strategy``: FAIL raises :class:`baton.AlreadyExistsError`,
        RETURN_EXISTING returns the first execution's id, FAIL_ON_RUNNING refuses only while
        that execution is still running or paused.
        """
        request = _start_request(
            name, input, version, correlation_id, priority, task_to_domain, idempotency_key, idempotency_strategy
        )
        response = self._call(self._workflows.StartWorkflow, request)
        return str(response.workflow_id)

    def execute_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        wait_seconds: int = 10,
        version: int | None = None,
        correlation_id: str | None = None,
        priority: int = 0,
        task_to_domain: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_strategy: IdempotencyStrategy | str = IdempotencyStrategy.FAIL,
    ) -> Workflow:
        """Starts an execution and waits up to ``wait_seconds`` (at most 300) for it to finish.

        Returns the execution as it stood when the wait ended, with its tasks; check
        :attr:`Workflow.is_terminal` to see whether it finished.
        """
        request = workflow_pb2.ExecuteWorkflowRequest(
            start=_start_request(
                name, input, version, correlation_id, priority, task_to_domain, idempotency_key, idempotency_strategy
            ),
            wait_seconds=wait_seconds,
        )
        response = self._call(self._workflows.ExecuteWorkflow, request, timeout=wait_seconds + self.timeout)
        return Workflow.from_proto(response.workflow)

    def get_workflow(self, workflow_id: str, *, include_tasks: bool = True) -> Workflow:
        """Reads one execution, with its tasks unless ``include_tasks`` is false."""
        response = self._call(
            self._workflows.GetWorkflow,
            workflow_pb2.GetWorkflowRequest(workflow_id=workflow_id, include_tasks=include_tasks),
        )
        return Workflow.from_proto(response.workflow)

    def get_workflows_by_correlation_id(
        self, name: str, correlation_id: str, *, include_closed: bool = False, include_tasks: bool = False
    ) -> list[Workflow]:
        """Lists the executions of a workflow that carry a correlation id, oldest first."""
        response = self._call(
            self._workflows.GetWorkflowsByCorrelationId,
            workflow_pb2.GetWorkflowsByCorrelationIdRequest(
                name=name, correlation_id=correlation_id, include_closed=include_closed, include_tasks=include_tasks
            ),
        )
        return [Workflow.from_proto(w) for w in response.workflows]

    def wait_for_workflow(self, workflow_id: str, *, timeout: float = 60.0, poll_interval: float = 0.1) -> Workflow:
        """Polls an execution until it reaches a terminal status and returns it.

        Raises :class:`baton.DeadlineExceededError` if it is still running after ``timeout``
        seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            workflow = self.get_workflow(workflow_id)
            if workflow.is_terminal:
                return workflow
            if time.monotonic() >= deadline:
                raise DeadlineExceededError(
                    f"workflow {workflow_id} still {workflow.status.value} after {timeout}s",
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                )
            time.sleep(poll_interval)

    def pause_workflow(self, workflow_id: str) -> None:
        """Pauses a running execution: nothing new is scheduled until it is resumed."""
        self._call(self._workflows.PauseWorkflow, workflow_pb2.PauseWorkflowRequest(workflow_id=workflow_id))

    def resume_workflow(self, workflow_id: str) -> None:
        """Resumes a paused execution."""
        self._call(self._workflows.ResumeWorkflow, workflow_pb2.ResumeWorkflowRequest(workflow_id=workflow_id))

    def terminate_workflow(self, workflow_id: str, reason: str = "") -> None:
        """Terminates a running or paused execution and cancels its unfinished tasks."""
        self._call(
            self._workflows.TerminateWorkflow,
            workflow_pb2.TerminateWorkflowRequest(workflow_id=workflow_id, reason=reason),
        )

    def restart_workflow(self, workflow_id: str, *, use_latest_definitions: bool = False) -> None:
        """Runs a terminal execution again from the beginning, under the same id."""
        self._call(
            self._workflows.RestartWorkflow,
            workflow_pb2.RestartWorkflowRequest(workflow_id=workflow_id, use_latest_definitions=use_latest_definitions),
        )

    def retry_workflow(self, workflow_id: str, *, resume_subworkflow_tasks: bool = False) -> None:
        """Resumes a failed, timed-out or terminated execution from its failed task."""
        self._call(
            self._workflows.RetryWorkflow,
            workflow_pb2.RetryWorkflowRequest(
                workflow_id=workflow_id, resume_subworkflow_tasks=resume_subworkflow_tasks
            ),
        )

    def remove_workflow(self, workflow_id: str) -> None:
        """Deletes an execution and its tasks."""
        self._call(self._workflows.RemoveWorkflow, workflow_pb2.RemoveWorkflowRequest(workflow_id=workflow_id))

    # --- tasks -----------------------------------------------------------------------

    def get_task(self, task_id: str) -> TaskInfo:
        """Reads one task instance."""
        response = self._call(self._tasks.GetTask, task_pb2.GetTaskRequest(task_id=task_id))
        return TaskInfo.from_proto(response.task)

    def get_task_logs(self, task_id: str) -> list[TaskLogLine]:
        """Reads the log lines workers wrote for a task, oldest first."""
        response = self._call(self._tasks.GetTaskLogs, task_pb2.GetTaskLogsRequest(task_id=task_id))
        return [TaskLogLine.from_proto(log) for log in response.logs]

    # --- schedules -------------------------------------------------------------------

    def save_schedule(self, definition: DefinitionLike) -> Schedule:
        """Creates a schedule, or replaces the definition of one keeping its state.

        ``definition`` is Conductor's schedule JSON (``name``, ``cronExpression``,
        ``zoneId``, ``startWorkflowRequest``, ...) with Baton's extensions (``cronSchedules``,
        ``intervals``, ``misfirePolicy``, ``overlapPolicy``, ``jitterMs``, ``maxRuns``, ...),
        as a dict, JSON text or a path to a JSON file. Fails with
        :class:`baton.InvalidArgumentError` when it is malformed or invalid, or when the
        workflow it starts is not defined.
        """
        response = self._call(self._schedules.SaveSchedule, _save_schedule_request(definition))
        return Schedule.from_proto(response.schedule)

    def get_schedule(self, name: str) -> Schedule:
        """Reads one schedule; :class:`baton.NotFoundError` if there is none by that name."""
        response = self._call(self._schedules.GetSchedule, schedule_pb2.GetScheduleRequest(name=name))
        return Schedule.from_proto(response.schedule)

    def list_schedules(self, workflow_name: str | None = None) -> list[Schedule]:
        """Lists schedules in name order, or only those starting ``workflow_name``."""
        response = self._call(
            self._schedules.ListSchedules, schedule_pb2.ListSchedulesRequest(workflow_name=workflow_name or "")
        )
        return [Schedule.from_proto(v) for v in response.schedules]

    def delete_schedule(self, name: str) -> None:
        """Deletes a schedule and its history; the runs it started and that are still open go on."""
        self._call(self._schedules.DeleteSchedule, schedule_pb2.DeleteScheduleRequest(name=name))

    def pause_schedule(self, name: str, note: str = "") -> Schedule:
        """Pauses a schedule (slots already due are handled first) and returns it as it stands."""
        response = self._call(self._schedules.PauseSchedule, schedule_pb2.PauseScheduleRequest(name=name, note=note))
        return Schedule.from_proto(response.schedule)

    def resume_schedule(self, name: str, note: str = "") -> Schedule:
        """Resumes a paused schedule; slots that came during the pause follow its misfire policy."""
        response = self._call(
            self._schedules.ResumeSchedule, schedule_pb2.ResumeScheduleRequest(name=name, note=note)
        )
        return Schedule.from_proto(response.schedule)

    def pause_schedules(self, names: Iterable[str], note: str = "") -> list[BulkScheduleOutcome]:
        """Pauses several schedules; one outcome per name, in the order given.

        A schedule that cannot be paused (for example an unknown name) does not stop the
        others: its outcome has ``ok`` false and the server's reason in ``error``.
        """
        response = self._call(self._schedules.BulkPauseSchedules, _bulk_pause_request(names, False, note))
        return [BulkScheduleOutcome.from_proto(o) for o in response.outcomes]

    def resume_schedules(self, names: Iterable[str], note: str = "") -> list[BulkScheduleOutcome]:
        """Resumes several schedules; one outcome per name, as :meth:`pause_schedules`."""
        response = self._call(self._schedules.BulkPauseSchedules, _bulk_pause_request(names, True, note))
        return [BulkScheduleOutcome.from_proto(o) for o in response.outcomes]

    def trigger_schedule(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        overlap: OverlapPolicy | str | None = None,
    ) -> list[str]:
        """Runs a schedule's workflow now, paused or not, and returns the ids of the runs started.

        ``input`` is merged into the schedule's workflow input for this run. ``overlap``
        replaces the schedule's overlap policy for this run; the list is empty when that
        policy skipped or buffered the run.
        """
        response = self._call(self._schedules.TriggerSchedule, _trigger_request(name, input, overlap))
        return list(response.workflow_ids)

    def backfill_schedule(
        self,
        name: str,
        from_time: _dt.datetime,
        until_time: _dt.datetime | None = None,
        *,
        overlap: OverlapPolicy | str | None = None,
    ) -> Schedule:
        """Runs every slot of ``[from_time, until_time]`` that has not run yet, whatever the
        misfire policy says.

        ``until_time`` defaults to now (slots after now are left to the schedule); naive
        datetimes are taken as UTC. ``overlap`` replaces the schedule's overlap policy for
        these runs. Large ranges go on in the background after the call returns; the
        schedule's ``counters.backfilled`` counts the slots started.
        """
        response = self._call(
            self._schedules.BackfillSchedule, _backfill_request(name, from_time, until_time, overlap)
        )
        return Schedule.from_proto(response.schedule)

    def preview_schedule(
        self,
        name: str | None = None,
        *,
        definition: DefinitionLike | None = None,
        cron_expression: str | None = None,
        zone_id: str | None = None,
        from_time: _dt.datetime | None = None,
        until_time: _dt.datetime | None = None,
        limit: int | None = None,
    ) -> SchedulePreview:
        """Lists the slots a schedule fires after ``from_time`` (default now) up to
        ``until_time`` (default a year later), at most ``limit`` (default 10).

        Give exactly one of: the ``name`` of a saved schedule, an unsaved ``definition``
        (as for :meth:`save_schedule`), or a ``cron_expression`` read in ``zone_id``
        (default UTC; ``zone_id`` is used only with ``cron_expression``).
        """
        request = _preview_request(name, definition, cron_expression, zone_id, from_time, until_time, limit)
        return SchedulePreview.from_proto(self._call(self._schedules.PreviewSchedule, request))

    def get_schedule_history(
        self,
        name: str,
        *,
        from_time: _dt.datetime | None = None,
        until_time: _dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[ScheduleHistoryEntry]:
        """Reads a schedule's history, newest first: entries whose slot is in
        ``[from_time, until_time]`` (default all), at most ``limit`` (default 100).
        """
        response = self._call(
            self._schedules.GetScheduleHistory, _history_request(name, from_time, until_time, limit)
        )
        return [ScheduleHistoryEntry.from_proto(e) for e in response.entries]


class AsyncBatonClient:
    """asyncio client for a Baton server; the methods of :class:`BatonClient` as coroutines.

    Create it inside a running event loop and close it with ``await client.close()`` (or use
    ``async with``).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.address = resolve_address(address)
        self.timeout = timeout
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=channel_options())
        else:
            self._channel = grpc.aio.secure_channel(self.address, credentials, options=channel_options())
        self._metadata = metadata_pb2_grpc.MetadataServiceStub(self._channel)
        self._workflows = workflow_pb2_grpc.WorkflowServiceStub(self._channel)
        self._tasks = task_pb2_grpc.TaskServiceStub(self._channel)
        self._schedules = schedule_pb2_grpc.ScheduleServiceStub(self._channel)

    async def close(self) -> None:
        """Closes the connection."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncBatonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return await method(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    async def register_workflow_def(self, definition: DefinitionLike, *, overwrite: bool = False) -> WorkflowDefInfo:
        """See :meth:`BatonClient.register_workflow_def`."""
        if overwrite:
            return (await self.update_workflow_defs(definition))[0]
        response = await self._call(
            self._metadata.RegisterWorkflowDef,
            metadata_pb2.RegisterWorkflowDefRequest(definition=_definition(definition)),
        )
        return WorkflowDefInfo.from_proto(response.workflow_def)

    async def update_workflow_defs(
        self, definitions: DefinitionLike | Iterable[Mapping[str, Any]]
    ) -> list[WorkflowDefInfo]:
        """See :meth:`BatonClient.update_workflow_defs`."""
        response = await self._call(
            self._metadata.UpdateWorkflowDef,
            metadata_pb2.UpdateWorkflowDefRequest(definitions=_definitions(definitions)),
        )
        return [WorkflowDefInfo.from_proto(d) for d in response.workflow_defs]

    async def get_workflow_def(self, name: str, version: int | None = None) -> WorkflowDefInfo:
        """See :meth:`BatonClient.get_workflow_def`."""
        request = metadata_pb2.GetWorkflowDefRequest(name=name)
        if version:
            request.version = version
        response = await self._call(self._metadata.GetWorkflowDef, request)
        return WorkflowDefInfo.from_proto(response.workflow_def)

    async def list_workflow_defs(
        self, name: str | None = None, *, all_versions: bool = False
    ) -> list[WorkflowDefInfo]:
        """See :meth:`BatonClient.list_workflow_defs`."""
        response = await self._call(
            self._metadata.ListWorkflowDefs,
            metadata_pb2.ListWorkflowDefsRequest(name=name or "", all_versions=all_versions),
        )
        return [WorkflowDefInfo.from_proto(d) for d in response.workflow_defs]

    async def delete_workflow_def(self, name: str, version: int) -> None:
        """See :meth:`BatonClient.delete_workflow_def`."""
        await self._call(
            self._metadata.DeleteWorkflowDef,
            metadata_pb2.DeleteWorkflowDefRequest(name=name, version=version),
        )

    async def validate_workflow_def(self, definition: DefinitionLike) -> ValidationResult:
        """See :meth:`BatonClient.validate_workflow_def`."""
        response = await self._call(
            self._metadata.ValidateWorkflowDef,
            metadata_pb2.ValidateWorkflowDefRequest(definition=_definition(definition)),
        )
        return _validation(response)

    async def register_task_defs(
        self, definitions: DefinitionLike | Iterable[Mapping[str, Any]]
    ) -> list[TaskDefInfo]:
        """See :meth:`BatonClient.register_task_defs`."""
        response = await self._call(
            self._metadata.RegisterTaskDefs,
            metadata_pb2.RegisterTaskDefsRequest(definitions=_definitions(definitions)),
        )
        return [TaskDefInfo.from_proto(d) for d in response.task_defs]

    async def get_task_def(self, name: str) -> TaskDefInfo:
        """See :meth:`BatonClient.get_task_def`."""
        response = await self._call(self._metadata.GetTaskDef, metadata_pb2.GetTaskDefRequest(name=name))
        return TaskDefInfo.from_proto(response.task_def)

    async def list_task_defs(self) -> list[TaskDefInfo]:
        """See :meth:`BatonClient.list_task_defs`."""
        response = await self._call(self._metadata.ListTaskDefs, metadata_pb2.ListTaskDefsRequest())
        return [TaskDefInfo.from_proto(d) for d in response.task_defs]

    async def delete_task_def(self, name: str) -> None:
        """See :meth:`BatonClient.delete_task_def`."""
        await self._call(self._metadata.DeleteTaskDef, metadata_pb2.DeleteTaskDefRequest(name=name))

    async def start_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
        correlation_id: str | None = None,
        priority: int = 0,
        task_to_domain: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_strategy: IdempotencyStrategy | str = IdempotencyStrategy.FAIL,
    ) -> str:
        """See :meth:`BatonClient.start_workflow`."""
        request = _start_request(
            name, input, version, correlation_id, priority, task_to_domain, idempotency_key, idempotency_strategy
        )
        response = await self._call(self._workflows.StartWorkflow, request)
        return str(response.workflow_id)

    async def execute_workflow(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        wait_seconds: int = 10,
        version: int | None = None,
        correlation_id: str | None = None,
        priority: int = 0,
        task_to_domain: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency_strategy: IdempotencyStrategy | str = IdempotencyStrategy.FAIL,
    ) -> Workflow:
        """See :meth:`BatonClient.execute_workflow`."""
        request = workflow_pb2.ExecuteWorkflowRequest(
            start=_start_request(
                name, input, version, correlation_id, priority, task_to_domain, idempotency_key, idempotency_strategy
            ),
            wait_seconds=wait_seconds,
        )
        response = await self._call(self._workflows.ExecuteWorkflow, request, timeout=wait_seconds + self.timeout)
        return Workflow.from_proto(response.workflow)

    async def get_workflow(self, workflow_id: str, *, include_tasks: bool = True) -> Workflow:
        """See :meth:`BatonClient.get_workflow`."""
        response = await self._call(
            self._workflows.GetWorkflow,
            workflow_pb2.GetWorkflowRequest(workflow_id=workflow_id, include_tasks=include_tasks),
        )
        return Workflow.from_proto(response.workflow)

    async def get_workflows_by_correlation_id(
        self, name: str, correlation_id: str, *, include_closed: bool = False, include_tasks: bool = False
    ) -> list[Workflow]:
        """See :meth:`BatonClient.get_workflows_by_correlation_id`."""
        response = await self._call(
            self._workflows.GetWorkflowsByCorrelationId,
            workflow_pb2.GetWorkflowsByCorrelationIdRequest(
                name=name, correlation_id=correlation_id, include_closed=include_closed, include_tasks=include_tasks
            ),
        )
        return [Workflow.from_proto(w) for w in response.workflows]

    async def wait_for_workflow(
        self, workflow_id: str, *, timeout: float = 60.0, poll_interval: float = 0.1
    ) -> Workflow:
        """See :meth:`BatonClient.wait_for_workflow`."""
        deadline = time.monotonic() + timeout
        while True:
            workflow = await self.get_workflow(workflow_id)
            if workflow.is_terminal:
                return workflow
            if time.monotonic() >= deadline:
                raise DeadlineExceededError(
                    f"workflow {workflow_id} still {workflow.status.value} after {timeout}s",
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                )
            await asyncio.sleep(poll_interval)

    async def pause_workflow(self, workflow_id: str) -> None:
        """See :meth:`BatonClient.pause_workflow`."""
        await self._call(self._workflows.PauseWorkflow, workflow_pb2.PauseWorkflowRequest(workflow_id=workflow_id))

    async def resume_workflow(self, workflow_id: str) -> None:
        """See :meth:`BatonClient.resume_workflow`."""
        await self._call(self._workflows.ResumeWorkflow, workflow_pb2.ResumeWorkflowRequest(workflow_id=workflow_id))

    async def terminate_workflow(self, workflow_id: str, reason: str = "") -> None:
        """See :meth:`BatonClient.terminate_workflow`."""
        await self._call(
            self._workflows.TerminateWorkflow,
            workflow_pb2.TerminateWorkflowRequest(workflow_id=workflow_id, reason=reason),
        )

    async def restart_workflow(self, workflow_id: str, *, use_latest_definitions: bool = False) -> None:
        """See :meth:`BatonClient.restart_workflow`."""
        await self._call(
            self._workflows.RestartWorkflow,
            workflow_pb2.RestartWorkflowRequest(workflow_id=workflow_id, use_latest_definitions=use_latest_definitions),
        )

    async def retry_workflow(self, workflow_id: str, *, resume_subworkflow_tasks: bool = False) -> None:
        """See :meth:`BatonClient.retry_workflow`."""
        await self._call(
            self._workflows.RetryWorkflow,
            workflow_pb2.RetryWorkflowRequest(
                workflow_id=workflow_id, resume_subworkflow_tasks=resume_subworkflow_tasks
            ),
        )

    async def remove_workflow(self, workflow_id: str) -> None:
        """See :meth:`BatonClient.remove_workflow`."""
        await self._call(self._workflows.RemoveWorkflow, workflow_pb2.RemoveWorkflowRequest(workflow_id=workflow_id))

    async def get_task(self, task_id: str) -> TaskInfo:
        """See :meth:`BatonClient.get_task`."""
        response = await self._call(self._tasks.GetTask, task_pb2.GetTaskRequest(task_id=task_id))
        return TaskInfo.from_proto(response.task)

    async def get_task_logs(self, task_id: str) -> list[TaskLogLine]:
        """See :meth:`BatonClient.get_task_logs`."""
        response = await self._call(self._tasks.GetTaskLogs, task_pb2.GetTaskLogsRequest(task_id=task_id))
        return [TaskLogLine.from_proto(log) for log in response.logs]

    async def save_schedule(self, definition: DefinitionLike) -> Schedule:
        """See :meth:`BatonClient.save_schedule`."""
        response = await self._call(self._schedules.SaveSchedule, _save_schedule_request(definition))
        return Schedule.from_proto(response.schedule)

    async def get_schedule(self, name: str) -> Schedule:
        """See :meth:`BatonClient.get_schedule`."""
        response = await self._call(self._schedules.GetSchedule, schedule_pb2.GetScheduleRequest(name=name))
        return Schedule.from_proto(response.schedule)

    async def list_schedules(self, workflow_name: str | None = None) -> list[Schedule]:
        """See :meth:`BatonClient.list_schedules`."""
        response = await self._call(
            self._schedules.ListSchedules, schedule_pb2.ListSchedulesRequest(workflow_name=workflow_name or "")
        )
        return [Schedule.from_proto(v) for v in response.schedules]

    async def delete_schedule(self, name: str) -> None:
        """See :meth:`BatonClient.delete_schedule`."""
        await self._call(self._schedules.DeleteSchedule, schedule_pb2.DeleteScheduleRequest(name=name))

    async def pause_schedule(self, name: str, note: str = "") -> Schedule:
        """See :meth:`BatonClient.pause_schedule`."""
        response = await self._call(
            self._schedules.PauseSchedule, schedule_pb2.PauseScheduleRequest(name=name, note=note)
        )
        return Schedule.from_proto(response.schedule)

    async def resume_schedule(self, name: str, note: str = "") -> Schedule:
        """See :meth:`BatonClient.resume_schedule`."""
        response = await self._call(
            self._schedules.ResumeSchedule, schedule_pb2.ResumeScheduleRequest(name=name, note=note)
        )
        return Schedule.from_proto(response.schedule)

    async def pause_schedules(self, names: Iterable[str], note: str = "") -> list[BulkScheduleOutcome]:
        """See :meth:`BatonClient.pause_schedules`."""
        response = await self._call(self._schedules.BulkPauseSchedules, _bulk_pause_request(names, False, note))
        return [BulkScheduleOutcome.from_proto(o) for o in response.outcomes]

    async def resume_schedules(self, names: Iterable[str], note: str = "") -> list[BulkScheduleOutcome]:
        """See :meth:`BatonClient.resume_schedules`."""
        response = await self._call(self._schedules.BulkPauseSchedules, _bulk_pause_request(names, True, note))
        return [BulkScheduleOutcome.from_proto(o) for o in response.outcomes]

    async def trigger_schedule(
        self,
        name: str,
        input: Mapping[str, Any] | None = None,
        *,
        overlap: OverlapPolicy | str | None = None,
    ) -> list[str]:
        """See :meth:`BatonClient.trigger_schedule`."""
        response = await self._call(self._schedules.TriggerSchedule, _trigger_request(name, input, overlap))
        return list(response.workflow_ids)

    async def backfill_schedule(
        self,
        name: str,
        from_time: _dt.datetime,
        until_time: _dt.datetime | None = None,
        *,
        overlap: OverlapPolicy | str | None = None,
    ) -> Schedule:
        """See :meth:`BatonClient.backfill_schedule`."""
        response = await self._call(
            self._schedules.BackfillSchedule, _backfill_request(name, from_time, until_time, overlap)
        )
        return Schedule.from_proto(response.schedule)

    async def preview_schedule(
        self,
        name: str | None = None,
        *,
        definition: DefinitionLike | None = None,
        cron_expression: str | None = None,
        zone_id: str | None = None,
        from_time: _dt.datetime | None = None,
        until_time: _dt.datetime | None = None,
        limit: int | None = None,
    ) -> SchedulePreview:
        """See :meth:`BatonClient.preview_schedule`."""
        request = _preview_request(name, definition, cron_expression, zone_id, from_time, until_time, limit)
        return SchedulePreview.from_proto(await self._call(self._schedules.PreviewSchedule, request))

    async def get_schedule_history(
        self,
        name: str,
        *,
        from_time: _dt.datetime | None = None,
        until_time: _dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[ScheduleHistoryEntry]:
        """See :meth:`BatonClient.get_schedule_history`."""
        response = await self._call(
            self._schedules.GetScheduleHistory, _history_request(name, from_time, until_time, limit)
        )
        return [ScheduleHistoryEntry.from_proto(e) for e in response.entries]


__all__ = ["AsyncBatonClient", "BatonClient", "BatonError", "DefinitionLike"]
