"""Structured logs of the worker.

The worker logs through the standard :mod:`logging` module, on the ``baton.worker`` logger.
Each record of a worker event carries its fields as record attributes (passed with
``extra=``), so any formatter or handler can read them:

- ``event``: what happened: ``connected``, ``reconnecting`` (the stream broke, was closed or
  was refused; with ``attempt``, ``backoff_seconds`` and ``error``, and ``code`` at ERROR
  level when the server refused its credentials), ``stream_failed``, ``handler_failed``
  (a handler raised; with ``error``, ``attempt`` and ``terminal``), ``result_refused`` (with
  ``code``, ``error`` and ``action``: ``retry``, ``failed`` or ``dropped``),
  ``reclaim_refused``, ``lease_refused``, ``drain_started``, ``drain_finished`` and
  ``drain_timeout``;
- ``task_type`` and ``worker_id`` on every event of a task type's stream;
- ``task_id`` and ``workflow_id`` on events about one task.

Task input and output are never logged.

The SDK configures no logging by itself. :class:`JsonFormatter` writes one JSON object per
record, with those fields; :func:`configure` attaches it (or a plain text format) to a
logger of your choice::

    import baton.logging
    baton.logging.configure()          # JSON if BATON_LOG_FORMAT=json, else text, on "baton"
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sys
from typing import IO, Any

__all__ = ["JsonFormatter", "configure", "LOG_FORMAT_ENV"]

LOG_FORMAT_ENV = "BATON_LOG_FORMAT"
"""Environment variable read by :func:`configure`: ``json`` or ``text``."""

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys() | {"message", "asctime", "taskName"}
)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, every field passed with ``extra=``, and ``exception`` (the traceback) when
    the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in out:
                out[key] = _jsonable(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False)


def configure(
    logger: logging.Logger | str = "baton",
    *,
    format: str | None = None,
    level: int | str = logging.INFO,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Attaches a stream handler to ``logger`` (default: the SDK's ``baton`` logger; pass
    ``""`` for the root logger) and returns it.

    ``format`` is ``"json"`` (:class:`JsonFormatter`) or ``"text"``; default
    ``BATON_LOG_FORMAT``, else text. ``stream`` defaults to standard error.
    """
    chosen = (format or os.environ.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if chosen not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', not {chosen!r}")
    target = logging.getLogger(logger) if isinstance(logger, str) else logger
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    if chosen == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    target.addHandler(handler)
    target.setLevel(level)
    return handler
