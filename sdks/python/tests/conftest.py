"""Fixtures that run the real ``baton server`` binary for the integration tests.

The binary is taken from ``BATON_BIN`` (default: <repo>/target/release/baton). Each test
module gets its own server on a temporary data directory and a free port.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from baton import BatonClient

REPO_ROOT = Path(__file__).resolve().parents[3]
LISTENING = re.compile(r"baton server listening on (\S+)")


def baton_bin() -> str:
    path = os.environ.get("BATON_BIN") or str(REPO_ROOT / "target" / "release" / "baton")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        pytest.fail(f"baton binary not found at {path}; build it or set BATON_BIN", pytrace=False)
    return path


@dataclass(frozen=True)
class TlsFiles:
    """The certificates ``baton tls init`` writes: an authority, a server certificate valid
    for localhost, 127.0.0.1 and ::1 (unless other hosts were asked for), and a client one."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client-key.pem"

    def server_args(self, mutual: bool = False) -> list[str]:
        """``baton server`` arguments serving TLS with these files; ``mutual`` also requires
        a client certificate signed by the authority."""
        args = ["--tls-cert", str(self.server_cert), "--tls-key", str(self.server_key)]
        if mutual:
            args += ["--tls-client-ca", str(self.ca)]
        return args


def make_tls_files(directory: Path, hosts: list[str] | None = None) -> TlsFiles:
    """Writes a certificate authority and server and client certificates into ``directory``
    with ``baton tls init``."""
    command = [baton_bin(), "tls", "init", "--dir", str(directory)]
    for host in hosts or []:
        command += ["--host", host]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
    return TlsFiles(directory)


class BatonServer:
    """One ``baton server`` process; can be killed and started again on the same port and data.
    ``args`` are added to its command line (for example ``["--max-payload-bytes", "1048576"]``)."""

    def __init__(self, data_dir: str, args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.args = list(args or [])
        self.address = ""
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, listen: str = "127.0.0.1:0", timeout: float = 30.0) -> str:
        process = subprocess.Popen(
            [baton_bin(), "server", "--data-dir", self.data_dir, "--listen", listen, *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "RUST_LOG": os.environ.get("BATON_TEST_LOG", "warn")},
        )
        self.process = process
        found = threading.Event()

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line.rstrip("\n"))
                match = LISTENING.search(line)
                if match and not found.is_set():
                    self.address = match.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not found.wait(0.05):
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                raise RuntimeError("baton server did not start:\n" + "\n".join(self.output[-50:]))
        return self.address

    @property
    def port(self) -> int:
        """The port the server listens on (once started)."""
        return int(self.address.rsplit(":", 1)[1])

    def restart(self, timeout: float = 30.0) -> str:
        """Starts the server again on the same address and data directory."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.start(self.address, timeout=timeout)
            except RuntimeError:
                # The port may linger for a moment after a kill.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def server() -> Iterator[BatonServer]:
    with tempfile.TemporaryDirectory(prefix="baton-pytest-") as data_dir:
        srv = BatonServer(data_dir)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def client(server: BatonServer) -> Iterator[BatonClient]:
    with BatonClient(server.address) as c:
        yield c
