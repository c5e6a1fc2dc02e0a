"""TLS and mutual TLS: the clients and the worker against a server that serves TLS with
certificates from ``baton tls init``, the rules that choose between TLS and plaintext, and the
errors of settings that do not fit together."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import BatonServer, TlsFiles, make_tls_files
from support import simple_task, task_def, unique, wait_until, workflow_def

from baton import (
    AsyncBatonClient,
    AsyncWorker,
    BatonClient,
    BatonError,
    TaskRegistry,
    UnavailableError,
    Worker,
    WorkflowStatus,
    worker_task,
)
from baton._channel import resolve_connection

TLS_VARIABLES = ("BATON_SERVER", "BATON_CA_FILE", "BATON_CLIENT_CERT", "BATON_CLIENT_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without the TLS variables, whatever the shell running the suite has."""
    for name in TLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@contextlib.contextmanager
def run_server(args: list[str]) -> Iterator[BatonServer]:
    with tempfile.TemporaryDirectory(prefix="baton-pytest-tls-") as data_dir:
        srv = BatonServer(data_dir, args)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def tls_server(certs: TlsFiles) -> Iterator[BatonServer]:
    """A server that serves TLS and takes any client."""
    with run_server(certs.server_args()) as srv:
        yield srv


@pytest.fixture(scope="module")
def mtls_server(certs: TlsFiles) -> Iterator[BatonServer]:
    """A server that requires a client certificate signed by the test authority."""
    with run_server(certs.server_args(mutual=True)) as srv:
        yield srv


def https(server: BatonServer) -> str:
    return f"https://localhost:{server.port}"


def one_task_workflow(client: BatonClient) -> tuple[str, str]:
    """Registers a task type and a workflow of one task of it; returns both names."""
    task_type, wf = unique("tls_task"), unique("tls_wf")
    client.register_task_defs(task_def(task_type))
    client.register_workflow_def(
        workflow_def(wf, [simple_task(task_type, "t", {"n": "${workflow.input.n}"})], {"doubled": "${t.output.doubled}"})
    )
    return task_type, wf


def doubling_registry(task_type: str) -> TaskRegistry:
    registry = TaskRegistry()

    @worker_task(task_type, registry=registry)
    def double(n: int) -> dict[str, Any]:
        return {"doubled": 2 * n}

    return registry


def completed_output(client: BatonClient, wf_id: str) -> Any:
    def done() -> Any:
        workflow = client.get_workflow(wf_id)
        return workflow if workflow.status is WorkflowStatus.COMPLETED else None

    return wait_until(done, timeout=30).output


def test_client_and_worker_over_tls(tls_server: BatonServer, certs: TlsFiles) -> None:
    with BatonClient(https(tls_server), ca_file=certs.ca) as client:
        assert client.tls and client.address == f"localhost:{tls_server.port}"
        task_type, wf = one_task_workflow(client)
        assert client.get_workflow_def(wf).name == wf
        wf_id = client.start_workflow(wf, {"n": 21})
        with Worker(server=https(tls_server), ca_file=str(certs.ca), registry=doubling_registry(task_type)) as worker:
            assert worker.tls
            assert completed_output(client, wf_id) == {"doubled": 42}
        assert worker.stats().total("acknowledged") == 1


def test_async_client_and_worker_over_tls(tls_server: BatonServer, certs: TlsFiles) -> None:
    with BatonClient(https(tls_server), ca_file=certs.ca) as client:
        task_type, wf = one_task_workflow(client)

    async def main() -> None:
        async with AsyncBatonClient(https(tls_server), ca_file=certs.ca, timeout=10) as aclient:
            assert aclient.tls
            assert (await aclient.get_task_def(task_type)).name == task_type
            assert wf in [d.name for d in await aclient.list_workflow_defs()]
            async with AsyncWorker(server=https(tls_server), ca_file=certs.ca, registry=doubling_registry(task_type)):
                done = await aclient.execute_workflow(wf, {"n": 5}, wait_seconds=20)
            assert done.status is WorkflowStatus.COMPLETED and done.output == {"doubled": 10}

    asyncio.run(main())


