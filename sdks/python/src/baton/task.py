"""What a task handler receives and what it may return.

A handler is called with a :class:`Task` (or with its input converted to the handler's
annotated type, see :mod:`baton.worker`). It returns the task output (a dict, a dataclass,
``None`` or any JSON value) or a :class:`TaskResult` for anything other than plain success,
and raises :class:`baton.TerminalError` to fail without retries. Any other exception fails
the task with its message as the reason and the traceback in the task's logs.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as _dt
import inspect
import logging
import time
import traceback
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin, get_type_hints

from baton._struct import dict_to_struct, struct_to_dict, timestamp_to_datetime, to_jsonable
from baton.errors import TerminalError
from baton.models import TaskStatus
from baton.v1 import common_pb2, task_pb2

log = logging.getLogger("baton.worker")

_current_task: contextvars.ContextVar[Task | None] = contextvars.ContextVar("baton_current_task", default=None)


def current_task() -> Task | None:
    """The task the calling handler is running, or None outside a handler.

    Useful for handlers that take their input as keyword arguments but still want to log
    or read task metadata.
    """
    return _current_task.get()


class Task:
    """A task handed to this worker.

    Attributes:
        task_id: id of the task instance (a retry is a new instance with a new id).
        task_type: the task definition name.
        reference_task_name: the task's reference name in the workflow definition.
        workflow_id: id of the execution the task belongs to.
        workflow_type: name of that execution's workflow definition.
        input: the task input.
        output: the output reported so far by earlier IN_PROGRESS results of this task
            (empty for a fresh task); handy for handlers that poll something and come back.
        retry_count: how many retries preceded this instance.
        poll_count: how many times this instance has been handed out, this time included.
        response_timeout_seconds: the lease length; the worker extends it automatically.
        domain: the domain the task was queued under ("" for the default queue).
        correlation_id: correlation id of the execution.
        iteration: loop iteration inside a DO_WHILE, else 0.
        worker_id: id of this worker.
        lease_lost: set when the server refused a lease extension (the task was handed to
            someone else or is no longer running); a long handler may check it and stop.
    """

    __slots__ = (
        "task_id",
        "token",
        "task_type",
        "reference_task_name",
        "workflow_id",
        "workflow_type",
        "input",
        "output",
        "retry_count",
        "poll_count",
        "response_timeout_seconds",
        "lease_deadline",
        "domain",
        "correlation_id",
        "iteration",
        "worker_id",
        "lease_lost",
        "_logs",
    )

    def __init__(
        self,
        *,
        task_id: str,
        task_type: str,
        input: dict[str, Any] | None = None,
        output: dict[str, Any] | None = None,
        token: str = "",
        reference_task_name: str = "",
        workflow_id: str = "",
        workflow_type: str = "",
        retry_count: int = 0,
        poll_count: int = 1,
        response_timeout_seconds: int = 0,
        lease_deadline: _dt.datetime | None = None,
        domain: str = "",
        correlation_id: str = "",
        iteration: int = 0,
        worker_id: str = "",
    ) -> None:
        self.task_id = task_id
        self.token = token
        self.task_type = task_type
        self.reference_task_name = reference_task_name
        self.workflow_id = workflow_id
        self.workflow_type = workflow_type
        self.input: dict[str, Any] = {} if input is None else input
        self.output: dict[str, Any] = {} if output is None else output
        self.retry_count = retry_count
        self.poll_count = poll_count
        self.response_timeout_seconds = response_timeout_seconds
        self.lease_deadline = lease_deadline
        self.domain = domain
        self.correlation_id = correlation_id
        self.iteration = iteration
        self.worker_id = worker_id
        self.lease_lost = False
        self._logs: list[tuple[str, float]] = []

    @classmethod
    def from_assignment(cls, assignment: task_pb2.TaskAssignment, worker_id: str) -> Task:
        """Builds a task from the server's ``TaskAssignment``."""
        return cls(
            task_id=assignment.task_id,
            token=assignment.token,
            task_type=assignment.task_def_name,
            reference_task_name=assignment.reference_task_name,
            workflow_id=assignment.workflow_id,
            workflow_type=assignment.workflow_type,
            input=struct_to_dict(assignment.input),
            output=struct_to_dict(assignment.output) if assignment.HasField("output") else None,
            retry_count=assignment.retry_count,
            poll_count=assignment.poll_count,
            response_timeout_seconds=assignment.response_timeout_seconds,
            lease_deadline=timestamp_to_datetime(assignment, "lease_deadline"),
            domain=assignment.domain,
            correlation_id=assignment.correlation_id,
            iteration=assignment.iteration,
            worker_id=worker_id,
        )

    def log(self, message: str) -> None:
        """Adds a line to the task's logs (sent with the result, readable with ``get_task_logs``)."""
        self._logs.append((str(message), time.time()))

    @property
    def logs(self) -> list[str]:
        """The lines logged so far."""
        return [m for m, _ in self._logs]

    def __repr__(self) -> str:
        return f"Task(task_type={self.task_type!r}, task_id={self.task_id!r}, workflow_id={self.workflow_id!r})"


