"""Server address resolution, TLS settings, API keys and gRPC channels shared by the client
and worker."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import grpc
import grpc.aio

DEFAULT_SERVER = "127.0.0.1:7070"
"""Address used when neither the caller nor ``BATON_SERVER`` names one."""

API_KEY_ENV = "BATON_API_KEY"
"""Environment variable holding the API key sent when the caller gives none."""

AUTHORIZATION_HEADER = "authorization"
"""The request header (gRPC metadata key) that carries the API key, as ``Bearer <key>``."""

Metadata: TypeAlias = "tuple[tuple[str, str], ...]"
"""Request metadata sent with every call: ``(key, value)`` pairs."""

StrPath: TypeAlias = "str | os.PathLike[str]"
"""A file name: text or a :class:`os.PathLike` (such as :class:`pathlib.Path`)."""

_TLS_SCHEMES = ("https://",)
_PLAINTEXT_SCHEMES = ("http://", "grpc://")
_TARGET_PREFIXES = ("dns:///",)


def _strip_scheme(address: str) -> tuple[str, str | None]:
    """Splits ``address`` into the ``host:port`` to dial and its scheme (``"https"``,
    ``"http"`` or ``"grpc"``; None when it has none)."""
    lowered = address.lower()
    for prefix in _TLS_SCHEMES + _PLAINTEXT_SCHEMES:
        if lowered.startswith(prefix):
            return address[len(prefix) :].rstrip("/"), prefix[: -len("://")]
    for prefix in _TARGET_PREFIXES:
        if lowered.startswith(prefix):
            return address[len(prefix) :].rstrip("/"), None
    return address.rstrip("/"), None


@dataclass(frozen=True)
class Connection:
    """How to reach the server: the gRPC target and, for TLS, the channel credentials.

    Attributes:
        target: ``host:port`` to dial, without a scheme. Its host is the name the server's
            certificate is checked against.
        credentials: the TLS credentials; None for a plaintext connection.
    """

    target: str
    credentials: grpc.ChannelCredentials | None

    @property
    def tls(self) -> bool:
        """Whether the connection uses TLS."""
        return self.credentials is not None


def _setting(value: StrPath | None, parameter: str, variable: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """A TLS file setting and where it came from: the argument, else the environment variable
    (empty counts as unset)."""
    if value is not None and os.fspath(value) != "":
        return os.fspath(value), parameter
    from_env = env.get(variable)
    return (from_env, variable) if from_env else None


def _read_pem(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        reason = e.strerror or str(e)
        raise ValueError(f"cannot read the {what} {path}: {reason}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"the {what} {path} holds no PEM data")
    return data


def _system_roots() -> bytes | None:
    """The certificate authorities the system trusts, as PEM: the OpenSSL default bundle
    (``SSL_CERT_FILE`` when set). None, which leaves the choice to gRPC, when there is no
    readable bundle or ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` names one for gRPC."""
    if os.environ.get("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"):
        return None
    cafile = ssl.get_default_verify_paths().cafile
    if not cafile:
        return None
    try:
        with open(cafile, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data if b"-----BEGIN " in data else None


def resolve_connection(
    address: str | None = None,
    *,
    ca_file: StrPath | None = None,
    client_cert: StrPath | None = None,
    client_key: StrPath | None = None,
    credentials: grpc.ChannelCredentials | None = None,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """Decides where and how to connect, and reads the TLS files.

    The address is the argument, else ``BATON_SERVER``, else ``127.0.0.1:7070``; each of
    ``ca_file``, ``client_cert`` and ``client_key`` is the argument, else ``BATON_CA_FILE``,
    ``BATON_CLIENT_CERT`` or ``BATON_CLIENT_KEY``. Then:

    - ``https://host:port``: TLS, trusting the authorities in ``ca_file`` when given, else
      the system's;
    - ``http://host:port`` (or ``grpc://``): plaintext; a CA file or client certificate
      with it is an error;
    - ``host:port``: plaintext, or TLS when a CA file or client certificate is set.

    ``client_cert`` and ``client_key`` (PEM files) go together and are presented to a
    server that requires mutual TLS. ``credentials`` may be given instead of the files, for
    TLS set up in code; the ``BATON_CA_FILE`` and client certificate variables are then not
    read.

    Raises:
        ValueError: a plaintext address with TLS settings, a client certificate without its
            key (or the other way round), ``credentials`` together with TLS files, or a file
            that cannot be read or holds no PEM data. The message names the problem.
    """
    env = os.environ if environ is None else environ
    given = address or env.get("BATON_SERVER") or DEFAULT_SERVER
    target, scheme = _strip_scheme(given)
    if credentials is not None:
        explicit = [
            name
            for name, value in (("ca_file", ca_file), ("client_cert", client_cert), ("client_key", client_key))
            if value is not None and os.fspath(value) != ""
        ]
        if explicit:
            raise ValueError(f"credentials cannot be combined with {' and '.join(explicit)}: give one or the other")
        if scheme in ("http", "grpc"):
            raise ValueError(f"TLS credentials need an https:// server address, got {given}")
        return Connection(target, credentials)

    ca = _setting(ca_file, "ca_file", "BATON_CA_FILE", env)
    cert = _setting(client_cert, "client_cert", "BATON_CLIENT_CERT", env)
    key = _setting(client_key, "client_key", "BATON_CLIENT_KEY", env)
    if scheme in ("http", "grpc"):
        named = [source for _, source in (s for s in (ca, cert, key) if s is not None)]
        if named:
            verb = "needs" if len(named) == 1 else "need"
            raise ValueError(
                f"{' and '.join(named)} {verb} an https:// server address, got the plaintext address {given}"
            )
    if cert is not None and key is None:
        raise ValueError(
            f"the client certificate ({cert[1]}) needs its private key: set client_key or BATON_CLIENT_KEY"
        )
    if key is not None and cert is None:
        raise ValueError(
            f"the client key ({key[1]}) needs its certificate: set client_cert or BATON_CLIENT_CERT"
        )
    if scheme != "https" and ca is None and cert is None:
        return Connection(target, None)

    roots = _read_pem(ca[0], "CA file") if ca is not None else _system_roots()
    chain = _read_pem(cert[0], "client certificate") if cert is not None else None
    private_key = _read_pem(key[0], "client key") if key is not None else None
    return Connection(
        target,
        grpc.ssl_channel_credentials(root_certificates=roots, private_key=private_key, certificate_chain=chain),
    )


def resolve_api_key(api_key: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key to send: the argument, else ``BATON_API_KEY``; None when neither is set.

    An empty key (or one of only whitespace) counts as unset; whitespace around a key (a
    trailing newline of a key file) is dropped.

    Raises:
        ValueError: the key holds characters no key has (anything but printable ASCII
            without spaces, so also a ``Bearer`` prefix). The message names where the key
            came from, never the key.
    """
    env = os.environ if environ is None else environ
    source = "api_key"
    key = (api_key or "").strip()
    if not key:
        source = API_KEY_ENV
        key = (env.get(API_KEY_ENV) or "").strip()
    if not key:
        return None
    if not all("!" <= c <= "~" for c in key):
        raise ValueError(
            f"the API key ({source}) holds characters an API key cannot have: give the key alone, "
            "bk_<id>_<secret>, without a Bearer prefix or spaces"
        )
    return key


def auth_metadata(api_key: str | None) -> Metadata | None:
    """The metadata that carries ``api_key`` (``authorization: Bearer <key>``); None without a
    key."""
    if not api_key:
        return None
    return ((AUTHORIZATION_HEADER, f"Bearer {api_key}"),)


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


def open_channel(connection: Connection, options: list[tuple[str, int]] | None = None) -> grpc.Channel:
    """A blocking channel to the server: secure when the connection uses TLS."""
    opts = channel_options() if options is None else options
    if connection.credentials is None:
        return grpc.insecure_channel(connection.target, options=opts)
    return grpc.secure_channel(connection.target, connection.credentials, options=opts)


def open_aio_channel(connection: Connection, options: list[tuple[str, int]] | None = None) -> grpc.aio.Channel:
    """An asyncio channel to the server: secure when the connection uses TLS."""
    opts = channel_options() if options is None else options
    if connection.credentials is None:
        return grpc.aio.insecure_channel(connection.target, options=opts)
    return grpc.aio.secure_channel(connection.target, connection.credentials, options=opts)
