"""Workers: run task handlers for tasks that Baton pushes over its worker stream.

Declare handlers with :func:`worker_task` and run them with :class:`Worker` (blocking, for
ordinary programs) or :class:`AsyncWorker` (inside an asyncio application)::

    from baton import Worker, worker_task

    @worker_task("greet", concurrency=4)
    def greet(name: str) -> dict:
        return {"greeting": f"Hello, {name}"}

    Worker().run()   # until SIGINT/SIGTERM

Each task type gets its own stream (all multiplexed over one HTTP/2 connection). The stream's
credit always equals the handler's free slots, so the server never pushes more tasks than the
worker can start. Plain functions run on a thread pool with ``concurrency`` threads;
``async def`` handlers run on the worker's event loop.

Configuration, strongest first: the environment variables
``BATON_WORKER_<TASK_TYPE>_CONCURRENCY``, ``..._DOMAIN``, ``..._WORKER_ID``, ``..._PAUSED`` and
``..._LEASE_EXTENSION`` (the task type upper-cased, other characters than letters and digits
replaced by ``_``); the values given in code; then ``BATON_WORKER_CONCURRENCY``,
``BATON_WORKER_DOMAIN``, ``BATON_WORKER_ID``, ``BATON_WORKER_PAUSED`` and
``BATON_WORKER_LEASE_EXTENSION`` for every task type. ``BATON_SERVER`` names
the server (``https://host:port`` for TLS), ``BATON_CA_FILE``, ``BATON_CLIENT_CERT`` and
``BATON_CLIENT_KEY`` the TLS files, and ``BATON_API_KEY`` the API key (for a server that runs
with authentication on; a key with the worker role is enough), when the code gives none.

Prometheus metrics (tasks received, finished and failed, execution time, result size, tasks
in flight; see :mod:`baton.metrics`) are recorded with ``metrics=True`` or a registry, and
served over HTTP with ``metrics_port=`` or ``BATON_WORKER_METRICS_PORT``.

The streams carry tasks, acknowledgements and results in batches unless ``batch=False`` or
``BATON_WORKER_BATCH=false``. Events are logged on the ``baton.worker`` logger with their
fields as record attributes (see :mod:`baton.logging`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import queue
import random
import re
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import grpc.aio

from baton._channel import (
    Connection,
    Metadata,
    auth_metadata,
    channel_options,
    open_aio_channel,
    resolve_api_key,
    resolve_connection,
)
from baton.metrics import TaskTypeMetrics, WorkerMetrics, resolve_metrics
from baton.models import TaskStatus
from baton.task import Invoker, Task, outcome_to_result, run_async, run_sync
from baton.v1 import common_pb2, task_pb2, task_pb2_grpc

log = logging.getLogger("baton.worker")

DEFAULT_CONCURRENCY = 10
"""Slots per task type when neither code nor environment sets one."""

LEASE_EXTENSION_FRACTION = 0.8
"""A running task's lease is extended once this fraction of it has passed."""

LEASE_EXTENSION_MARGIN = 0.5
"""...and at least this many seconds before it runs out (matters for very short leases)."""


def lease_extension_delay(response_timeout_seconds: float) -> float:
    """Seconds after an assignment (or extension) at which to extend its lease again."""
    return max(
        0.1,
        min(
            response_timeout_seconds * LEASE_EXTENSION_FRACTION,
            response_timeout_seconds - LEASE_EXTENSION_MARGIN,
        ),
    )

_F = TypeVar("_F", bound=Callable[..., Any])

_DROP_CODES = frozenset({"FAILED_PRECONDITION", "NOT_FOUND"})
_REFUSED_CODES = frozenset({"INVALID_ARGUMENT", "OUT_OF_RANGE"})
_AUTH_CODES = frozenset({grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED})
_MAX_RESULT_RETRIES = 10

MAX_RESULT_BATCH = 1000
"""Most results sent in one ``ResultBatch`` (the server's limit)."""

MAX_RESULT_BATCH_BYTES = 1024 * 1024
"""Results are added to a ``ResultBatch`` while it stays under this many bytes, far below the
server's message limit (its payload limit plus 1 MiB); a larger result goes on its own."""

MAX_MESSAGE_BYTES_HEADER = "baton-max-message-bytes"
"""Response header of the worker stream: the largest message, in bytes, the server reads."""

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""The message limit assumed when the server does not send :data:`MAX_MESSAGE_BYTES_HEADER`
(an older server): gRPC's usual default."""


def max_message_bytes(metadata: Iterable[tuple[str, Any]] | None) -> int:
    """The message limit named by the worker stream's response headers (``key, value`` pairs,
    as ``grpc.aio`` gives them), or :data:`DEFAULT_MAX_MESSAGE_BYTES` when the header is
    absent or not a positive number."""
    for key, value in metadata or ():
        if key.lower() != MAX_MESSAGE_BYTES_HEADER:
            continue
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        try:
            limit = int(text.strip())
        except ValueError:
            break
        if limit > 0:
            return limit
        break
    return DEFAULT_MAX_MESSAGE_BYTES


def fit_result(request: task_pb2.WorkRequest, limit: int) -> int | None:
    """Keeps a single-result message within the server's message limit.

    When the encoded ``request`` is larger than ``limit`` bytes, turns its result, in place,
    into a FAILED one for the same task, token, execution and worker, with no output and no
    logs, and a reason that names both sizes; returns the size it had. Returns None (and
    changes nothing) when the message fits. The replacement is a few hundred bytes at most,
    so it always fits.
    """
    size = request.ByteSize()
    if size <= limit:
        return None
    result = request.result
    result.status = common_pb2.TASK_STATUS_FAILED
    result.output.Clear()
    del result.logs[:]
    result.callback_after_seconds = 0
    result.reason_for_incompletion = (
        f"the task result is {size} bytes, more than the {limit} bytes the server reads in one message"
    )
    return size


@dataclass
class WorkerTask:
    """A handler for one task type and how to run it.

    Attributes:
        task_type: the task definition name to take tasks of.
        handler: the function (or coroutine function) that runs a task.
        concurrency: how many tasks of this type may run at once.
        domain: the domain to take tasks from (None or "" for the default queue).
        worker_id: identifies this worker to the server for this task type.
        lease_extension: extend the lease of long-running tasks automatically (None: on).
        paused: start without taking tasks (until :meth:`Worker.resume`).
    """

    task_type: str
    handler: Callable[..., Any]
    concurrency: int | None = None
    domain: str | None = None
    worker_id: str | None = None
    lease_extension: bool | None = None
    paused: bool | None = None


