"""Shared fixtures: one Baton server per test session, and the official conductor-python
client (2.0.0, unchanged) configured against it."""

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.metadata_resource_api import MetadataResourceApi
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api.workflow_bulk_resource_api import WorkflowBulkResourceApi
from conductor.client.http.api.workflow_resource_api import WorkflowResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.orkes_clients import OrkesClients

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
READY_LINE = "baton server listening on "


def _die_with_parent():
    """Runs in the server's process before exec: it gets SIGTERM if the tests die."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Server:
    """A `baton server` on a free port with its own data directory. With `auth`, the server
    runs with --auth and `admin_key` holds the admin key `baton auth bootstrap` made for it."""

    def __init__(self, binary, auth=False):
        self.binary = binary
        self.data_dir = tempfile.mkdtemp(prefix="baton-conductor-python-")
        store = os.path.join(self.data_dir, "data")
        args = []
        self.admin_key = None
        if auth:
            # Made on the store before the server opens it; the key is the last line printed.
            made = subprocess.run([binary, "auth", "bootstrap", "--data-dir", store],
                                  capture_output=True, text=True, timeout=60)
            if made.returncode != 0:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                raise RuntimeError(f"baton auth bootstrap failed: {made.stderr.strip()}")
            self.admin_key = made.stdout.strip().splitlines()[-1].strip()
            args.append("--auth")
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "server", "--data-dir", store, "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True, preexec_fn=_die_with_parent,
        )
        line = self._first_line(timeout=30)
        if not line.startswith(READY_LINE):
            self.stop()
            raise RuntimeError(f"unexpected first line from baton server: {line!r}")
        self.addr = line[len(READY_LINE):].strip()
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self.api_url = f"http://{self.addr}/api"

    def _first_line(self, timeout):
        box = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not box:
            self.stop()
            raise RuntimeError(f"baton server printed nothing within {timeout}s")
        return box[0]

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def baton_bin():
    return os.environ.get("BATON_BIN", os.path.join(ROOT, "target", "release", "baton"))


@pytest.fixture(scope="session")
def server():
    s = Server(baton_bin())
    # Worker processes started by TaskHandler read the server address from here.
    os.environ["CONDUCTOR_SERVER_URL"] = s.api_url
    yield s
    s.stop()


@pytest.fixture(scope="session")
def config(server):
    return Configuration(server_api_url=server.api_url)


@pytest.fixture(scope="session")
def api_client(config):
    return ApiClient(config)


@pytest.fixture(scope="session")
def metadata_api(api_client):
    return MetadataResourceApi(api_client)


@pytest.fixture(scope="session")
def workflow_api(api_client):
    return WorkflowResourceApi(api_client)


@pytest.fixture(scope="session")
def task_api(api_client):
    return TaskResourceApi(api_client)


@pytest.fixture(scope="session")
def bulk_api(api_client):
    return WorkflowBulkResourceApi(api_client)


@pytest.fixture(scope="session")
def clients(config):
    return OrkesClients(configuration=config)


def unique(prefix):
    """A name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def wait_for(what, check, timeout=20.0, interval=0.05):
    """Calls `check` until it returns a truthy value or the deadline passes; returns that
    value, or fails the test naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def wait_status(workflow_api, workflow_id, status, timeout=20.0, include_tasks=True):
    """Polls the execution until its status is `status`; returns the execution."""
    seen = {}

    def check():
        wf = workflow_api.get_execution_status(workflow_id, include_tasks=include_tasks)
        seen["status"] = wf.status
        return wf if wf.status == status else None

    deadline = time.monotonic() + timeout
    while True:
        wf = check()
        if wf is not None:
            return wf
        if time.monotonic() >= deadline:
            pytest.fail(f"workflow {workflow_id} is {seen.get('status')}, not {status}, after {timeout}s")
        time.sleep(0.05)


def tasks_by_ref(wf):
    """The execution's task instances grouped by reference name, in scheduling order."""
    out = {}
    for t in wf.tasks or []:
        out.setdefault(t.reference_task_name, []).append(t)
    return out