_RESULT_STATUSES = (
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.FAILED_WITH_TERMINAL_ERROR,
    TaskStatus.IN_PROGRESS,
)


@dataclass
class TaskResult:
    """An explicit outcome a handler may return instead of plain output.

    Use the constructors: :meth:`completed`, :meth:`in_progress`, :meth:`failed` and
    :meth:`failed_terminal`.
    """

    status: TaskStatus = TaskStatus.COMPLETED
    output: Mapping[str, Any] | None = None
    reason_for_incompletion: str = ""
    callback_after_seconds: int = 0
    logs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = TaskStatus(self.status)
        if self.status not in _RESULT_STATUSES:
            raise ValueError(f"a worker cannot report {self.status.value}")

    @classmethod
    def completed(cls, output: Mapping[str, Any] | None = None) -> TaskResult:
        """The task succeeded with this output."""
        return cls(TaskStatus.COMPLETED, output)

    @classmethod
    def in_progress(cls, output: Mapping[str, Any] | None = None, callback_after_seconds: int = 1) -> TaskResult:
        """The task is not done: the server hands it out again after ``callback_after_seconds``
        (at least 1).

        ``output`` is merged into the task's output so far; the next run sees the same task
        id (``poll_count`` grows).
        """
        return cls(TaskStatus.IN_PROGRESS, output, callback_after_seconds=callback_after_seconds)

    @classmethod
    def failed(cls, reason: str, output: Mapping[str, Any] | None = None) -> TaskResult:
        """The task failed and may be retried according to its task definition."""
        return cls(TaskStatus.FAILED, output, reason_for_incompletion=reason)

    @classmethod
    def failed_terminal(cls, reason: str, output: Mapping[str, Any] | None = None) -> TaskResult:
        """The task failed and must not be retried."""
        return cls(TaskStatus.FAILED_WITH_TERMINAL_ERROR, output, reason_for_incompletion=reason)


# --- calling handlers ------------------------------------------------------------------

_ArgBuilder = Callable[[Task], "tuple[tuple[Any, ...], dict[str, Any]]"]


