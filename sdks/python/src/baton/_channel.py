"""Server address resolution and gRPC channel settings shared by the client and worker."""

from __future__ import annotations

import os

DEFAULT_SERVER = "127.0.0.1:7070"
"""Address used when neither the caller nor ``BATON_SERVER`` names one."""


def resolve_address(address: str | None) -> str:
    """Returns the server address to dial: the argument, else ``BATON_SERVER``, else the default.

    A leading ``http://`` or ``grpc://`` is accepted and dropped.
    """
    chosen = address or os.environ.get("BATON_SERVER") or DEFAULT_SERVER
    for prefix in ("http://", "grpc://", "dns:///"):
        if chosen.startswith(prefix):
            chosen = chosen[len(prefix) :]
    return chosen.rstrip("/")


def channel_options(max_reconnect_backoff_ms: int = 2000) -> list[tuple[str, int]]:
    """Channel options: quick reconnects, keepalive pings and no receive size cap.

    ``grpc.min_reconnect_backoff_ms`` is left at its default on purpose: gRPC also takes it as
    the time a connection attempt may take, and a small value fails calls with UNAVAILABLE
    whenever a busy server answers the HTTP/2 handshake late.
    """
    return [
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", max_reconnect_backoff_ms),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.max_receive_message_length", -1),
        ("grpc.max_send_message_length", -1),
    ]
