"""Prometheus metrics of a worker (needs the ``prometheus_client`` package: ``baton-sdk[metrics]``).

Every metric has a ``task_type`` label:

``baton_worker_tasks_received_total`` (counter)
    tasks the server pushed to this worker and the worker started.
``baton_worker_tasks_finished_total`` (counter, also labelled ``status``)
    handler runs by outcome: ``COMPLETED``, ``FAILED``, ``FAILED_WITH_TERMINAL_ERROR`` or
    ``IN_PROGRESS``.
``baton_worker_task_failures_total`` (counter)
    handler runs that ended ``FAILED`` or ``FAILED_WITH_TERMINAL_ERROR`` (an exception, a
    failed :class:`baton.TaskResult`, or an output too large to send).
``baton_worker_results_dropped_total`` (counter)
    results the server refused for good (stale lease, unknown task, given up after retries).
``baton_worker_task_execution_seconds`` (histogram)
    how long handlers ran.
``baton_worker_task_result_size_bytes`` (histogram)
    size of the serialized output of each handler run.
``baton_worker_tasks_in_flight`` (gauge)
    handler runs going on now.
``baton_worker_stream_reconnects_total`` (counter)
    worker streams opened again after the first.

Enable them with ``Worker(metrics=True)`` (the default registry), ``Worker(metrics=registry)``
(a ``prometheus_client.CollectorRegistry`` of your own) or ``Worker(metrics_port=9464)``
(also serves the registry over HTTP). The environment variable ``BATON_WORKER_METRICS_PORT``
does the same as ``metrics_port`` when the code sets none, and ``BATON_WORKER_METRICS_ADDR``
chooses the address to listen on (default all interfaces).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

EXECUTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Histogram buckets of ``baton_worker_task_execution_seconds``."""

SIZE_BUCKETS = (0, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)
"""Histogram buckets of ``baton_worker_task_result_size_bytes``."""

METRICS_PORT_ENV = "BATON_WORKER_METRICS_PORT"
METRICS_ADDR_ENV = "BATON_WORKER_METRICS_ADDR"

_by_registry: weakref.WeakKeyDictionary[Any, WorkerMetrics] = weakref.WeakKeyDictionary()
_by_registry_lock = threading.Lock()
_served: dict[tuple[str, int], Any] = {}
"""Registries served by :meth:`WorkerMetrics.serve`, by address and port."""


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError(
            "worker metrics need the prometheus_client package: pip install 'baton-sdk[metrics]'"
        ) from e
    return prometheus_client