class TaskRegistry:
    """A set of :class:`WorkerTask` definitions, keyed by task type."""

    def __init__(self) -> None:
        self._tasks: dict[str, WorkerTask] = {}

    def add(self, task: WorkerTask) -> None:
        """Adds a handler, replacing any earlier one for the same task type."""
        self._tasks[task.task_type] = task

    def remove(self, task_type: str) -> None:
        """Forgets the handler of a task type."""
        self._tasks.pop(task_type, None)

    def clear(self) -> None:
        """Forgets every handler."""
        self._tasks.clear()

    def tasks(self) -> list[WorkerTask]:
        """The registered handlers."""
        return list(self._tasks.values())

    def task(
        self,
        task_type: str,
        *,
        concurrency: int | None = None,
        domain: str | None = None,
        worker_id: str | None = None,
        lease_extension: bool | None = None,
        paused: bool | None = None,
    ) -> Callable[[_F], _F]:
        """Decorator registering a handler in this registry; see :func:`worker_task`."""

        def decorate(fn: _F) -> _F:
            spec = WorkerTask(task_type, fn, concurrency, domain, worker_id, lease_extension, paused)
            self.add(spec)
            try:
                setattr(fn, "__baton_task__", spec)
            except (AttributeError, TypeError):
                pass
            return fn

        return decorate


default_registry = TaskRegistry()
"""The registry :func:`worker_task` adds to unless told otherwise."""


def worker_task(
    task_type: str,
    *,
    concurrency: int | None = None,
    domain: str | None = None,
    worker_id: str | None = None,
    lease_extension: bool | None = None,
    paused: bool | None = None,
    registry: TaskRegistry | None = None,
) -> Callable[[_F], _F]:
    """Declares a function as the handler of a task type.

    The function stays callable as before. It receives the :class:`baton.Task`, or its input
    converted to the annotated parameter type (a dataclass, a dict or TypedDict), or one
    keyword argument per input key; see :class:`baton.task.Invoker`. It returns the output
    (dict, dataclass, None, or any JSON value, kept under ``"result"``) or a
    :class:`baton.TaskResult`; it raises :class:`baton.TerminalError` to fail without retry.

    Args:
        task_type: the task definition name.
        concurrency: how many tasks of this type run at once (default 10).
        domain: take tasks from this domain instead of the default queue.
        worker_id: identifies the worker (default: host name and process id).
        lease_extension: extend the lease of tasks that run long (default on).
        paused: start paused.
        registry: the registry to add to (default: :data:`default_registry`).
    """
    target = default_registry if registry is None else registry
    return target.task(
        task_type,
        concurrency=concurrency,
        domain=domain,
        worker_id=worker_id,
        lease_extension=lease_extension,
        paused=paused,
    )


def _as_worker_task(item: WorkerTask | Callable[..., Any]) -> WorkerTask:
    if isinstance(item, WorkerTask):
        return item
    spec = getattr(item, "__baton_task__", None)
    if isinstance(spec, WorkerTask):
        return spec
    raise TypeError(f"{item!r} is neither a WorkerTask nor a function decorated with @worker_task")


