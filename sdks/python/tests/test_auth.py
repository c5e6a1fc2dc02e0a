"""API keys, roles and the audit log: the clients and the worker against a server started with
``--auth`` on a data directory whose first admin key came from ``baton auth bootstrap``.

The admin client makes a worker, an operator and a viewer key; each test then acts with the
key of the role it is about. Audit entries are written a few milliseconds after the request
they record, so the tests poll the log with a deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from conftest import BatonServer, baton_bin
from support import TcpProxy, simple_task, task_def, unique, wait_until, workflow_def

from baton import (
    ApiKey,
    AsyncBatonClient,
    AsyncWorker,
    AuditEvent,
    AuditOutcome,
    BatonClient,
    NewApiKey,
    NotFoundError,
    PermissionDeniedError,
    Role,
    TaskRegistry,
    TaskStatus,
    UnauthenticatedError,
    Worker,
    WorkflowStatus,
    worker_task,
)
from baton._channel import auth_metadata, resolve_api_key

KEY_TEXT = re.compile(r"^bk_([0-9a-f]{16})_([0-9a-f]{64})$")


@dataclass(frozen=True)
class AuthServer:
    """A server running with ``--auth`` and the admin key bootstrapped for it."""

    server: BatonServer
    admin_key: str

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def admin_id(self) -> str:
        match = KEY_TEXT.match(self.admin_key)
        assert match, "the bootstrapped key is not bk_<id>_<secret>"
        return match.group(1)


@dataclass(frozen=True)
class Keys:
    """The keys the admin makes for the tests, one per role."""

    worker: NewApiKey
    operator: NewApiKey
    viewer: NewApiKey


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without ``BATON_API_KEY``, whatever the shell running the suite has."""
    monkeypatch.delenv("BATON_API_KEY", raising=False)
    monkeypatch.delenv("BATON_SERVER", raising=False)