class WorkerMetrics:
    """The worker metrics, registered in one Prometheus registry.

    Use :meth:`for_registry` rather than the constructor: a registry accepts each metric name
    once, so every worker of a process that shares a registry shares one ``WorkerMetrics``.
    """

    def __init__(self, registry: Any = None) -> None:
        prom = _prometheus()
        self.registry = prom.REGISTRY if registry is None else registry
        labels = ["task_type"]
        self.received = prom.Counter(
            "baton_worker_tasks_received",
            "Tasks the server pushed to this worker and the worker started.",
            labels,
            registry=self.registry,
        )
        self.finished = prom.Counter(
            "baton_worker_tasks_finished",
            "Handler runs by the status they ended with.",
            ["task_type", "status"],
            registry=self.registry,
        )
        self.failures = prom.Counter(
            "baton_worker_task_failures",
            "Handler runs that ended FAILED or FAILED_WITH_TERMINAL_ERROR.",
            labels,
            registry=self.registry,
        )
        self.dropped = prom.Counter(
            "baton_worker_results_dropped",
            "Results the server refused for good.",
            labels,
            registry=self.registry,
        )
        self.execution = prom.Histogram(
            "baton_worker_task_execution_seconds",
            "How long task handlers ran, in seconds.",
            labels,
            buckets=EXECUTION_BUCKETS,
            registry=self.registry,
        )
        self.result_size = prom.Histogram(
            "baton_worker_task_result_size_bytes",
            "Size of the serialized output of each handler run, in bytes.",
            labels,
            buckets=SIZE_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = prom.Gauge(
            "baton_worker_tasks_in_flight",
            "Handler runs going on now.",
            labels,
            registry=self.registry,
        )
        self.reconnects = prom.Counter(
            "baton_worker_stream_reconnects",
            "Worker streams opened again after the first.",
            labels,
            registry=self.registry,
        )

    @classmethod
    def for_registry(cls, registry: Any = None) -> WorkerMetrics:
        """The metrics registered in ``registry`` (default: ``prometheus_client.REGISTRY``),
        creating them on first use."""
        if registry is None:
            registry = _prometheus().REGISTRY
        with _by_registry_lock:
            metrics = _by_registry.get(registry)
            if metrics is None:
                metrics = cls(registry)
                _by_registry[registry] = metrics
            return metrics

    def serve(self, port: int, addr: str = "0.0.0.0") -> int:
        """Serves this registry over HTTP (``/metrics``) on a background thread; returns the
        port listened on (useful with port 0).

        Serving this registry again on the same address and port does nothing (several workers
        of one process may ask for it); asking to serve another registry there is an error.
        """
        with _by_registry_lock:
            if port != 0 and (addr, port) in _served:
                if _served[(addr, port)] is not self.registry:
                    raise ValueError(f"{addr}:{port} already serves another metrics registry")
                return port
            server, _thread = _prometheus().start_http_server(port, addr=addr, registry=self.registry)
            actual = int(server.server_address[1])
            _served[(addr, actual)] = self.registry
            return actual

    def for_task_type(self, task_type: str) -> TaskTypeMetrics:
        """The metrics of one task type (label values bound once)."""
        return TaskTypeMetrics(self, task_type)


class TaskTypeMetrics:
    """One task type's children of :class:`WorkerMetrics`, so the worker does no label
    lookups per task."""

    _STATUSES = ("COMPLETED", "FAILED", "FAILED_WITH_TERMINAL_ERROR", "IN_PROGRESS")

    def __init__(self, metrics: WorkerMetrics, task_type: str) -> None:
        self.received = metrics.received.labels(task_type)
        self.failures = metrics.failures.labels(task_type)
        self.dropped = metrics.dropped.labels(task_type)
        self.execution = metrics.execution.labels(task_type)
        self.result_size = metrics.result_size.labels(task_type)
        self.in_flight = metrics.in_flight.labels(task_type)
        self.reconnects = metrics.reconnects.labels(task_type)
        self.finished = {s: metrics.finished.labels(task_type, s) for s in self._STATUSES}
        self._finished_parent = metrics.finished
        self._task_type = task_type

    def finish(self, status: str, seconds: float | None, result_bytes: int) -> None:
        """Records the end of one handler run."""
        counter = self.finished.get(status)
        if counter is None:
            counter = self._finished_parent.labels(self._task_type, status)
            self.finished[status] = counter
        counter.inc()
        if status in ("FAILED", "FAILED_WITH_TERMINAL_ERROR"):
            self.failures.inc()
        if seconds is not None:
            self.execution.observe(seconds)
        self.result_size.observe(result_bytes)


def resolve_metrics(
    metrics: WorkerMetrics | bool | Any | None,
    metrics_port: int | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[WorkerMetrics | None, int | None]:
    """Decides a worker's metrics from its arguments and the environment, and starts the HTTP
    server when a port is given.

    Args:
        metrics: a :class:`WorkerMetrics`, a ``prometheus_client`` registry, True (the
            default registry), or False/None (no metrics unless a port is set).
        metrics_port: serve the registry over HTTP on this port (0: any free port); when
            None, ``BATON_WORKER_METRICS_PORT`` is used if set.

    Returns:
        the metrics (None when off) and the port they are served on (None when not served).
    """
    if metrics is False:
        return None, None
    env = os.environ if environ is None else environ
    port = metrics_port
    if port is None:
        text = env.get(METRICS_PORT_ENV, "").strip()
        if text:
            try:
                port = int(text)
            except ValueError:
                raise ValueError(f"{METRICS_PORT_ENV}={text!r} is not a port number") from None
    if metrics is None:
        if port is None:
            return None, None
        resolved = WorkerMetrics.for_registry(None)
    elif metrics is True:
        resolved = WorkerMetrics.for_registry(None)
    elif isinstance(metrics, WorkerMetrics):
        resolved = metrics
    else:
        resolved = WorkerMetrics.for_registry(metrics)
    if port is not None:
        port = resolved.serve(port, env.get(METRICS_ADDR_ENV, "").strip() or "0.0.0.0")
    return resolved, port