def default_worker_id() -> str:
    """``BATON_WORKER_ID``, else ``<host name>-<process id>``."""
    return os.environ.get("BATON_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"


def env_name(task_type: str, setting: str) -> str:
    """The environment variable that overrides a setting of a task type."""
    key = re.sub(r"[^A-Za-z0-9]", "_", task_type).upper()
    return f"BATON_WORKER_{key}_{setting}"


def _parse_bool(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name}={text!r} is not a boolean")


def resolve_batch(batch: bool | None, environ: Mapping[str, str] | None = None) -> bool:
    """Batching on the worker stream: the value given in code, else ``BATON_WORKER_BATCH``,
    else on."""
    if batch is not None:
        return batch
    text = (os.environ if environ is None else environ).get("BATON_WORKER_BATCH", "")
    return _parse_bool(text, "BATON_WORKER_BATCH") if text.strip() else True


@dataclass(frozen=True)
class ResolvedTask:
    """A :class:`WorkerTask` with code, environment and defaults combined."""

    spec: WorkerTask
    concurrency: int
    domain: str
    worker_id: str
    paused: bool
    lease_extension: bool = True


def resolve_task(
    spec: WorkerTask, worker_id: str | None = None, environ: Mapping[str, str] | None = None
) -> ResolvedTask:
    """Combines a task's settings: per-task environment, then code, then global environment."""
    env = os.environ if environ is None else environ

    def pick(setting: str, code_value: Any, global_name: str) -> str | None:
        own = env.get(env_name(spec.task_type, setting))
        if own:
            return own
        if code_value is not None and code_value != "":
            return str(code_value)
        return env.get(global_name) or None

    concurrency_text = pick("CONCURRENCY", spec.concurrency, "BATON_WORKER_CONCURRENCY")
    try:
        concurrency = int(concurrency_text) if concurrency_text else DEFAULT_CONCURRENCY
    except ValueError:
        raise ValueError(f"concurrency of {spec.task_type} is not a number: {concurrency_text!r}") from None
    if concurrency < 1:
        raise ValueError(f"concurrency of {spec.task_type} must be at least 1, got {concurrency}")
    domain = pick("DOMAIN", spec.domain, "BATON_WORKER_DOMAIN") or ""
    wid = pick("WORKER_ID", spec.worker_id, "BATON_WORKER_ID") or worker_id or default_worker_id()
    paused_text = pick("PAUSED", None if spec.paused is None else str(spec.paused), "BATON_WORKER_PAUSED")
    paused = _parse_bool(paused_text, "paused") if paused_text else False
    lease_text = pick(
        "LEASE_EXTENSION",
        None if spec.lease_extension is None else str(spec.lease_extension),
        "BATON_WORKER_LEASE_EXTENSION",
    )
    lease_extension = _parse_bool(lease_text, "lease_extension") if lease_text else True
    return ResolvedTask(spec, concurrency, domain, wid, paused, lease_extension)


@dataclass
class TaskTypeStats:
    """Counters of one task type's stream."""

    received: int = 0
    """Tasks pushed by the server and started."""
    completed: int = 0
    """Handler runs that ended COMPLETED."""
    failed: int = 0
    """Handler runs that ended FAILED or FAILED_WITH_TERMINAL_ERROR."""
    in_progress: int = 0
    """Handler runs that ended IN_PROGRESS."""
    acknowledged: int = 0
    """Results the server took."""
    dropped: int = 0
    """Results the server refused for good (stale token, unknown task, invalid result)."""
    redelivered: int = 0
    """Assignments of a task this worker was already running or reporting (not run again)."""
    declined: int = 0
    """Tasks pushed while shutting down and left for the server to hand out again."""
    reconnects: int = 0
    """Streams opened after the first."""
    task_batches: int = 0
    """Messages from the server that carried several tasks (TaskBatch)."""
    ack_batches: int = 0
    """Messages from the server that carried several result acknowledgements (AckBatch)."""
    result_batches: int = 0
    """Messages to the server that carried several results (ResultBatch)."""
    oversized: int = 0
    """Results too large for one message to the server, reported as FAILED instead."""


@dataclass
class WorkerStats:
    """Counters per task type."""

    by_task_type: dict[str, TaskTypeStats] = field(default_factory=dict)

    def total(self, name: str) -> int:
        """Sum of one counter over every task type."""
        return sum(getattr(s, name) for s in self.by_task_type.values())


@dataclass(frozen=True)
class WorkerEvent:
    """Something that happened in a worker, for metrics and tracing hooks.

    ``kind`` is one of ``started`` (a handler run began), ``finished`` (it ended; ``status``
    says how), ``acknowledged`` (the server took the result), ``dropped`` (the server refused
    the result for good; ``detail`` says why), ``redelivered`` (the server handed out again a
    task this worker was still running or reporting), ``connected`` and ``disconnected``.
    Callbacks run on the worker's event loop and must return quickly.
    """

    kind: str
    task_type: str
    task_id: str = ""
    workflow_id: str = ""
    status: TaskStatus | None = None
    detail: str = ""


EventCallback = Callable[[WorkerEvent], None]


class _HandlerThreads:
    """A fixed-size set of threads running plain handlers, started as work arrives.

    Lighter than ``ThreadPoolExecutor`` for short tasks (no future per task). Threads are
    daemons: a handler still running when the process exits does not hold it up (the server
    hands its task out again).
    """

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self.queue: queue.SimpleQueue[tuple[Callable[[Any], None], Any] | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.idle = 0
        self.pending = 0
        self.lock = threading.Lock()
        self.closed = False

    def submit(self, fn: Callable[[Any], None], arg: Any) -> None:
        if self.closed:
            raise RuntimeError("handler threads are shut down")
        with self.lock:
            self.pending += 1
            spawn = self.pending > self.idle and len(self.threads) < self.size
            if spawn:
                self.idle += 1
                thread = threading.Thread(
                    target=self._loop, name=f"{self.name}-{len(self.threads)}", daemon=True
                )
                self.threads.append(thread)
        self.queue.put((fn, arg))
        if spawn:
            thread.start()

    def _loop(self) -> None:
        get = self.queue.get
        lock = self.lock
        while True:
            item = get()
            if item is None:
                return
            with lock:
                self.pending -= 1
                self.idle -= 1
            fn, arg = item
            try:
                fn(arg)
            finally:
                with lock:
                    self.idle += 1

    def shutdown(self) -> None:
        """Lets the threads end once their current handler returns; queued work is dropped."""
        self.closed = True
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        for _ in self.threads:
            self.queue.put(None)


class _Execution:
    __slots__ = ("task", "lease_timer", "elapsed")

    def __init__(self, task: Task) -> None:
        self.task = task
        self.lease_timer: asyncio.TimerHandle | None = None
        self.elapsed: float | None = None
        """Seconds the handler ran (set when it returns)."""


class _TaskStream:
    """The stream of one task type: subscription, credits, results, leases, reconnects."""

    def __init__(self, core: _Core, resolved: ResolvedTask) -> None:
        self.core = core
        self.loop = core.loop
        self.resolved = resolved
        self.task_type = resolved.spec.task_type
        self.concurrency = resolved.concurrency
        self.worker_id = resolved.worker_id
        self.lease_extension = resolved.lease_extension
        self.invoker = Invoker(resolved.spec.handler)
        self.pool: _HandlerThreads | None = None
        if not self.invoker.is_async:
            self.pool = _HandlerThreads(self.concurrency, f"baton-{self.task_type}")
        self.stats = TaskTypeStats()
        self.metrics: TaskTypeMetrics | None = (
            None if core.metrics is None else core.metrics.for_task_type(self.task_type)
        )
        self.running: dict[str, _Execution] = {}
        self.unacked: dict[str, task_pb2.WorkRequest] = {}
        self.result_retries: dict[str, int] = {}
        self.reclaiming: set[str] = set()
        self.outbox: deque[task_pb2.WorkRequest] = deque()
        self.wake = asyncio.Event()
        self.kick = asyncio.Event()
        self.idle = asyncio.Event()
        self.credit_owed = 0
        self.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES
        """The largest message the server reads, from the headers of the latest stream."""
        self.live = False
        self.paused = resolved.paused
        self.draining = False
        self.sessions = 0
        self.async_runs: set[asyncio.Task[Any]] = set()
        self._done_lock = threading.Lock()
        self._done: list[tuple[_Execution, task_pb2.WorkRequest]] = []
        self._done_scheduled = False
        self._session_connected = False

    def _log(
        self,
        level: int,
        event: str,
        message: str,
        *args: Any,
        task_id: str = "",
        workflow_id: str = "",
        exc_info: bool = False,
        **fields: Any,
    ) -> None:
        """Logs a worker event with its fields as attributes of the record (``extra``):
        ``event``, ``task_type``, ``worker_id``, and ``task_id``/``workflow_id`` when about one
        task, plus the given ones. Never task input or output."""
        if not log.isEnabledFor(level):
            return
        extra = {"event": event, "task_type": self.task_type, "worker_id": self.worker_id}
        if task_id:
            extra["task_id"] = task_id
        if workflow_id:
            extra["workflow_id"] = workflow_id
        extra.update(fields)
        log.log(level, message, *args, extra=extra, exc_info=exc_info)

    def _emit(
        self,
        kind: str,
        task_id: str = "",
        workflow_id: str = "",
        status: int | None = None,
        detail: str = "",
    ) -> None:
        callback = self.core.on_event
        if callback is None:
            return
        event = WorkerEvent(
            kind,
            self.task_type,
            task_id,
            workflow_id,
            None if status is None else TaskStatus.from_proto(status),
            detail,
        )
        try:
            callback(event)
        except Exception:  # noqa: BLE001 - a hook must not break the worker
            log.exception("worker event callback failed")

    # --- state changes (event loop thread) ---------------------------------------------

    def pause(self) -> None:
        self.paused = True
        self.kick.set()
        self._check_idle()

    def resume(self) -> None:
        self.paused = False
        self.kick.set()
        self.wake.set()

    def begin_drain(self) -> None:
        if not self.draining:
            self._log(
                logging.INFO,
                "drain_started",
                "worker stream for %s draining: no new tasks, %d running, %d result(s) unacknowledged",
                self.task_type,
                len(self.running),
                len(self.unacked),
                running=len(self.running),
                unacknowledged=len(self.unacked),
            )
        self.draining = True
        self.kick.set()
        self.wake.set()
        self._check_idle()

    def _quiet(self) -> bool:
        return not self.running and not self.unacked

    def _check_idle(self) -> None:
        if (self.draining or self.paused) and self._quiet():
            self.idle.set()

    # --- connection loop ---------------------------------------------------------------

    def _drained(self) -> None:
        self._log(logging.INFO, "drain_finished", "worker stream for %s drained", self.task_type)

    async def run(self) -> None:
        backoff = self.core.initial_backoff
        attempt = 0
        while True:
            if self.draining and self._quiet():
                self._drained()
                return
            if self.paused and not self.draining and self._quiet():
                self.kick.clear()
                await self.kick.wait()
                continue
            connected = False
            error: BaseException | None = None
            try:
                connected = await self._session()
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as e:
                error = e
                connected = connected or self._session_connected
            except Exception as e:  # noqa: BLE001 - keep the worker alive, log and reconnect
                error = e
                connected = connected or self._session_connected
                self._log(
                    logging.ERROR,
                    "stream_failed",
                    "worker stream for %s failed",
                    self.task_type,
                    exc_info=True,
                    error=f"{type(e).__name__}: {e}",
                )
            if connected and self.core.on_event is not None:
                self._emit("disconnected", detail="" if error is None else str(error))
            if self.draining and self._quiet():
                self._drained()
                return
            if self.paused and not self.draining and self._quiet():
                continue
            if connected:
                backoff = self.core.initial_backoff
                attempt = 0
            attempt += 1
            delay = backoff * random.uniform(0.8, 1.2)
            backoff = min(backoff * 2, self.core.max_backoff)
            if isinstance(error, grpc.aio.AioRpcError) and error.code() in _AUTH_CODES:
                # Refused for its credentials: no retry fixes that until the key or the server
                # changes, so each refusal is an error (the retries go on, backing off).
                self._log(
                    logging.ERROR,
                    "reconnecting",
                    "server refused the worker stream for %s (%s: %s); check the API key; retrying in %.2fs",
                    self.task_type,
                    error.code().name,
                    error.details(),
                    delay,
                    error=f"{error.code().name}: {error.details()}",
                    code=error.code().name,
                    server=self.core.address,
                    attempt=attempt,
                    backoff_seconds=round(delay, 3),
                )
            elif isinstance(error, grpc.aio.AioRpcError):
                self._log(
                    logging.WARNING if connected else logging.INFO,
                    "reconnecting",
                    "worker stream for %s lost (%s: %s); reconnecting in %.2fs",
                    self.task_type,
                    error.code().name,
                    error.details(),
                    delay,
                    error=f"{error.code().name}: {error.details()}",
                    server=self.core.address,
                    attempt=attempt,
                    backoff_seconds=round(delay, 3),
                )
            elif error is None:
                self._log(
                    logging.INFO,
                    "reconnecting",
                    "server closed the worker stream for %s; reconnecting in %.2fs",
                    self.task_type,
                    delay,
                    error="stream closed by the server",
                    attempt=attempt,
                    backoff_seconds=round(delay, 3),
                )
            self.kick.clear()
            try:
                await asyncio.wait_for(self.kick.wait(), delay)
            except asyncio.TimeoutError:
                pass

    async def _session(self) -> bool:
        """Runs one stream until it breaks or is closed on purpose; True if it connected."""
        self._session_connected = False
        call = self.core.stub.Work(metadata=self.core.metadata)
        credits = 0 if (self.draining or self.paused) else max(0, self.concurrency - len(self.running))
        subscribe = task_pb2.WorkRequest(
            subscribe=task_pb2.Subscribe(
                task_types=[self.task_type],
                domain=self.resolved.domain,
                worker_id=self.worker_id,
                credits=credits,
                batch=self.core.batch,
            )
        )
        self.outbox.clear()
        # Tasks still running from an earlier stream: claim them back (an IN_PROGRESS report
        # without a callback keeps a task with its worker) so that the server does not hand
        # them to someone else meanwhile. Then re-send every unacknowledged result.
        self.reclaiming = set(self.running)
        for execution in self.running.values():
            self.outbox.append(self._reclaim_request(execution.task))
        self.outbox.extend(self.unacked.values())
        self.credit_owed = 0
        self.idle = asyncio.Event()
        self._check_idle()
        self.live = True
        self.wake.set()
        writer = asyncio.ensure_future(self._write_loop(call, subscribe))
        reader = asyncio.ensure_future(self._read_loop(call))
        closer: asyncio.Future[Any] = asyncio.ensure_future(self.idle.wait())
        try:
            done, _ = await asyncio.wait({writer, reader, closer}, return_when=asyncio.FIRST_COMPLETED)
            for t in (reader, writer):
                if t in done:
                    t.result()
            return self._session_connected
        finally:
            self.live = False
            call.cancel()
            writer.cancel()
            reader.cancel()
            closer.cancel()
            await asyncio.gather(writer, reader, closer, return_exceptions=True)

    async def _write_loop(self, call: Any, subscribe: task_pb2.WorkRequest) -> None:
        await call.write(subscribe)
        # The server answers the subscription with its headers, which name the largest
        # message it reads; nothing else goes out before that is known (results re-sent
        # from an earlier stream are checked against this server's limit).
        self.max_message_bytes = max_message_bytes(await call.initial_metadata())
        outbox = self.outbox
        wake = self.wake
        batch = self.core.batch
        write = call.write
        while True:
            # Credit goes first: it lets the server push more work while results queue up.
            # Everything owed since the last write goes in one grant.
            if self.credit_owed > 0 and not self.paused and not self.draining:
                granted = self.credit_owed
                self.credit_owed = 0
                await write(task_pb2.WorkRequest(credits=task_pb2.GrantCredits(credits=granted)))
            elif outbox:
                first = outbox.popleft()
                if not first.HasField("result"):
                    await write(first)
                    continue
                # A result too large for one message is replaced by a FAILED one (here too,
                # not only when the handler returned: re-sent results and a new server's
                # limit).
                size = self._fit(first)
                if not batch or not outbox:
                    await write(first)
                    continue
                # Every result queued right now goes in one message (within the count and
                # size limits); nothing waits for more. A result that does not fit in the
                # batch goes on its own later.
                results = [first.result]
                while outbox and len(results) < MAX_RESULT_BATCH and outbox[0].HasField("result"):
                    size += self._fit(outbox[0])
                    if size > MAX_RESULT_BATCH_BYTES:
                        break
                    results.append(outbox.popleft().result)
                if len(results) == 1:
                    await write(first)
                else:
                    self.stats.result_batches += 1
                    await write(task_pb2.WorkRequest(results=task_pb2.ResultBatch(results=results)))
            else:
                wake.clear()
                await wake.wait()

    async def _read_loop(self, call: Any) -> None:
        # Connected once the server's headers have come: a stream the server refuses (for its
        # credentials, say) ends without any, and then this raises the server's status.
        await call.initial_metadata()
        await call.wait_for_connection()
        self._session_connected = True
        self.sessions += 1
        if self.sessions > 1:
            self.stats.reconnects += 1
            if self.metrics is not None:
                self.metrics.reconnects.inc()
        self._log(
            logging.INFO,
            "connected",
            "worker stream for %s %s to %s",
            self.task_type,
            "reconnected" if self.sessions > 1 else "connected",
            self.core.address,
            server=self.core.address,
            reconnects=self.stats.reconnects,
            batch=self.core.batch,
        )
        if self.core.on_event is not None:
            self._emit("connected")
        on_task = self._on_task
        on_result_ack = self._on_result_ack
        read = call.read
        eof = grpc.aio.EOF
        while True:
            response = await read()
            if response is eof:
                return
            kind = response.WhichOneof("kind")
            if kind == "tasks":
                self.stats.task_batches += 1
                for assignment in response.tasks.tasks:
                    on_task(assignment)
            elif kind == "result_acks":
                self.stats.ack_batches += 1
                for ack in response.result_acks.acks:
                    on_result_ack(ack)
            elif kind == "task":
                on_task(response.task)
            elif kind == "result_ack":
                on_result_ack(response.result_ack)
            elif kind == "lease_ack":
                self._on_lease_ack(response.lease_ack)

    # --- incoming messages -------------------------------------------------------------

    def _on_task(self, assignment: task_pb2.TaskAssignment) -> None:
        task_id = assignment.task_id
        if self.draining:
            # Not started: the server hands it out again when this stream closes.
            self.stats.declined += 1
            return
        execution = self.running.get(task_id)
        if execution is not None:
            # Handed out again (after a reconnect) while still running here: keep running it
            # and report under the new token instead of starting a second run.
            execution.task.token = assignment.token
            self.stats.redelivered += 1
            self._emit("redelivered", task_id, assignment.workflow_id)
            self.credit_owed += 1
            self.wake.set()
            return
        pending = self.unacked.get(task_id)
        if pending is not None:
            # Finished here but not yet acknowledged: re-send the result under the new token.
            pending.result.token = assignment.token
            self.outbox.append(pending)
            self.stats.redelivered += 1
            self._emit("redelivered", task_id, assignment.workflow_id)
            self.credit_owed += 1
            self.wake.set()
            return
        task = Task.from_assignment(assignment, self.worker_id)
        execution = _Execution(task)
        self.running[task_id] = execution
        self.stats.received += 1
        if self.metrics is not None:
            self.metrics.received.inc()
            self.metrics.in_flight.set(len(self.running))
        if self.core.on_event is not None:
            self._emit("started", task_id, task.workflow_id)
        self._arm_lease(execution)
        if self.pool is None:
            run = self.loop.create_task(self._run_coroutine(execution))
            self.async_runs.add(run)
            run.add_done_callback(self.async_runs.discard)
        else:
            self.pool.submit(self._run_in_thread, execution)

    def _reclaim_request(self, task: Task) -> task_pb2.WorkRequest:
        request = task_pb2.WorkRequest()
        result = request.result
        result.task_id = task.task_id
        result.token = task.token
        result.workflow_id = task.workflow_id
        result.worker_id = task.worker_id
        result.status = common_pb2.TASK_STATUS_IN_PROGRESS
        return request

    def _on_reclaim_ack(self, ack: task_pb2.Ack) -> None:
        execution = self.running.get(ack.task_id)
        if execution is None or execution.task.token != ack.token or ack.ok:
            return
        execution.task.lease_lost = True
        self._log(
            logging.WARNING,
            "reclaim_refused",
            "could not take back running task %s after reconnecting (%s: %s); its result will likely be refused",
            ack.task_id,
            ack.code,
            ack.message,
            task_id=ack.task_id,
            workflow_id=execution.task.workflow_id,
            code=ack.code,
            error=ack.message,
        )

    def _on_result_ack(self, ack: task_pb2.Ack) -> None:
        task_id = ack.task_id
        if task_id in self.reclaiming:
            # Acks for one task come in the order of the messages they answer, and the
            # claim went out before any result of this stream.
            self.reclaiming.discard(task_id)
            self._on_reclaim_ack(ack)
            return
        pending = self.unacked.get(task_id)
        if pending is None:
            return
        if ack.ok:
            del self.unacked[task_id]
            self.result_retries.pop(task_id, None)
            self.stats.acknowledged += 1
            if self.core.on_event is not None:
                self._emit("acknowledged", task_id, pending.result.workflow_id, pending.result.status)
        elif ack.token != pending.result.token:
            return  # answer to an older send; a newer one is on its way
        elif ack.code in _DROP_CODES:
            self._log(
                logging.WARNING,
                "result_refused",
                "server refused the result of task %s (%s): %s; dropping it",
                task_id,
                ack.code,
                ack.message,
                task_id=task_id,
                workflow_id=pending.result.workflow_id,
                code=ack.code,
                error=ack.message,
                action="dropped",
            )
            del self.unacked[task_id]
            self.result_retries.pop(task_id, None)
            self._count_dropped()
            self._emit("dropped", task_id, pending.result.workflow_id, pending.result.status, ack.code)
        elif ack.code in _REFUSED_CODES and pending.result.status != common_pb2.TASK_STATUS_FAILED:
            self._log(
                logging.ERROR,
                "result_refused",
                "server refused the result of task %s (%s): %s; reporting the task FAILED instead",
                task_id,
                ack.code,
                ack.message,
                task_id=task_id,
                workflow_id=pending.result.workflow_id,
                code=ack.code,
                error=ack.message,
                action="failed",
            )
            result = pending.result
            result.status = common_pb2.TASK_STATUS_FAILED
            result.output.Clear()
            result.callback_after_seconds = 0
            result.reason_for_incompletion = f"the server refused the task result: {ack.code}: {ack.message}"
            self.outbox.append(pending)
            self.wake.set()
        else:
            attempt = self.result_retries.get(task_id, 0) + 1
            self.result_retries[task_id] = attempt
            if attempt > _MAX_RESULT_RETRIES or ack.code in _REFUSED_CODES:
                self._log(
                    logging.ERROR,
                    "result_refused",
                    "giving up on the result of task %s (%s): %s",
                    task_id,
                    ack.code,
                    ack.message,
                    task_id=task_id,
                    workflow_id=pending.result.workflow_id,
                    code=ack.code,
                    error=ack.message,
                    attempt=attempt,
                    action="dropped",
                )
                del self.unacked[task_id]
                self.result_retries.pop(task_id, None)
                self._count_dropped()
                self._emit("dropped", task_id, pending.result.workflow_id, pending.result.status, ack.code)
            else:
                delay = min(0.1 * 2**attempt, 5.0)
                self._log(
                    logging.WARNING,
                    "result_refused",
                    "server did not take the result of task %s (%s: %s); retrying in %.1fs",
                    task_id,
                    ack.code,
                    ack.message,
                    delay,
                    task_id=task_id,
                    workflow_id=pending.result.workflow_id,
                    code=ack.code,
                    error=ack.message,
                    attempt=attempt,
                    backoff_seconds=delay,
                    action="retry",
                )
                self.loop.call_later(delay, self._resend, task_id, pending)
        self._check_idle()

    def _fit(self, request: task_pb2.WorkRequest) -> int:
        """Replaces a result too large for one message to the server by a FAILED one (see
        :func:`fit_result`), logs and counts it; returns the message's size in bytes."""
        limit = self.max_message_bytes
        size = fit_result(request, limit)
        if size is None:
            return request.ByteSize()
        result = request.result
        self.stats.oversized += 1
        self._log(
            logging.ERROR,
            "result_too_large",
            "the result of task %s is %d bytes, more than the %d bytes the server reads in one "
            "message; reporting the task FAILED instead",
            result.task_id,
            size,
            limit,
            task_id=result.task_id,
            workflow_id=result.workflow_id,
            size_bytes=size,
            limit_bytes=limit,
            error=result.reason_for_incompletion,
            action="failed",
        )
        return request.ByteSize()

    def _count_dropped(self) -> None:
        self.stats.dropped += 1
        if self.metrics is not None:
            self.metrics.dropped.inc()

    def _resend(self, task_id: str, pending: task_pb2.WorkRequest) -> None:
        if self.unacked.get(task_id) is pending and self.live:
            self.outbox.append(pending)
            self.wake.set()

    def _on_lease_ack(self, ack: task_pb2.Ack) -> None:
        execution = self.running.get(ack.task_id)
        if execution is None or execution.task.token != ack.token:
            return
        if ack.ok:
            if ack.HasField("lease_deadline"):
                execution.task.lease_deadline = ack.lease_deadline.ToDatetime(tzinfo=datetime.timezone.utc)
        else:
            execution.task.lease_lost = True
            self._log(
                logging.WARNING,
                "lease_refused",
                "lease of task %s not extended (%s: %s); its result will likely be refused",
                ack.task_id,
                ack.code,
                ack.message,
                task_id=ack.task_id,
                workflow_id=execution.task.workflow_id,
                code=ack.code,
                error=ack.message,
            )

    # --- leases ------------------------------------------------------------------------

    def _arm_lease(self, execution: _Execution) -> None:
        seconds = execution.task.response_timeout_seconds
        if self.lease_extension and seconds > 0:
            execution.lease_timer = self.loop.call_later(lease_extension_delay(seconds), self._extend_lease, execution)

    def _extend_lease(self, execution: _Execution) -> None:
        task = execution.task
        if self.running.get(task.task_id) is not execution:
            return
        if self.live:
            self.outbox.append(
                task_pb2.WorkRequest(
                    extend_lease=task_pb2.LeaseExtension(
                        task_id=task.task_id, token=task.token, workflow_id=task.workflow_id
                    )
                )
            )
            self.wake.set()
        self._arm_lease(execution)

    # --- running handlers --------------------------------------------------------------

    def _run_in_thread(self, execution: _Execution) -> None:
        started = time.perf_counter()
        try:
            request = run_sync(self.invoker, execution.task)
        except BaseException as e:  # noqa: BLE001 - SystemExit and the like fail the task too
            request = outcome_to_result(execution.task, error=e)
        execution.elapsed = time.perf_counter() - started
        with self._done_lock:
            self._done.append((execution, request))
            schedule = not self._done_scheduled
            self._done_scheduled = True
        if schedule:
            try:
                self.loop.call_soon_threadsafe(self._drain_done)
            except RuntimeError:
                pass  # the loop is closed: the worker was stopped without waiting

    def _drain_done(self) -> None:
        with self._done_lock:
            done = self._done
            self._done = []
            self._done_scheduled = False
        for execution, request in done:
            self._finish(execution, request)

    async def _run_coroutine(self, execution: _Execution) -> None:
        started = time.perf_counter()
        request = await run_async(self.invoker, execution.task)
        execution.elapsed = time.perf_counter() - started
        self._finish(execution, request)

    def _finish(self, execution: _Execution, request: task_pb2.WorkRequest) -> None:
        task = execution.task
        if self.running.get(task.task_id) is execution:
            del self.running[task.task_id]
        if execution.lease_timer is not None:
            execution.lease_timer.cancel()
            execution.lease_timer = None
        result = request.result
        result.token = task.token
        output_bytes = result.output.ByteSize() if self.metrics is not None else 0
        self._fit(request)
        status = result.status
        if status == common_pb2.TASK_STATUS_COMPLETED:
            self.stats.completed += 1
        elif status == common_pb2.TASK_STATUS_IN_PROGRESS:
            self.stats.in_progress += 1
        else:
            self.stats.failed += 1
        metrics = self.metrics
        if metrics is not None:
            metrics.finish(
                common_pb2.TaskStatus.Name(status).removeprefix("TASK_STATUS_"),
                execution.elapsed,
                output_bytes,
            )
            metrics.in_flight.set(len(self.running))
        if self.core.on_event is not None:
            self._emit("finished", task.task_id, task.workflow_id, status)
        self.unacked[task.task_id] = request
        if self.live:
            self.outbox.append(request)
        if not self.draining:
            self.credit_owed += 1
        self.wake.set()
        self._check_idle()


class _Core:
    """Owns the channel and the streams; lives on one event loop."""

    def __init__(
        self,
        tasks: list[ResolvedTask],
        address: str,
        credentials: grpc.ChannelCredentials | None,
        initial_backoff: float,
        max_backoff: float,
        on_event: EventCallback | None,
        metrics: WorkerMetrics | None = None,
        batch: bool = True,
        metadata: Metadata | None = None,
    ) -> None:
        self.tasks = tasks
        self.batch = batch
        self.on_event = on_event
        self.metrics = metrics
        self.address = address
        self.credentials = credentials
        self.metadata = metadata
        """Sent when each stream opens: the API key, when there is one."""
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.loop = asyncio.get_running_loop()
        options = channel_options(max_reconnect_backoff_ms=int(max_backoff * 1000))
        self.channel = open_aio_channel(Connection(address, credentials), options)
        self.stub = task_pb2_grpc.TaskServiceStub(self.channel)
        self.streams = {r.spec.task_type: _TaskStream(self, r) for r in tasks}
        self.runs: list[asyncio.Task[None]] = []
        self.finished = asyncio.Event()
        self.stopping = False
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.runs = [self.loop.create_task(s.run()) for s in self.streams.values()]
        self._watcher = self.loop.create_task(self._watch())

    async def _watch(self) -> None:
        try:
            await asyncio.gather(*self.runs)
        finally:
            await self._close()
            self.finished.set()

    async def _close(self) -> None:
        for stream in self.streams.values():
            for run in list(stream.async_runs):
                run.cancel()
            if stream.pool is not None:
                stream.pool.shutdown()
            if stream.metrics is not None:
                # Handlers still running now are abandoned: the server hands their tasks out again.
                stream.metrics.in_flight.set(0)
        await self.channel.close()

    def select(self, task_type: str | None) -> list[_TaskStream]:
        if task_type is None:
            return list(self.streams.values())
        if task_type not in self.streams:
            raise KeyError(f"this worker has no handler for {task_type!r}")
        return [self.streams[task_type]]

    async def stop(self, grace_period: float) -> None:
        self.stopping = True
        for stream in self.streams.values():
            stream.begin_drain()
        if self.runs:
            _, pending = await asyncio.wait(self.runs, timeout=grace_period)
            if pending:
                still_running = sum(len(s.running) for s in self.streams.values())
                unacked = sum(len(s.unacked) for s in self.streams.values())
                log.warning(
                    "grace period over with %d task(s) running and %d result(s) unacknowledged; "
                    "the server will hand those tasks out again",
                    still_running,
                    unacked,
                    extra={
                        "event": "drain_timeout",
                        "grace_period_seconds": grace_period,
                        "running": still_running,
                        "unacknowledged": unacked,
                    },
                )
                for run in pending:
                    run.cancel()
        await self.finished.wait()

    def stats(self) -> WorkerStats:
        return WorkerStats({name: s.stats for name, s in self.streams.items()})


class AsyncWorker:
    """Runs task handlers on the current asyncio event loop.

    Args:
        tasks: :class:`WorkerTask` objects or functions decorated with :func:`worker_task`;
            default: every handler in ``registry``.
        server: the server: ``host:port``, ``http://host:port`` or, for a server with TLS,
            ``https://host:port`` (default ``BATON_SERVER`` or 127.0.0.1:7070).
        worker_id: default worker id for task types that do not set one.
        registry: where to find handlers when ``tasks`` is omitted.
        credentials: channel credentials for TLS set up in code (instead of the files below).
        ca_file: PEM file of the certificate authorities to trust for an ``https://`` server
            (default ``BATON_CA_FILE``; without one, the system's). With a bare
            ``host:port`` it turns TLS on.
        client_cert: PEM client certificate presented to a server that requires mutual TLS
            (default ``BATON_CLIENT_CERT``); needs ``client_key``. Turns TLS on like
            ``ca_file``.
        client_key: the private key of ``client_cert`` (default ``BATON_CLIENT_KEY``).
        api_key: the API key each stream carries when it opens (and reopens), as
            ``authorization: Bearer <key>``, for a server that runs with authentication on;
            the worker role is enough (default ``BATON_API_KEY``; empty means none). A
            stream the server refuses (no key, a revoked one, a role without access) is
            retried like a lost one, and logged as an error.
        grace_period: seconds :meth:`stop` lets running tasks finish by default.
        initial_backoff, max_backoff: reconnect delays in seconds (doubling, with jitter).
        on_event: called with a :class:`WorkerEvent` for each task run, result and
            connection change (on the worker's event loop thread).
        metrics: record Prometheus metrics (see :mod:`baton.metrics`): True for the default
            registry, a ``prometheus_client.CollectorRegistry``, or a
            :class:`baton.metrics.WorkerMetrics`; False turns them off even when
            ``BATON_WORKER_METRICS_PORT`` is set.
        metrics_port: serve the metrics over HTTP on this port (0: any free port, see
            :attr:`metrics_port`) from :meth:`start` on; default ``BATON_WORKER_METRICS_PORT``.
        batch: let the server send several tasks and acknowledgements per stream message,
            and send the results that are ready at the same moment in one message (default:
            ``BATON_WORKER_BATCH``, else on). A result is never held back waiting for others.

    Raises:
        ValueError: no handlers, TLS settings that do not fit together (an ``http://``
            address with a CA file, a client certificate without its key) or name a file
            that cannot be read, or an API key with characters no key has.

    Usage::

        async with AsyncWorker(server="127.0.0.1:7070") as worker:
            await worker.wait()
    """

    def __init__(
        self,
        tasks: Iterable[WorkerTask | Callable[..., Any]] | None = None,
        *,
        server: str | None = None,
        worker_id: str | None = None,
        registry: TaskRegistry | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        client_cert: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
        grace_period: float = 30.0,
        initial_backoff: float = 0.1,
        max_backoff: float = 5.0,
        on_event: EventCallback | None = None,
        metrics: WorkerMetrics | bool | Any | None = None,
        metrics_port: int | None = None,
        batch: bool | None = None,
    ) -> None:
        specs = (
            [_as_worker_task(t) for t in tasks]
            if tasks is not None
            else (default_registry if registry is None else registry).tasks()
        )
        if not specs:
            raise ValueError("no task handlers: decorate functions with @worker_task or pass tasks=[...]")
        types = [s.task_type for s in specs]
        if len(set(types)) != len(types):
            raise ValueError(f"more than one handler for a task type: {types}")
        connection = resolve_connection(
            server, ca_file=ca_file, client_cert=client_cert, client_key=client_key, credentials=credentials
        )
        self._metadata = auth_metadata(resolve_api_key(api_key))
        self.server = connection.target
        """The ``host:port`` dialled."""
        self.tls = connection.tls
        """Whether the connection uses TLS."""
        self.authenticated = self._metadata is not None
        """Whether the streams carry an API key."""
        self.worker_id = worker_id or default_worker_id()
        self.tasks = [resolve_task(s, self.worker_id) for s in specs]
        self.credentials = connection.credentials
        self.grace_period = grace_period
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.on_event = on_event
        self._metrics_option = metrics
        self._metrics_port_option = metrics_port
        self.batch = resolve_batch(batch)
        """Whether the streams carry tasks, acknowledgements and results in batches."""
        self.metrics: WorkerMetrics | None = None
        """The metrics recorded (set by :meth:`start`)."""
        self.metrics_port: int | None = None
        """The port the metrics are served on (set by :meth:`start`; None when not served)."""
        self._core: _Core | None = None

    async def start(self) -> None:
        """Connects and starts taking tasks; returns at once."""
        if self._core is not None:
            raise RuntimeError("worker already started")
        self.metrics, self.metrics_port = resolve_metrics(self._metrics_option, self._metrics_port_option)
        self._core = _Core(
            self.tasks,
            self.server,
            self.credentials,
            self.initial_backoff,
            self.max_backoff,
            self.on_event,
            self.metrics,
            self.batch,
            self._metadata,
        )
        self._core.start()

    async def wait(self) -> None:
        """Waits until the worker has stopped."""
        if self._core is None:
            raise RuntimeError("worker not started")
        await self._core.finished.wait()

    async def run(self) -> None:
        """Starts the worker and runs until it is stopped; cancelling it stops it gracefully."""
        await self.start()
        try:
            await self.wait()
        except asyncio.CancelledError:
            await asyncio.shield(self.stop())
            raise

    async def stop(self, grace_period: float | None = None) -> None:
        """Stops taking tasks, lets running ones finish (up to the grace period), sends their
        results, and disconnects. Tasks still running after the grace period are left to the
        server, which hands them out again."""
        if self._core is None:
            return
        await self._core.stop(self.grace_period if grace_period is None else grace_period)

    def pause(self, task_type: str | None = None) -> None:
        """Stops taking new tasks (of one type, or all); running tasks finish and report."""
        if self._core is None:
            raise RuntimeError("worker not started")
        for stream in self._core.select(task_type):
            stream.pause()

    def resume(self, task_type: str | None = None) -> None:
        """Takes tasks again after :meth:`pause`."""
        if self._core is None:
            raise RuntimeError("worker not started")
        for stream in self._core.select(task_type):
            stream.resume()

    def stats(self) -> WorkerStats:
        """Counters per task type."""
        if self._core is None:
            return WorkerStats()
        return self._core.stats()

    async def __aenter__(self) -> AsyncWorker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class Worker:
    """Runs task handlers from an ordinary (blocking) program.

    The worker's stream and event loop live on a background thread; plain handlers run on
    per-task-type thread pools and ``async def`` handlers on that loop. Takes the same
    arguments as :class:`AsyncWorker`.

    Usage::

        Worker(server="127.0.0.1:7070").run()     # blocks until SIGINT/SIGTERM

        with Worker() as worker:                  # or: start, do something, stop
            ...
    """

    def __init__(
        self,
        tasks: Iterable[WorkerTask | Callable[..., Any]] | None = None,
        *,
        server: str | None = None,
        worker_id: str | None = None,
        registry: TaskRegistry | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        client_cert: str | os.PathLike[str] | None = None,
        client_key: str | os.PathLike[str] | None = None,
        api_key: str | None = None,
        grace_period: float = 30.0,
        initial_backoff: float = 0.1,
        max_backoff: float = 5.0,
        on_event: EventCallback | None = None,
        metrics: WorkerMetrics | bool | Any | None = None,
        metrics_port: int | None = None,
        batch: bool | None = None,
    ) -> None:
        self._async = AsyncWorker(
            tasks,
            server=server,
            worker_id=worker_id,
            registry=registry,
            credentials=credentials,
            ca_file=ca_file,
            client_cert=client_cert,
            client_key=client_key,
            api_key=api_key,
            grace_period=grace_period,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            on_event=on_event,
            metrics=metrics,
            metrics_port=metrics_port,
            batch=batch,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def server(self) -> str:
        """The server address."""
        return self._async.server

    @property
    def tls(self) -> bool:
        """Whether the connection uses TLS."""
        return self._async.tls

    @property
    def authenticated(self) -> bool:
        """Whether the streams carry an API key."""
        return self._async.authenticated

    @property
    def batch(self) -> bool:
        """Whether the streams carry tasks, acknowledgements and results in batches."""
        return self._async.batch

    @property
    def metrics(self) -> WorkerMetrics | None:
        """The Prometheus metrics recorded, once started (None when off)."""
        return self._async.metrics

    @property
    def metrics_port(self) -> int | None:
        """The port the metrics are served on, once started (None when not served)."""
        return self._async.metrics_port

    @property
    def tasks(self) -> list[ResolvedTask]:
        """The task types served, with their resolved settings."""
        return self._async.tasks

    def start(self) -> None:
        """Starts the background thread; returns once the worker is taking tasks."""
        if self._thread is not None:
            raise RuntimeError("worker already started")
        started = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def body() -> None:
                try:
                    await self._async.start()
                except BaseException as e:
                    failure.append(e)
                    raise
                finally:
                    started.set()
                await self._async.wait()

            try:
                loop.run_until_complete(body())
            except BaseException:  # noqa: BLE001 - reported through `failure`
                pass
            finally:
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    loop.close()
                    self._stopped.set()

        self._thread = threading.Thread(target=main, name="baton-worker", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]

    def stop(self, grace_period: float | None = None) -> None:
        """Stops gracefully (see :meth:`AsyncWorker.stop`) and waits for the thread to end."""
        loop = self._loop
        if loop is None or self._stopped.is_set():
            return
        future = asyncio.run_coroutine_threadsafe(self._async.stop(grace_period), loop)
        future.result()
        self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Waits for the worker to stop; True if it did within ``timeout``."""
        return self._stopped.wait(timeout)

    def pause(self, task_type: str | None = None) -> None:
        """Stops taking new tasks (of one type, or all); running tasks finish and report."""
        self._call_in_loop(self._async.pause, task_type)

    def resume(self, task_type: str | None = None) -> None:
        """Takes tasks again after :meth:`pause`."""
        self._call_in_loop(self._async.resume, task_type)

    def _call_in_loop(self, fn: Callable[[str | None], None], task_type: str | None) -> None:
        loop = self._loop
        if loop is None:
            raise RuntimeError("worker not started")

        async def call() -> None:
            fn(task_type)

        asyncio.run_coroutine_threadsafe(call(), loop).result()

    def stats(self) -> WorkerStats:
        """Counters per task type."""
        return self._async.stats()

    def run(self) -> None:
        """Starts the worker and blocks until SIGINT or SIGTERM, then stops gracefully."""
        self.start()
        if threading.current_thread() is not threading.main_thread():
            self.join()
            return
        requested = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            log.info("signal %d received; stopping the worker", signum)
            requested.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not requested.is_set() and not self._stopped.is_set():
                requested.wait(0.5)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        self.stop()

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
