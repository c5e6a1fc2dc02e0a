"""Clients for registering definitions and starting and steering workflows.

:class:`BatonClient` is blocking; :class:`AsyncBatonClient` offers the same methods as
coroutines. Both speak gRPC to ``baton server``; definitions use Conductor's JSON DSL and may
be given as dicts or as JSON text, and so may schedule definitions (Conductor's schedule
JSON). Every server error is raised as a
:class:`baton.BatonError` subclass that carries the gRPC status code. With an API key
(``api_key=`` or ``BATON_API_KEY``) every call carries it, for a server that runs with
authentication on.

Each call is described once, in :mod:`baton._operations`; the two clients run those
descriptions over a blocking or an asyncio channel.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import time
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

import grpc

from baton import _operations as ops
from baton._channel import auth_metadata, open_aio_channel, open_channel, resolve_api_key, resolve_connection
from baton._operations import DEFAULT_TIMEOUT, DefinitionLike, Plan, Rpc, Sleep
from baton.errors import BatonError, from_rpc_error
from baton.v1 import (
    admin_pb2_grpc,
    metadata_pb2_grpc,
    monitor_pb2_grpc,
    schedule_pb2_grpc,
    task_pb2_grpc,
    workflow_pb2_grpc,
)

P = ParamSpec("P")
T = TypeVar("T")


def _stubs(channel: Any) -> dict[str, Any]:
    return {
        "metadata": metadata_pb2_grpc.MetadataServiceStub(channel),
        "workflows": workflow_pb2_grpc.WorkflowServiceStub(channel),
        "tasks": task_pb2_grpc.TaskServiceStub(channel),
        "schedules": schedule_pb2_grpc.ScheduleServiceStub(channel),
        "monitor": monitor_pb2_grpc.MonitorServiceStub(channel),
        "admin": admin_pb2_grpc.AdminServiceStub(channel),
    }


def _present_as(method: Callable[..., Any], plan: Callable[..., Any]) -> None:
    """Gives a client method the plan's name, docstring and signature, as the caller sees it:
    no annotation on ``self`` and the plan's result as the return type."""
    functools.update_wrapper(method, plan)
    signature = inspect.signature(plan)
    result = signature.return_annotation
    if isinstance(result, str) and result.startswith("Plan[") and result.endswith("]"):
        result = result[len("Plan[") : -1]
    parameters = list(signature.parameters.values())
    parameters[0] = parameters[0].replace(annotation=inspect.Parameter.empty)
    presented = signature.replace(parameters=parameters, return_annotation=result)
    method.__signature__ = presented  # type: ignore[attr-defined]
    annotations = {k: v for k, v in plan.__annotations__.items() if k != parameters[0].name}
    annotations["return"] = result
    method.__annotations__ = annotations