def test_environment_sets_up_tls(tls_server: BatonServer, certs: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_SERVER", https(tls_server))
    monkeypatch.setenv("BATON_CA_FILE", str(certs.ca))
    with BatonClient(timeout=10) as client:
        assert client.tls and client.address == f"localhost:{tls_server.port}"
        task_type, wf = one_task_workflow(client)
        wf_id = client.start_workflow(wf, {"n": 1})
        with Worker(registry=doubling_registry(task_type)) as worker:
            assert worker.tls and worker.server == client.address
            assert completed_output(client, wf_id) == {"doubled": 2}

    # A bare host:port with a CA file is TLS too.
    monkeypatch.setenv("BATON_SERVER", f"localhost:{tls_server.port}")
    with BatonClient(timeout=10) as client:
        assert client.tls
        assert client.get_task_def(task_type).name == task_type

    # Arguments win over the variables.
    monkeypatch.setenv("BATON_CA_FILE", str(certs.directory / "missing.pem"))
    with BatonClient(https(tls_server), ca_file=certs.ca, timeout=10) as client:
        assert client.get_task_def(task_type).name == task_type


def test_tls_server_refuses_untrusted_and_plaintext_clients(tls_server: BatonServer, certs: TlsFiles) -> None:
    # Without the test authority the server's certificate is not trusted.
    started = time.monotonic()
    with BatonClient(https(tls_server), timeout=5) as client:
        assert client.tls
        with pytest.raises(UnavailableError) as untrusted:
            client.list_task_defs()
    assert untrusted.value.code is grpc.StatusCode.UNAVAILABLE
    assert f"localhost:{tls_server.port}" in untrusted.value.message

    # A plaintext client gets no answer it understands.
    with BatonClient(f"localhost:{tls_server.port}", timeout=5) as client:
        assert not client.tls
        with pytest.raises(UnavailableError):
            client.list_task_defs()

    async def main() -> None:
        async with AsyncBatonClient(https(tls_server), timeout=5) as aclient:
            with pytest.raises(UnavailableError):
                await aclient.list_task_defs()

    asyncio.run(main())
    assert time.monotonic() - started < 30


def test_server_name_is_checked(certs: TlsFiles, tmp_path: Path) -> None:
    other = make_tls_files(tmp_path / "other", hosts=["baton.invalid"])
    with run_server(other.server_args()) as srv:
        with BatonClient(https(srv), ca_file=other.ca, timeout=5) as client:
            with pytest.raises(UnavailableError):
                client.list_task_defs()


def test_mutual_tls(mtls_server: BatonServer, certs: TlsFiles) -> None:
    # Trusting the server is not enough: it wants a client certificate.
    with BatonClient(https(mtls_server), ca_file=certs.ca, timeout=5) as client:
        with pytest.raises(BatonError) as refused:
            client.list_task_defs()
    assert refused.value.code is grpc.StatusCode.UNAVAILABLE

    with BatonClient(
        https(mtls_server), ca_file=certs.ca, client_cert=certs.client_cert, client_key=certs.client_key, timeout=10
    ) as client:
        task_type, wf = one_task_workflow(client)
        wf_id = client.start_workflow(wf, {"n": 4})
        with Worker(
            server=https(mtls_server),
            ca_file=certs.ca,
            client_cert=certs.client_cert,
            client_key=certs.client_key,
            registry=doubling_registry(task_type),
        ):
            assert completed_output(client, wf_id) == {"doubled": 8}

    async def main() -> None:
        async with AsyncBatonClient(
            https(mtls_server), ca_file=certs.ca, client_cert=certs.client_cert, client_key=certs.client_key, timeout=10
        ) as aclient:
            assert (await aclient.get_task_def(task_type)).name == task_type

    asyncio.run(main())


def test_mutual_tls_from_the_environment(
    mtls_server: BatonServer, certs: TlsFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_SERVER", https(mtls_server))
    monkeypatch.setenv("BATON_CA_FILE", str(certs.ca))
    monkeypatch.setenv("BATON_CLIENT_CERT", str(certs.client_cert))
    monkeypatch.setenv("BATON_CLIENT_KEY", str(certs.client_key))
    with BatonClient(timeout=10) as client:
        task_type, wf = one_task_workflow(client)
        wf_id = client.start_workflow(wf, {"n": 3})
        with Worker(registry=doubling_registry(task_type)):
            assert completed_output(client, wf_id) == {"doubled": 6}


# Settings that do not fit together fail when the client or worker is created.


def constructors(registry: TaskRegistry) -> list[Any]:
    return [
        BatonClient,
        AsyncBatonClient,
        lambda address, **kw: Worker(server=address, registry=registry, **kw),
        lambda address, **kw: AsyncWorker(server=address, registry=registry, **kw),
    ]


@pytest.fixture
def any_registry() -> TaskRegistry:
    registry = TaskRegistry()
    worker_task("tls_unused", registry=registry)(lambda: None)
    return registry


def test_plaintext_address_with_tls_settings_raises(
    certs: TlsFiles, any_registry: TaskRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    for make in constructors(any_registry):
        with pytest.raises(ValueError, match=r"ca_file needs an https:// server address, got the plaintext address http://"):
            make("http://localhost:1", ca_file=certs.ca)
        with pytest.raises(ValueError, match=r"client_cert and client_key need an https://"):
            make("http://localhost:1", client_cert=certs.client_cert, client_key=certs.client_key)
    monkeypatch.setenv("BATON_CA_FILE", str(certs.ca))
    with pytest.raises(ValueError, match=r"BATON_CA_FILE needs an https:// server address"):
        BatonClient("http://localhost:1")


def test_client_certificate_and_key_go_together(
    certs: TlsFiles, any_registry: TaskRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    for make in constructors(any_registry):
        with pytest.raises(ValueError, match=r"certificate \(client_cert\) needs its private key: set client_key"):
            make("https://localhost:1", ca_file=certs.ca, client_cert=certs.client_cert)
        with pytest.raises(ValueError, match=r"client key \(client_key\) needs its certificate: set client_cert"):
            make("https://localhost:1", client_key=certs.client_key)
    monkeypatch.setenv("BATON_CLIENT_CERT", str(certs.client_cert))
    with pytest.raises(ValueError, match=r"\(BATON_CLIENT_CERT\) needs its private key"):
        BatonClient("https://localhost:1")


def test_unreadable_tls_files_raise_naming_the_file(
    certs: TlsFiles, any_registry: TaskRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    for make in constructors(any_registry):
        with pytest.raises(ValueError, match=rf"cannot read the CA file {missing}: "):
            make("https://localhost:1", ca_file=missing)
        with pytest.raises(ValueError, match=rf"cannot read the client key {missing}: "):
            make("localhost:1", client_cert=certs.client_cert, client_key=missing)
        with pytest.raises(ValueError, match=rf"the client certificate {not_pem} holds no PEM data"):
            make("localhost:1", client_cert=not_pem, client_key=certs.client_key)
    monkeypatch.setenv("BATON_CA_FILE", str(missing))
    with pytest.raises(ValueError, match=rf"cannot read the CA file {missing}"):
        BatonClient()


def test_credentials_and_tls_files_exclude_each_other(certs: TlsFiles) -> None:
    credentials = grpc.ssl_channel_credentials()
    with pytest.raises(ValueError, match="credentials cannot be combined with ca_file"):
        BatonClient("https://localhost:1", credentials=credentials, ca_file=certs.ca)
    with pytest.raises(ValueError, match="TLS credentials need an https:// server address"):
        BatonClient("http://localhost:1", credentials=credentials)
    with BatonClient("localhost:1", credentials=credentials) as client:
        assert client.tls


def test_rules_choosing_tls_or_plaintext(certs: TlsFiles) -> None:
    def resolve(address: str | None, environ: dict[str, str] | None = None, **files: Any) -> tuple[str, bool]:
        connection = resolve_connection(address, environ=environ or {}, **files)
        return connection.target, connection.tls

    assert resolve(None) == ("127.0.0.1:7070", False)
    assert resolve("localhost:7070") == ("localhost:7070", False)
    assert resolve("http://localhost:7070/") == ("localhost:7070", False)
    assert resolve("HTTPS://localhost:7070") == ("localhost:7070", True)
    assert resolve("https://localhost:7070") == ("localhost:7070", True)
    assert resolve("https://[::1]:7070") == ("[::1]:7070", True)
    assert resolve("localhost:7070", ca_file=certs.ca) == ("localhost:7070", True)
    assert resolve("localhost:7070", client_cert=certs.client_cert, client_key=certs.client_key) == ("localhost:7070", True)
    assert resolve(None, {"BATON_SERVER": "localhost:9", "BATON_CA_FILE": str(certs.ca)}) == ("localhost:9", True)
    assert resolve(None, {"BATON_SERVER": "https://localhost:9"}) == ("localhost:9", True)
    # Empty variables count as unset.
    assert resolve("http://localhost:9", {"BATON_CA_FILE": "", "BATON_CLIENT_CERT": ""}) == ("localhost:9", False)
