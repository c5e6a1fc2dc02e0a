"""Worker Prometheus metrics: a real worker completes and fails tasks on the binary, and the
metrics are scraped over HTTP."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from support import simple_task, task_def, unique, wait_until, workflow_def

from baton import BatonClient, TaskRegistry, Worker, WorkerMetrics, WorkflowStatus, worker_task
from baton.metrics import METRICS_ADDR_ENV, METRICS_PORT_ENV, resolve_metrics


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Reads /metrics over HTTP: sample value by (name, labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_worker_metrics_are_served_over_http(server: Any, client: BatonClient, monkeypatch: Any) -> None:
    monkeypatch.setenv(METRICS_ADDR_ENV, "127.0.0.1")
    square, wf = unique("square"), unique("wf_square")
    client.register_task_defs([task_def(square)])
    client.register_workflow_def(workflow_def(wf, [simple_task(square, "square", {"n": "${workflow.input.n}"})]))
    registry = TaskRegistry()

    @worker_task(square, concurrency=2, registry=registry)
    def handler(n: int) -> dict[str, Any]:
        if n < 0:
            raise ValueError("negative input")
        return {"square": n * n, "padding": "x" * 100}

    prom = CollectorRegistry()
    with Worker(server=server.address, registry=registry, metrics=prom, metrics_port=0) as worker:
        port = worker.metrics_port
        assert port is not None and port > 0
        assert worker.metrics is WorkerMetrics.for_registry(prom)
        ids = [client.start_workflow(wf, {"n": n}) for n in (1, 2, 3, -1)]
        done = [client.wait_for_workflow(i, timeout=30) for i in ids]
        assert [w.status for w in done] == [WorkflowStatus.COMPLETED] * 3 + [WorkflowStatus.FAILED]

        def settled() -> Any:
            samples = scrape(port)
            finished = sum(
                value(samples, "baton_worker_tasks_finished_total", task_type=square, status=s)
                for s in ("COMPLETED", "FAILED")
            )
            return samples if finished == 4 else None

        samples = wait_until(settled, timeout=30)

    assert value(samples, "baton_worker_tasks_received_total", task_type=square) == 4
    assert value(samples, "baton_worker_tasks_finished_total", task_type=square, status="COMPLETED") == 3
    assert value(samples, "baton_worker_tasks_finished_total", task_type=square, status="FAILED") == 1
    assert value(samples, "baton_worker_task_failures_total", task_type=square) == 1
    assert value(samples, "baton_worker_results_dropped_total", task_type=square) == 0
    assert value(samples, "baton_worker_tasks_in_flight", task_type=square) == 0
    assert value(samples, "baton_worker_task_execution_seconds_count", task_type=square) == 4
    assert value(samples, "baton_worker_task_execution_seconds_sum", task_type=square) > 0
    assert value(samples, "baton_worker_task_execution_seconds_bucket", task_type=square, le="+Inf") == 4
    assert value(samples, "baton_worker_task_result_size_bytes_count", task_type=square) == 4
    # Three outputs carry 100 bytes of padding each; the failure has an empty output.
    assert value(samples, "baton_worker_task_result_size_bytes_sum", task_type=square) > 300
    assert value(samples, "baton_worker_task_result_size_bytes_bucket", task_type=square, le="0.0") == 1
    assert value(samples, "baton_worker_task_result_size_bytes_bucket", task_type=square, le="64.0") == 1
    assert value(samples, "baton_worker_task_result_size_bytes_bucket", task_type=square, le="256.0") == 4


def test_metrics_port_from_environment(server: Any, client: BatonClient, monkeypatch: Any) -> None:
    monkeypatch.setenv(METRICS_ADDR_ENV, "127.0.0.1")
    monkeypatch.setenv(METRICS_PORT_ENV, "0")
    echo, wf = unique("echo"), unique("wf_echo")
    client.register_task_defs([task_def(echo)])
    client.register_workflow_def(workflow_def(wf, [simple_task(echo, "echo")]))
    registry = TaskRegistry()

    @worker_task(echo, registry=registry)
    def handler() -> dict[str, str]:
        return {"ok": "yes"}

    prom = CollectorRegistry()
    with Worker(server=server.address, registry=registry, metrics=prom) as worker:
        port = worker.metrics_port
        assert port is not None
        w = client.wait_for_workflow(client.start_workflow(wf), timeout=30)
        assert w.status is WorkflowStatus.COMPLETED
        samples = wait_until(
            lambda: (s := scrape(port))
            and value(s, "baton_worker_tasks_finished_total", task_type=echo, status="COMPLETED") == 1
            and s,
            timeout=30,
        )
    assert value(samples, "baton_worker_tasks_received_total", task_type=echo) == 1

    # metrics=False wins over the environment.
    with Worker(server=server.address, registry=registry, metrics=False) as worker:
        assert worker.metrics is None and worker.metrics_port is None


def test_resolve_metrics_options() -> None:
    prom = CollectorRegistry()
    assert resolve_metrics(None, None, environ={}) == (None, None)
    assert resolve_metrics(False, 0, environ={}) == (None, None)
    metrics, port = resolve_metrics(prom, None, environ={})
    assert metrics is WorkerMetrics.for_registry(prom) and port is None
    # One registry holds each metric once: a second worker on it shares the metrics.
    assert resolve_metrics(prom, None, environ={})[0] is metrics
    own = WorkerMetrics(CollectorRegistry())
    assert resolve_metrics(own, None, environ={}) == (own, None)
    with pytest.raises(ValueError, match=METRICS_PORT_ENV):
        resolve_metrics(prom, None, environ={METRICS_PORT_ENV: "http"})


def test_serving_a_port_twice() -> None:
    first = WorkerMetrics(CollectorRegistry())
    port = first.serve(0, "127.0.0.1")
    # The same registry again (a second worker of the process): nothing new is started.
    assert first.serve(port, "127.0.0.1") == port
    with pytest.raises(ValueError, match="another metrics registry"):
        WorkerMetrics(CollectorRegistry()).serve(port, "127.0.0.1")
    first.received.labels("t").inc()
    assert value(scrape(port), "baton_worker_tasks_received_total", task_type="t") == 1
