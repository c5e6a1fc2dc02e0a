"""Helpers shared by the integration tests."""

from __future__ import annotations

import time
import uuid
from typing import Any


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def task_def(name: str, **overrides: Any) -> dict[str, Any]:
    """A task definition that retries at once and leases for a minute unless overridden."""
    base: dict[str, Any] = {
        "name": name,
        "retryCount": 0,
        "retryDelaySeconds": 0,
        "responseTimeoutSeconds": 60,
        "ownerEmail": "tests@example.com",
    }
    base.update(overrides)
    return base


def simple_task(task_type: str, ref: str, inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": task_type,
        "taskReferenceName": ref,
        "type": "SIMPLE",
        "inputParameters": inputs or {},
    }


def workflow_def(name: str, tasks: list[dict[str, Any]], output: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "tests@example.com",
        "tasks": tasks,
        "outputParameters": output or {},
    }


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Polls ``predicate`` until it returns a truthy value; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target address; ``cut()`` breaks every open connection
    (new ones are still accepted), to simulate a network failure between worker and server."""

    def __init__(self, target: str) -> None:
        import socket
        import threading

        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: Any, sink: Any) -> None:
        import socket

        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        import socket

        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()
