"""Clients for registering definitions and starting and steering workflows.

:class:`BatonClient` is blocking; :class:`AsyncBatonClient` offers the same methods as
coroutines. Both speak gRPC to ``baton server``; definitions use Conductor's JSON DSL and may
be given as dicts or as JSON text. Every server error is raised as a
:class:`baton.BatonError` subclass that carries the gRPC status code.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any, Union

import grpc
import grpc.aio

from baton._channel import channel_options, resolve_address
from baton._struct import dict_to_struct
from baton.errors import BatonError, DeadlineExceededError, from_rpc_error
from baton.models import (
    IdempotencyStrategy,
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


__all__ = ["AsyncBatonClient", "BatonClient", "BatonError", "DefinitionLike"]