@pytest.fixture(scope="module")
def auth_server() -> Iterator[AuthServer]:
    with tempfile.TemporaryDirectory(prefix="baton-pytest-auth-") as data_dir:
        bootstrap = subprocess.run(
            [baton_bin(), "auth", "bootstrap", "--data-dir", data_dir],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        admin_key = bootstrap.stdout.strip().splitlines()[-1].strip()
        srv = BatonServer(data_dir, ["--auth"])
        srv.start()
        try:
            yield AuthServer(srv, admin_key)
        finally:
            srv.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def admin(auth_server: AuthServer) -> Iterator[BatonClient]:
    with BatonClient(auth_server.address, api_key=auth_server.admin_key) as client:
        yield client


@pytest.fixture(scope="module")
def keys(admin: BatonClient) -> Keys:
    return Keys(
        worker=admin.create_api_key("test worker", Role.WORKER),
        operator=admin.create_api_key("test operator", "operator"),
        viewer=admin.create_api_key("test viewer", "VIEWER"),
    )


@pytest.fixture(scope="module")
def operator(auth_server: AuthServer, keys: Keys) -> Iterator[BatonClient]:
    with BatonClient(auth_server.address, api_key=keys.operator.key_text) as client:
        yield client


@pytest.fixture(scope="module")
def viewer(auth_server: AuthServer, keys: Keys) -> Iterator[BatonClient]:
    with BatonClient(auth_server.address, api_key=keys.viewer.key_text) as client:
        yield client


def one_task_workflow(admin: BatonClient) -> tuple[str, str]:
    """Registers (as admin: definitions need that role) a task type and a workflow of one task
    of it; returns both names."""
    task_type, wf = unique("auth_task"), unique("auth_wf")
    admin.register_task_defs(task_def(task_type))
    admin.register_workflow_def(
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


def audit_entries(admin: BatonClient, **filters: Any) -> list[AuditEvent]:
    """Polls the audit log until entries matching ``filters`` show up; returns them."""
    found: list[AuditEvent] = wait_until(lambda: admin.list_audit_events(**filters), timeout=15)
    return found


def refused_streams(admin: BatonClient, key: NewApiKey, since: dt.datetime) -> list[AuditEvent]:
    """Worker streams refused since ``since`` because ``key`` was revoked (a refused caller is
    recorded as ``anonymous``: its key is not taken)."""
    return [
        e
        for e in admin.list_audit_events(action="TaskService/Work", outcome=AuditOutcome.DENIED, since=since)
        if key.id in e.reason and "revoked" in e.reason
    ]


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --- keys --------------------------------------------------------------------------------


def test_admin_makes_and_lists_keys(auth_server: AuthServer, admin: BatonClient, keys: Keys) -> None:
    for made, role in ((keys.worker, Role.WORKER), (keys.operator, Role.OPERATOR), (keys.viewer, Role.VIEWER)):
        match = KEY_TEXT.match(made.key_text)
        assert match, "a key's text is bk_<id>_<secret>"
        assert (made.id, made.secret) == (match.group(1), match.group(2))
        assert made.key.role is role and made.key.created_by == auth_server.admin_id
        assert not made.key.revoked and made.key.created_at is not None
        # Printing the new key does not show what it shows only this once.
        assert made.secret not in repr(made) and made.key_text not in repr(made)

    listed = {k.id: k for k in admin.list_api_keys()}
    assert all(isinstance(k, ApiKey) for k in listed.values())
    bootstrapped = listed[auth_server.admin_id]
    assert (bootstrapped.role, bootstrapped.created_by) == (Role.ADMIN, "bootstrap")
    assert listed[keys.operator.id].name == "test operator"
    assert listed[keys.viewer.id].role is Role.VIEWER
    # Oldest first.
    ids = list(listed)
    assert ids.index(auth_server.admin_id) < ids.index(keys.worker.id) < ids.index(keys.viewer.id)

    with pytest.raises(ValueError, match="unknown role 'superuser'"):
        admin.create_api_key("nobody", "superuser")
    with pytest.raises(NotFoundError):
        admin.revoke_api_key("0123456789abcdef")


def test_only_admin_manages_keys_and_definitions(operator: BatonClient, viewer: BatonClient, keys: Keys) -> None:
    with pytest.raises(PermissionDeniedError) as denied:
        operator.create_api_key("sneaky", Role.ADMIN)
    assert denied.value.code is grpc.StatusCode.PERMISSION_DENIED
    assert "operator" in denied.value.message and "admin" in denied.value.message
    with pytest.raises(PermissionDeniedError):
        operator.list_audit_events()
    with pytest.raises(PermissionDeniedError):
        viewer.list_api_keys()
    with pytest.raises(PermissionDeniedError, match="operator"):
        operator.register_task_defs(task_def(unique("auth_denied")))


# --- roles ---------------------------------------------------------------------------------


def test_operator_starts_and_a_worker_with_the_worker_key_completes(
    auth_server: AuthServer, admin: BatonClient, operator: BatonClient, keys: Keys
) -> None:
    task_type, wf = one_task_workflow(admin)
    wf_id = operator.start_workflow(wf, {"n": 21})
    with Worker(
        server=auth_server.address, api_key=keys.worker.key_text, registry=doubling_registry(task_type)
    ) as worker:
        assert worker.authenticated
        assert completed_output(operator, wf_id) == {"doubled": 42}
    assert worker.stats().total("acknowledged") == 1
    assert operator.get_workflow(wf_id).task("t").worker_id  # type: ignore[union-attr]


def test_viewer_reads_but_cannot_start(admin: BatonClient, operator: BatonClient, viewer: BatonClient) -> None:
    _, wf = one_task_workflow(admin)
    wf_id = operator.start_workflow(wf, {"n": 1})
    assert viewer.get_workflow(wf_id).status is WorkflowStatus.RUNNING
    assert viewer.get_workflow_def(wf).name == wf
    with pytest.raises(PermissionDeniedError) as denied:
        viewer.start_workflow(wf, {"n": 2})
    assert denied.value.code is grpc.StatusCode.PERMISSION_DENIED
    assert "viewer" in denied.value.message
    with pytest.raises(PermissionDeniedError):
        viewer.terminate_workflow(wf_id)
    operator.terminate_workflow(wf_id, "done")


def test_no_key_or_a_wrong_one_is_unauthenticated(auth_server: AuthServer, admin: BatonClient, keys: Keys) -> None:
    _, wf = one_task_workflow(admin)
    with BatonClient(auth_server.address, timeout=10) as anonymous:
        assert not anonymous.authenticated
        with pytest.raises(UnauthenticatedError) as refused:
            anonymous.list_workflow_defs()
        assert refused.value.code is grpc.StatusCode.UNAUTHENTICATED
        assert "credentials" in refused.value.message
        with pytest.raises(UnauthenticatedError):
            anonymous.start_workflow(wf)

    wrong_secret = f"bk_{keys.operator.id}_{'0' * 64}"
    with BatonClient(auth_server.address, api_key=wrong_secret, timeout=10) as wrong:
        with pytest.raises(UnauthenticatedError, match="wrong secret"):
            wrong.start_workflow(wf)

    async def main() -> None:
        async with AsyncBatonClient(auth_server.address, timeout=10) as aclient:
            with pytest.raises(UnauthenticatedError):
                await aclient.get_workflow_def(wf)

    asyncio.run(main())


def test_a_revoked_key_is_refused_on_its_next_call(auth_server: AuthServer, admin: BatonClient) -> None:
    task_type, _ = one_task_workflow(admin)
    made = admin.create_api_key(unique("short lived"), Role.WORKER)
    with BatonClient(auth_server.address, api_key=made.key_text, timeout=10) as client:
        assert client.poll_task(task_type) is None
        revoked = admin.revoke_api_key(made.id)
        assert revoked.id == made.id and revoked.revoked and revoked.revoked_at is not None
        with pytest.raises(UnauthenticatedError, match="revoked"):
            client.poll_task(task_type)
    assert {k.id: k for k in admin.list_api_keys()}[made.id].revoked
    # Revoking again changes nothing.
    assert admin.revoke_api_key(made.id).revoked_at == revoked.revoked_at


def test_a_worker_with_a_revoked_key_takes_no_task(
    auth_server: AuthServer, admin: BatonClient, operator: BatonClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="baton.worker")
    task_type, wf = one_task_workflow(admin)
    made = admin.create_api_key(unique("revoked worker"), Role.WORKER)
    admin.revoke_api_key(made.id)
    since = now()
    wf_id = operator.start_workflow(wf, {"n": 3})
    with Worker(
        server=auth_server.address, api_key=made.key_text, registry=doubling_registry(task_type), max_backoff=0.5
    ) as worker:
        wait_until(lambda: len(refused_streams(admin, made, since)) >= 2, timeout=15)
        assert worker.stats().total("received") == 0
        assert worker.stats().total("reconnects") == 0
        task = operator.get_workflow(wf_id).task("t")
        assert task is not None and task.status is TaskStatus.SCHEDULED and task.poll_count == 0

    refusals = [r for r in caplog.records if getattr(r, "event", "") == "reconnecting"]
    assert refusals and all(r.levelno == logging.ERROR for r in refusals)
    assert refusals[0].code == "UNAUTHENTICATED"  # type: ignore[attr-defined]
    assert "revoked" in refusals[0].getMessage()
    assert not any(e == "connected" for e in (getattr(r, "event", "") for r in caplog.records))
    # The key is never logged, only its public id (in the server's message).
    assert made.secret not in caplog.text

    # A worker with a live key takes the task the refused one could not.
    with Worker(server=auth_server.address, api_key=keys.worker.key_text, registry=doubling_registry(task_type)):
        assert completed_output(operator, wf_id) == {"doubled": 6}


def test_a_worker_reconnects_with_its_key_until_the_key_is_revoked(
    auth_server: AuthServer, admin: BatonClient, operator: BatonClient, keys: Keys
) -> None:
    task_type, wf = one_task_workflow(admin)
    made = admin.create_api_key(unique("cut worker"), Role.WORKER)
    proxy = TcpProxy(auth_server.address)
    try:
        with Worker(
            server=proxy.address, api_key=made.key_text, registry=doubling_registry(task_type), max_backoff=0.5
        ) as worker:
            assert completed_output(operator, operator.start_workflow(wf, {"n": 1})) == {"doubled": 2}
            # The stream breaks; the new one carries the key too and takes tasks again.
            proxy.cut()
            wait_until(lambda: worker.stats().total("reconnects") >= 1)
            assert completed_output(operator, operator.start_workflow(wf, {"n": 2})) == {"doubled": 4}

            # Revoked, the key opens no stream: once the open one breaks, no task comes.
            admin.revoke_api_key(made.id)
            revoked_at = now()
            proxy.cut()
            wait_until(lambda: refused_streams(admin, made, revoked_at), timeout=15)
            started_at = now()
            wf_id = operator.start_workflow(wf, {"n": 3})
            wait_until(lambda: refused_streams(admin, made, started_at), timeout=15)
            assert worker.stats().total("received") == 2
            task = operator.get_workflow(wf_id).task("t")
            assert task is not None and task.status is TaskStatus.SCHEDULED
    finally:
        proxy.close()
    operator.terminate_workflow(wf_id, "no worker may take it")


# --- the environment ---------------------------------------------------------------------


def test_api_key_from_the_environment(
    auth_server: AuthServer, admin: BatonClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_type, wf = one_task_workflow(admin)

    monkeypatch.setenv("BATON_API_KEY", keys.viewer.key_text)
    with BatonClient(auth_server.address, timeout=10) as from_env:
        assert from_env.authenticated
        assert from_env.get_workflow_def(wf).name == wf
        with pytest.raises(PermissionDeniedError, match="viewer"):
            from_env.start_workflow(wf, {"n": 1})
    # The argument wins over the variable; an empty argument counts as none given.
    with BatonClient(auth_server.address, api_key=keys.operator.key_text, timeout=10) as explicit:
        wf_id = explicit.start_workflow(wf, {"n": 5})
    with BatonClient(auth_server.address, api_key="", timeout=10) as empty:
        with pytest.raises(PermissionDeniedError, match="viewer"):
            empty.start_workflow(wf, {"n": 1})

    monkeypatch.setenv("BATON_API_KEY", keys.worker.key_text)
    with Worker(server=auth_server.address, registry=doubling_registry(task_type)) as worker:
        assert worker.authenticated
        assert completed_output(admin, wf_id) == {"doubled": 10}

    monkeypatch.setenv("BATON_API_KEY", keys.operator.key_text)
    started: list[str] = []

    async def main() -> None:
        async with AsyncBatonClient(auth_server.address, timeout=10) as aclient:
            assert aclient.authenticated
            started.append(await aclient.start_workflow(wf, {"n": 6}))
        async with AsyncWorker(
            server=auth_server.address, api_key=keys.worker.key_text, registry=doubling_registry(task_type)
        ) as aworker:
            assert aworker.authenticated
            async with AsyncBatonClient(auth_server.address, timeout=10) as aclient:
                done = await aclient.wait_workflow(started[0], wait_seconds=30)
                assert done.finished and done.workflow.output == {"doubled": 12}

    asyncio.run(main())

    monkeypatch.setenv("BATON_API_KEY", "")
    with BatonClient(auth_server.address, timeout=10) as none:
        assert not none.authenticated
        with pytest.raises(UnauthenticatedError):
            none.get_workflow_def(wf)


# --- the audit log -----------------------------------------------------------------------


def test_the_audit_log_records_the_start_and_the_refused_start(
    admin: BatonClient, operator: BatonClient, viewer: BatonClient, keys: Keys
) -> None:
    _, wf = one_task_workflow(admin)
    since = now()
    wf_id = operator.start_workflow(wf, {"n": 1})
    with pytest.raises(PermissionDeniedError):
        viewer.start_workflow(wf, {"n": 1})

    (started,) = audit_entries(admin, actor=keys.operator.id, action="StartWorkflow", since=since)
    assert started.outcome is AuditOutcome.OK and started.status == "Ok"
    assert (started.actor, started.actor_name, started.role) == (keys.operator.id, "test operator", Role.OPERATOR)
    assert started.action == "baton.v1.WorkflowService/StartWorkflow" and started.access == "operate"
    assert started.remote and started.time is not None and started.time >= since - dt.timedelta(seconds=1)

    (refused,) = audit_entries(admin, actor=keys.viewer.id, outcome=AuditOutcome.DENIED, since=since)
    assert refused.action == "baton.v1.WorkflowService/StartWorkflow"
    assert refused.outcome is AuditOutcome.DENIED and refused.status == "PermissionDenied"
    assert refused.role is Role.VIEWER and "viewer" in refused.reason
    assert refused.seq > started.seq

    # The filters: by a key's name, by outcome given as text, pages with `before`, and time.
    assert [e.seq for e in admin.list_audit_events(actor="test viewer", outcome="denied", since=since)] == [
        refused.seq
    ]
    newest_first = admin.list_audit_events(since=since, limit=2)
    assert len(newest_first) == 2 and newest_first[0].seq > newest_first[1].seq
    older = admin.list_audit_events(since=since, before=newest_first[0].seq)
    assert older and all(e.seq < newest_first[0].seq for e in older)
    assert started.seq in [e.seq for e in older]
    assert not admin.list_audit_events(actor=keys.operator.id, until=since - dt.timedelta(days=365))
    operator.terminate_workflow(wf_id)


def test_async_admin_calls(auth_server: AuthServer, keys: Keys) -> None:
    async def main() -> None:
        async with AsyncBatonClient(auth_server.address, api_key=auth_server.admin_key, timeout=10) as aadmin:
            made = await aadmin.create_api_key(unique("async viewer"), "viewer")
            assert made.key.role is Role.VIEWER
            assert made.id in [k.id for k in await aadmin.list_api_keys()]
            assert (await aadmin.revoke_api_key(made.id)).revoked
            entries: list[AuditEvent] = []
            deadline = asyncio.get_running_loop().time() + 15
            while not entries:
                assert asyncio.get_running_loop().time() < deadline, "no audit entry for the revoke"
                entries = await aadmin.list_audit_events(action="RevokeApiKey", actor=auth_server.admin_id)
                if not entries:
                    await asyncio.sleep(0.05)
            assert entries[0].outcome is AuditOutcome.OK and entries[0].role is Role.ADMIN
        async with AsyncBatonClient(auth_server.address, api_key=keys.operator.key_text, timeout=10) as aoperator:
            with pytest.raises(PermissionDeniedError):
                await aoperator.list_api_keys()

    asyncio.run(main())


# --- settings ------------------------------------------------------------------------------


def test_api_key_settings() -> None:
    key = "bk_0123456789abcdef_" + "ab" * 32
    assert resolve_api_key(key, {}) == key
    assert resolve_api_key(None, {"BATON_API_KEY": key}) == key
    assert resolve_api_key("bk_other", {"BATON_API_KEY": key}) == "bk_other"
    assert resolve_api_key(f"  {key}\n", {}) == key
    assert resolve_api_key("", {"BATON_API_KEY": key}) == key
    assert resolve_api_key(None, {"BATON_API_KEY": ""}) is None
    assert resolve_api_key(None, {}) is None
    assert auth_metadata(key) == (("authorization", f"Bearer {key}"),)
    assert auth_metadata(None) is None

    for wrong in (f"Bearer {key}", "bk_a b", "bk_\u00e9"):
        with pytest.raises(ValueError, match=r"the API key \(api_key\) holds characters") as error:
            resolve_api_key(wrong, {})
        assert wrong not in str(error.value)
    with pytest.raises(ValueError, match=r"\(BATON_API_KEY\)"):
        resolve_api_key(None, {"BATON_API_KEY": "bk x"})

    registry = TaskRegistry()
    worker_task("auth_unused", registry=registry)(lambda: None)
    for make in (
        BatonClient,
        AsyncBatonClient,
        lambda address, **kw: Worker(server=address, registry=registry, **kw),
        lambda address, **kw: AsyncWorker(server=address, registry=registry, **kw),
    ):
        with pytest.raises(ValueError, match="API key"):
            make("localhost:1", api_key=f"Bearer {key}")


def test_roles_and_outcomes_parse_and_map() -> None:
    from baton.v1 import admin_pb2

    assert Role.parse("worker") is Role.WORKER and Role.parse(" Admin ") is Role.ADMIN
    assert Role.parse(Role.VIEWER) is Role.VIEWER
    assert Role.OPERATOR.to_proto() == admin_pb2.ROLE_OPERATOR
    for value in admin_pb2.Role.values():
        assert Role.from_proto(value).to_proto() == value
    assert Role.from_proto(99) is Role.UNSPECIFIED
    assert AuditOutcome.parse("failed") is AuditOutcome.FAILED
    for value in admin_pb2.AuditOutcome.values():
        assert AuditOutcome.from_proto(value).to_proto() == value
    with pytest.raises(ValueError, match="expected one of ok, denied, failed"):
        AuditOutcome.parse("maybe")
