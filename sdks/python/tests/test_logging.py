"""The worker's structured logs, against the real server: each event's record carries its
fields (``extra=``), never the task's input or output; and the JSON formatter."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from support import TcpProxy, simple_task, task_def, unique, wait_until, workflow_def

import baton.logging
from baton import BatonClient, TaskRegistry, TerminalError, Worker, WorkflowStatus, worker_task

SECRET = "s3cret-payload-value"


def register(client: BatonClient, task_type: str, **task_overrides: Any) -> str:
    wf = unique("wf_logs")
    client.register_task_defs(task_def(task_type, **task_overrides))
    client.register_workflow_def(workflow_def(wf, [simple_task(task_type, "t", {"secret": "${workflow.input.secret}"})]))
    return wf


def events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def no_payload_in(records: list[logging.LogRecord]) -> None:
    formatter = baton.logging.JsonFormatter()
    for record in records:
        assert SECRET not in formatter.format(record)


def test_handler_failures_connect_and_drain_are_logged_with_fields(
    server: Any, client: BatonClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baton")
    flaky = unique("flaky")
    wf = register(client, flaky, retryCount=1)
    registry = TaskRegistry()

    @worker_task(flaky, registry=registry, worker_id="logging-worker")
    def handler(secret: str) -> dict[str, str]:
        raise ValueError("backend down")

    with Worker(server=server.address, registry=registry):
        workflow_id = client.start_workflow(wf, {"secret": SECRET})
        workflow = client.wait_for_workflow(workflow_id, timeout=30)
        assert workflow.status is WorkflowStatus.FAILED
        wait_until(lambda: len(events(caplog, "handler_failed")) == 2)

    (connected,) = events(caplog, "connected")
    assert (connected.task_type, connected.worker_id) == (flaky, "logging-worker")  # type: ignore[attr-defined]
    assert connected.server == server.address  # type: ignore[attr-defined]

    failures = events(caplog, "handler_failed")
    attempts = [t for t in workflow.tasks_by_ref("t")]
    assert [r.task_id for r in failures] == [t.task_id for t in attempts]  # type: ignore[attr-defined]
    for record, expected_attempt in zip(failures, (1, 2)):
        assert record.levelno == logging.WARNING
        assert record.task_type == flaky  # type: ignore[attr-defined]
        assert record.workflow_id == workflow_id  # type: ignore[attr-defined]
        assert record.worker_id == "logging-worker"  # type: ignore[attr-defined]
        assert record.attempt == expected_attempt  # type: ignore[attr-defined]
        assert record.error == "ValueError: backend down"  # type: ignore[attr-defined]
        assert record.terminal is False  # type: ignore[attr-defined]
        assert record.exc_info is not None

    (started,) = events(caplog, "drain_started")
    (finished,) = events(caplog, "drain_finished")
    assert started.task_type == finished.task_type == flaky  # type: ignore[attr-defined]
    assert caplog.records.index(started) < caplog.records.index(finished)
    no_payload_in(caplog.records)


def test_terminal_errors_and_refused_results_are_logged(
    server: Any, client: BatonClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baton")
    refused, terminal = unique("refused"), unique("terminal")
    wf_refused = register(client, refused)
    wf_terminal = register(client, terminal)
    registry = TaskRegistry()

    @worker_task(refused, registry=registry)
    def too_big(secret: str) -> dict[str, str]:
        return {"blob": "x" * (4 * 1024 * 1024 + 10), "secret": secret}

    @worker_task(terminal, registry=registry)
    def give_up(secret: str) -> None:
        raise TerminalError("not retryable")

    with Worker(server=server.address, registry=registry):
        refused_id = client.start_workflow(wf_refused, {"secret": SECRET})
        terminal_id = client.start_workflow(wf_terminal, {"secret": SECRET})
        assert client.wait_for_workflow(refused_id, timeout=30).status is WorkflowStatus.FAILED
        assert client.wait_for_workflow(terminal_id, timeout=30).status is WorkflowStatus.FAILED

    (refusal,) = events(caplog, "result_refused")
    assert refusal.levelno == logging.ERROR
    assert (refusal.task_type, refusal.workflow_id) == (refused, refused_id)  # type: ignore[attr-defined]
    assert refusal.code == "INVALID_ARGUMENT" and refusal.action == "failed"  # type: ignore[attr-defined]
    assert refusal.task_id == client.get_workflow(refused_id).task("t").task_id  # type: ignore[attr-defined, union-attr]

    (raised,) = [r for r in events(caplog, "handler_failed") if r.task_type == terminal]  # type: ignore[attr-defined]
    assert raised.terminal is True and raised.workflow_id == terminal_id  # type: ignore[attr-defined]
    assert raised.error == "TerminalError: not retryable"  # type: ignore[attr-defined]
    no_payload_in(caplog.records)


def test_a_broken_stream_logs_the_reconnect_with_its_backoff(
    server: Any, client: BatonClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baton")
    steady = unique("steady")
    wf = register(client, steady)
    registry = TaskRegistry()

    @worker_task(steady, registry=registry)
    def handler(secret: str) -> dict[str, bool]:
        return {"ok": True}

    proxy = TcpProxy(server.address)
    try:
        with Worker(server=proxy.address, registry=registry, worker_id="cut-worker") as worker:
            wait_until(lambda: events(caplog, "connected"))
            proxy.cut()
            wait_until(lambda: worker.stats().total("reconnects") >= 1)
            assert client.wait_for_workflow(client.start_workflow(wf, {"secret": SECRET}), timeout=30).status is (
                WorkflowStatus.COMPLETED
            )
    finally:
        proxy.close()

    lost = events(caplog, "reconnecting")[0]
    assert lost.task_type == steady and lost.worker_id == "cut-worker"  # type: ignore[attr-defined]
    assert lost.attempt == 1 and lost.backoff_seconds > 0  # type: ignore[attr-defined]
    assert lost.error  # type: ignore[attr-defined]
    reconnected = events(caplog, "connected")[-1]
    assert reconnected.reconnects >= 1  # type: ignore[attr-defined]
    no_payload_in(caplog.records)


def test_json_formatter_writes_the_fields() -> None:
    out = io.StringIO()
    logger = logging.getLogger(unique("baton.test"))
    logger.propagate = False
    handler = baton.logging.configure(logger, format="json", stream=out)
    try:
        logger.warning(
            "handler raised", extra={"event": "handler_failed", "task_id": "t1", "attempt": 2, "obj": object()}
        )
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logger.exception("with a traceback", extra={"task_type": "x"})
    finally:
        logger.removeHandler(handler)
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["message"] == "handler raised" and first["level"] == "WARNING"
    assert (first["event"], first["task_id"], first["attempt"]) == ("handler_failed", "t1", 2)
    assert first["logger"] == logger.name and first["time"].endswith("+00:00")
    assert isinstance(first["obj"], str)
    assert second["task_type"] == "x" and "RuntimeError: boom" in second["exception"]


def test_configure_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger(unique("baton.test"))
    logger.propagate = False
    monkeypatch.setenv("BATON_LOG_FORMAT", "json")
    handler = baton.logging.configure(logger, stream=io.StringIO())
    assert isinstance(handler.formatter, baton.logging.JsonFormatter)
    monkeypatch.setenv("BATON_LOG_FORMAT", "text")
    text = baton.logging.configure(logger, stream=io.StringIO())
    assert not isinstance(text.formatter, baton.logging.JsonFormatter)
    with pytest.raises(ValueError):
        baton.logging.configure(logger, format="yaml")
    for h in (handler, text):
        logger.removeHandler(h)
    assert not logging.getLogger().handlers or all(
        not isinstance(h.formatter, baton.logging.JsonFormatter) for h in logging.getLogger().handlers
    )