def _is_typed_dict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _is_mapping_type(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    if origin in (dict, Mapping, typing.Mapping, typing.Dict) or _is_typed_dict(tp):
        return True
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _unwrap_optional(tp: Any) -> Any:
    """``X | None`` -> ``X`` (for converting nested values)."""
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _convert(value: Any, tp: Any) -> Any:
    """Converts JSON-like input to an annotated type where that is unambiguous."""
    tp = _unwrap_optional(tp)
    if value is None:
        return None
    if dataclasses.is_dataclass(tp) and isinstance(tp, type) and isinstance(value, Mapping):
        return from_dict(tp, value)
    origin = get_origin(tp)
    if origin in (list, typing.List) and isinstance(value, list):
        (item_type,) = get_args(tp) or (Any,)
        return [_convert(v, item_type) for v in value]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def from_dict(cls: type[Any], data: Mapping[str, Any]) -> Any:
    """Builds a dataclass from a mapping, converting nested dataclass fields and ignoring
    keys the dataclass does not declare."""
    try:
        hints = get_type_hints(cls)
    except Exception:
        hints = {}
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.init and f.name in data:
            kwargs[f.name] = _convert(data[f.name], hints.get(f.name, Any))
    return cls(**kwargs)


class Invoker:
    """Calls a handler with arguments derived from its signature.

    - no parameter: called without arguments;
    - one parameter annotated :class:`Task` (or unannotated and named ``task``): the task;
    - one parameter annotated with a dataclass: the input converted to it;
    - one parameter annotated ``dict``/``Mapping``/a ``TypedDict``: the input dict;
    - otherwise each parameter is filled from the input key of the same name (a parameter
      annotated :class:`Task` receives the task; ``**kwargs`` receives the remaining keys).
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        call = getattr(fn, "__call__", None)
        self.is_async = inspect.iscoroutinefunction(fn) or (
            not inspect.isfunction(fn) and not inspect.ismethod(fn) and inspect.iscoroutinefunction(call)
        )
        self._build = self._analyse(fn)

    def arguments(self, task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments to call the handler with for ``task``."""
        return self._build(task)

    @staticmethod
    def _analyse(fn: Callable[..., Any]) -> _ArgBuilder:
        signature = inspect.signature(fn)
        try:
            hints = get_type_hints(fn)
        except Exception:
            hints = {}
        params = [
            p
            for p in signature.parameters.values()
            if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        ]
        var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())

        def annotation(p: inspect.Parameter) -> Any:
            tp = hints.get(p.name, p.annotation)
            return None if tp is inspect.Parameter.empty else tp

        if not params and not var_kw:
            return lambda task: ((), {})
        if len(params) == 1 and not var_kw:
            p = params[0]
            tp = annotation(p)
            positional = p.kind is not inspect.Parameter.KEYWORD_ONLY
            if _unwrap_optional(tp) is Task or (tp is None and p.name == "task"):
                if positional:
                    return lambda task: ((task,), {})
                return lambda task: ((), {p.name: task})
            if tp is not None and dataclasses.is_dataclass(tp) and isinstance(tp, type):
                cls = tp

                def build_dataclass(task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
                    try:
                        value = from_dict(cls, task.input)
                    except TypeError as e:
                        raise TerminalError(f"input does not fit {cls.__name__}: {e}") from e
                    return ((value,), {}) if positional else ((), {p.name: value})

                return build_dataclass
            if tp is not None and _is_mapping_type(tp):
                if positional:
                    return lambda task: ((task.input,), {})
                return lambda task: ((), {p.name: task.input})

        # Keyword style: each parameter named after an input key.
        plan: list[tuple[str, Any, bool]] = []
        for p in params:
            tp = annotation(p)
            plan.append((p.name, tp, p.default is not inspect.Parameter.empty))
        names = {name for name, _, _ in plan}

        def build_kwargs(task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
            kwargs: dict[str, Any] = {}
            for name, tp, has_default in plan:
                if _unwrap_optional(tp) is Task:
                    kwargs[name] = task
                elif name in task.input:
                    kwargs[name] = _convert(task.input[name], tp) if tp is not None else task.input[name]
                elif not has_default:
                    raise TerminalError(f"task input has no {name!r}")
            if var_kw:
                for key, value in task.input.items():
                    if key not in names:
                        kwargs[key] = value
            return (), kwargs

        return build_kwargs


def _log_entries(result: task_pb2.TaskResult, task: Task, extra: list[str]) -> None:
    for message, at in task._logs:
        entry = result.logs.add(message=message)
        entry.time.FromNanoseconds(int(at * 1e9))
    if extra:
        now = int(time.time() * 1e9)
        for message in extra:
            entry = result.logs.add(message=message)
            entry.time.FromNanoseconds(now)


def _set_output(result: task_pb2.TaskResult, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        dict_to_struct(value, result.output)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        dict_to_struct(to_jsonable(value), result.output)
    else:
        dict_to_struct({"result": to_jsonable(value)}, result.output)


def _fresh_result(request: task_pb2.WorkRequest, task: Task) -> task_pb2.TaskResult:
    result = request.result
    result.Clear()
    result.task_id = task.task_id
    result.workflow_id = task.workflow_id
    result.worker_id = task.worker_id
    return result


def _error_result(request: task_pb2.WorkRequest, task: Task, error: BaseException) -> list[str]:
    result = _fresh_result(request, task)
    if isinstance(error, TerminalError):
        result.status = common_pb2.TASK_STATUS_FAILED_WITH_TERMINAL_ERROR
        result.reason_for_incompletion = str(error) or type(error).__name__
        if error.output:
            try:
                _set_output(result, error.output)
            except (TypeError, ValueError):
                result.output.Clear()
        return []
    result.status = common_pb2.TASK_STATUS_FAILED
    message = str(error)
    result.reason_for_incompletion = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return ["".join(traceback.format_exception(error)).rstrip()]


def outcome_to_result(task: Task, value: Any = None, error: BaseException | None = None) -> task_pb2.WorkRequest:
    """Maps a handler's return value or exception to the stream message carrying its result.

    The token is filled in later, when the result is sent.
    """
    request = task_pb2.WorkRequest()
    if error is not None:
        extra_logs = _error_result(request, task, error)
    else:
        result = _fresh_result(request, task)
        extra_logs = []
        try:
            if isinstance(value, TaskResult):
                result.status = value.status.to_proto()
                _set_output(result, value.output)
                result.reason_for_incompletion = value.reason_for_incompletion
                if value.status is TaskStatus.IN_PROGRESS:
                    # The handler has returned, so the task must come back to a worker:
                    # without a delay the server would keep it assigned to this run.
                    result.callback_after_seconds = max(1, value.callback_after_seconds)
                extra_logs.extend(value.logs)
            else:
                result.status = common_pb2.TASK_STATUS_COMPLETED
                _set_output(result, value)
        except (TypeError, ValueError) as e:
            extra_logs = _error_result(request, task, e)
            request.result.reason_for_incompletion = f"task output cannot be sent: {e}"
    _log_entries(request.result, task, extra_logs)
    return request


def _log_raised(task: Task, error: Exception) -> None:
    """Logs a handler's exception with the task's fields (not its input or output)."""
    terminal = isinstance(error, TerminalError)
    log.warning(
        "handler of %s raised %s for task %s%s",
        task.task_type,
        type(error).__name__,
        task.task_id,
        " (terminal: no retry)" if terminal else "",
        exc_info=None if terminal else error,
        extra={
            "event": "handler_failed",
            "task_type": task.task_type,
            "task_id": task.task_id,
            "workflow_id": task.workflow_id,
            "worker_id": task.worker_id,
            "attempt": task.retry_count + 1,
            "error": f"{type(error).__name__}: {error}",
            "terminal": terminal,
        },
    )


def run_sync(invoker: Invoker, task: Task) -> task_pb2.WorkRequest:
    """Runs a synchronous handler for a task and returns the result message."""
    reset = _current_task.set(task)
    try:
        args, kwargs = invoker.arguments(task)
        value = invoker.fn(*args, **kwargs)
    except Exception as e:
        _log_raised(task, e)
        return outcome_to_result(task, error=e)
    finally:
        _current_task.reset(reset)
    return outcome_to_result(task, value)


async def run_async(invoker: Invoker, task: Task) -> task_pb2.WorkRequest:
    """Runs a coroutine handler for a task and returns the result message."""
    _current_task.set(task)
    try:
        args, kwargs = invoker.arguments(task)
        value = await invoker.fn(*args, **kwargs)
    except Exception as e:
        _log_raised(task, e)
        return outcome_to_result(task, error=e)
    return outcome_to_result(task, value)