def _blocking(plan: Callable[Concatenate[Any, P], Plan[T]]) -> Callable[Concatenate[BatonClient, P], T]:
    """Makes a blocking method of a plan."""

    def method(self: BatonClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        steps = plan(self, *args, **kwargs)
        try:
            step = next(steps)
            while True:
                try:
                    if isinstance(step, Sleep):
                        time.sleep(step.seconds)
                        answer = None
                    else:
                        answer = self._rpc(step)
                except BatonError as e:
                    # Raised inside the plan, at the step that failed.
                    step = steps.throw(e)
                else:
                    step = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    _present_as(method, plan)
    return method


def _awaiting(
    plan: Callable[Concatenate[Any, P], Plan[T]],
) -> Callable[Concatenate[AsyncBatonClient, P], Coroutine[Any, Any, T]]:
    """Makes a coroutine method of a plan."""

    async def method(self: AsyncBatonClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        steps = plan(self, *args, **kwargs)
        try:
            step = next(steps)
            while True:
                try:
                    if isinstance(step, Sleep):
                        await asyncio.sleep(step.seconds)
                        answer = None
                    else:
                        answer = await self._rpc(step)
                except BatonError as e:
                    # Raised inside the plan, at the step that failed.
                    step = steps.throw(e)
                else:
                    step = steps.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    _present_as(method, plan)
    return method


class BatonClient:
    """Blocking client for a Baton server.

    Args:
        address: the server: ``host:port``, ``http://host:port`` or, for a server with TLS,
            ``https://host:port``; defaults to ``BATON_SERVER`` or ``127.0.0.1:7070``.
        timeout: default seconds per call.
        credentials: channel credentials for TLS set up in code (instead of the files below).
        ca_file: PEM file of the certificate authorities to trust for an ``https://`` server
            (default ``BATON_CA_FILE``; without one, the system's). With a bare
            ``host:port`` it turns TLS on.
        client_cert: PEM client certificate presented to a server that requires mutual TLS
            (default ``BATON_CLIENT_CERT``); needs ``client_key``. Turns TLS on like
            ``ca_file``.
        client_key: the private key of ``client_cert`` (default ``BATON_CLIENT_KEY``).
        api_key: the API key every call carries, as ``authorization: Bearer <key>``, for a
            server that runs with authentication on (default ``BATON_API_KEY``; empty means
            none). Without one, such a server refuses every call with
            :class:`baton.UnauthenticatedError`; a key whose role does not allow a call gets
            :class:`baton.PermissionDeniedError`.

    Raises:
        ValueError: TLS settings with an ``http://`` address, a client certificate without
            its key or a key without its certificate, a file that cannot be read, or an API
            key with characters no key has.

    The client is thread-safe and should be reused; close it (or use it as a context
    manager) when done. Every method is listed in the SDK's ``API.md``.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        client_cert: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
    ) -> None:
        connection = resolve_connection(
            address, ca_file=ca_file, client_cert=client_cert, client_key=client_key, credentials=credentials
        )
        metadata = auth_metadata(resolve_api_key(api_key))
        self.address = connection.target
        """The ``host:port`` dialled."""
        self.tls = connection.tls
        """Whether the connection uses TLS."""
        self.authenticated = metadata is not None
        """Whether the calls carry an API key."""
        self.timeout = timeout
        self._metadata = metadata
        self._channel = open_channel(connection)
        self._stubs = _stubs(self._channel)

    def close(self) -> None:
        """Closes the connection."""
        self._channel.close()

    def __enter__(self) -> BatonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rpc(self, step: Rpc) -> Any:
        method = getattr(self._stubs[step.service], step.method)
        try:
            return method(
                step.request, timeout=self.timeout if step.timeout is None else step.timeout, metadata=self._metadata
            )
        except grpc.RpcError as e:
            raise from_rpc_error(e, self.address) from None

    register_workflow_def = _blocking(ops.register_workflow_def)
    update_workflow_defs = _blocking(ops.update_workflow_defs)
    get_workflow_def = _blocking(ops.get_workflow_def)
    list_workflow_defs = _blocking(ops.list_workflow_defs)
    delete_workflow_def = _blocking(ops.delete_workflow_def)
    validate_workflow_def = _blocking(ops.validate_workflow_def)
    register_task_defs = _blocking(ops.register_task_defs)
    get_task_def = _blocking(ops.get_task_def)
    list_task_defs = _blocking(ops.list_task_defs)
    delete_task_def = _blocking(ops.delete_task_def)
    add_event_handler = _blocking(ops.add_event_handler)
    update_event_handler = _blocking(ops.update_event_handler)
    delete_event_handler = _blocking(ops.delete_event_handler)
    get_event_handler = _blocking(ops.get_event_handler)
    list_event_handlers = _blocking(ops.list_event_handlers)
    start_workflow = _blocking(ops.start_workflow)
    execute_workflow = _blocking(ops.execute_workflow)
    wait_workflow = _blocking(ops.wait_workflow)
    get_workflow = _blocking(ops.get_workflow)
    get_workflows_by_correlation_id = _blocking(ops.get_workflows_by_correlation_id)
    get_workflows_by_correlation_ids = _blocking(ops.get_workflows_by_correlation_ids)
    wait_for_workflow = _blocking(ops.wait_for_workflow)
    pause_workflow = _blocking(ops.pause_workflow)
    resume_workflow = _blocking(ops.resume_workflow)
    terminate_workflow = _blocking(ops.terminate_workflow)
    restart_workflow = _blocking(ops.restart_workflow)
    retry_workflow = _blocking(ops.retry_workflow)
    remove_workflow = _blocking(ops.remove_workflow)
    rerun_workflow = _blocking(ops.rerun_workflow)
    skip_task = _blocking(ops.skip_task)
    reset_callbacks = _blocking(ops.reset_callbacks)
    decide_workflow = _blocking(ops.decide_workflow)
    list_workflow_tasks = _blocking(ops.list_workflow_tasks)
    get_running_workflows = _blocking(ops.get_running_workflows)
    run_bulk_operation = _blocking(ops.run_bulk_operation)
    search_workflows = _blocking(ops.search_workflows)
    import_workflows = _blocking(ops.import_workflows)
    get_retention = _blocking(ops.get_retention)
    get_task = _blocking(ops.get_task)
    get_task_logs = _blocking(ops.get_task_logs)
    add_task_logs = _blocking(ops.add_task_logs)
    update_task_by_ref = _blocking(ops.update_task_by_ref)
    poll_task = _blocking(ops.poll_task)
    batch_poll_tasks = _blocking(ops.batch_poll_tasks)
    update_task = _blocking(ops.update_task)
    extend_lease = _blocking(ops.extend_lease)
    list_queues = _blocking(ops.list_queues)
    list_workers = _blocking(ops.list_workers)
    search_tasks = _blocking(ops.search_tasks)
    get_overview = _blocking(ops.get_overview)
    get_metrics_history = _blocking(ops.get_metrics_history)
    save_schedule = _blocking(ops.save_schedule)
    get_schedule = _blocking(ops.get_schedule)
    list_schedules = _blocking(ops.list_schedules)
    delete_schedule = _blocking(ops.delete_schedule)
    pause_schedule = _blocking(ops.pause_schedule)
    resume_schedule = _blocking(ops.resume_schedule)
    pause_schedules = _blocking(ops.pause_schedules)
    resume_schedules = _blocking(ops.resume_schedules)
    trigger_schedule = _blocking(ops.trigger_schedule)
    backfill_schedule = _blocking(ops.backfill_schedule)
    preview_schedule = _blocking(ops.preview_schedule)
    get_schedule_history = _blocking(ops.get_schedule_history)
    create_api_key = _blocking(ops.create_api_key)
    list_api_keys = _blocking(ops.list_api_keys)
    revoke_api_key = _blocking(ops.revoke_api_key)
    list_audit_events = _blocking(ops.list_audit_events)


class AsyncBatonClient:
    """asyncio client for a Baton server; the methods of :class:`BatonClient` as coroutines.

    Takes the same arguments as :class:`BatonClient`, TLS settings and API key included.
    Create it inside a running event loop and close it with ``await client.close()`` (or use
    ``async with``).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        client_cert: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
    ) -> None:
        connection = resolve_connection(
            address, ca_file=ca_file, client_cert=client_cert, client_key=client_key, credentials=credentials
        )
        metadata = auth_metadata(resolve_api_key(api_key))
        self.address = connection.target
        """The ``host:port`` dialled."""
        self.tls = connection.tls
        """Whether the connection uses TLS."""
        self.authenticated = metadata is not None
        """Whether the calls carry an API key."""
        self.timeout = timeout
        self._metadata = metadata
        self._channel = open_aio_channel(connection)
        self._stubs = _stubs(self._channel)

    async def close(self) -> None:
        """Closes the connection."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncBatonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _rpc(self, step: Rpc) -> Any:
        method = getattr(self._stubs[step.service], step.method)
        try:
            return await method(
                step.request, timeout=self.timeout if step.timeout is None else step.timeout, metadata=self._metadata
            )
        except grpc.RpcError as e:
            raise from_rpc_error(e, self.address) from None

    register_workflow_def = _awaiting(ops.register_workflow_def)
    update_workflow_defs = _awaiting(ops.update_workflow_defs)
    get_workflow_def = _awaiting(ops.get_workflow_def)
    list_workflow_defs = _awaiting(ops.list_workflow_defs)
    delete_workflow_def = _awaiting(ops.delete_workflow_def)
    validate_workflow_def = _awaiting(ops.validate_workflow_def)
    register_task_defs = _awaiting(ops.register_task_defs)
    get_task_def = _awaiting(ops.get_task_def)
    list_task_defs = _awaiting(ops.list_task_defs)
    delete_task_def = _awaiting(ops.delete_task_def)
    add_event_handler = _awaiting(ops.add_event_handler)
    update_event_handler = _awaiting(ops.update_event_handler)
    delete_event_handler = _awaiting(ops.delete_event_handler)
    get_event_handler = _awaiting(ops.get_event_handler)
    list_event_handlers = _awaiting(ops.list_event_handlers)
    start_workflow = _awaiting(ops.start_workflow)
    execute_workflow = _awaiting(ops.execute_workflow)
    wait_workflow = _awaiting(ops.wait_workflow)
    get_workflow = _awaiting(ops.get_workflow)
    get_workflows_by_correlation_id = _awaiting(ops.get_workflows_by_correlation_id)
    get_workflows_by_correlation_ids = _awaiting(ops.get_workflows_by_correlation_ids)
    wait_for_workflow = _awaiting(ops.wait_for_workflow)
    pause_workflow = _awaiting(ops.pause_workflow)
    resume_workflow = _awaiting(ops.resume_workflow)
    terminate_workflow = _awaiting(ops.terminate_workflow)
    restart_workflow = _awaiting(ops.restart_workflow)
    retry_workflow = _awaiting(ops.retry_workflow)
    remove_workflow = _awaiting(ops.remove_workflow)
    rerun_workflow = _awaiting(ops.rerun_workflow)
    skip_task = _awaiting(ops.skip_task)
    reset_callbacks = _awaiting(ops.reset_callbacks)
    decide_workflow = _awaiting(ops.decide_workflow)
    list_workflow_tasks = _awaiting(ops.list_workflow_tasks)
    get_running_workflows = _awaiting(ops.get_running_workflows)
    run_bulk_operation = _awaiting(ops.run_bulk_operation)
    search_workflows = _awaiting(ops.search_workflows)
    import_workflows = _awaiting(ops.import_workflows)
    get_retention = _awaiting(ops.get_retention)
    get_task = _awaiting(ops.get_task)
    get_task_logs = _awaiting(ops.get_task_logs)
    add_task_logs = _awaiting(ops.add_task_logs)
    update_task_by_ref = _awaiting(ops.update_task_by_ref)
    poll_task = _awaiting(ops.poll_task)
    batch_poll_tasks = _awaiting(ops.batch_poll_tasks)
    update_task = _awaiting(ops.update_task)
    extend_lease = _awaiting(ops.extend_lease)
    list_queues = _awaiting(ops.list_queues)
    list_workers = _awaiting(ops.list_workers)
    search_tasks = _awaiting(ops.search_tasks)
    get_overview = _awaiting(ops.get_overview)
    get_metrics_history = _awaiting(ops.get_metrics_history)
    save_schedule = _awaiting(ops.save_schedule)
    get_schedule = _awaiting(ops.get_schedule)
    list_schedules = _awaiting(ops.list_schedules)
    delete_schedule = _awaiting(ops.delete_schedule)
    pause_schedule = _awaiting(ops.pause_schedule)
    resume_schedule = _awaiting(ops.resume_schedule)
    pause_schedules = _awaiting(ops.pause_schedules)
    resume_schedules = _awaiting(ops.resume_schedules)
    trigger_schedule = _awaiting(ops.trigger_schedule)
    backfill_schedule = _awaiting(ops.backfill_schedule)
    preview_schedule = _awaiting(ops.preview_schedule)
    get_schedule_history = _awaiting(ops.get_schedule_history)
    create_api_key = _awaiting(ops.create_api_key)
    list_api_keys = _awaiting(ops.list_api_keys)
    revoke_api_key = _awaiting(ops.revoke_api_key)
    list_audit_events = _awaiting(ops.list_audit_events)


__all__ = ["AsyncBatonClient", "BatonClient", "BatonError", "DefinitionLike"]
