"""conductor-python's own authentication against a server started with --auth: given a key id
and secret (AuthenticationSettings, or CONDUCTOR_AUTH_KEY and CONDUCTOR_AUTH_SECRET), the client
asks POST /api/token for a token and sends it as X-Authorization on every call. The keys come
from `baton auth key create`, made with the admin key `baton auth bootstrap` wrote."""

import re
import subprocess

import pytest
import requests

from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.api.metadata_resource_api import MetadataResourceApi
from conductor.client.http.api.workflow_resource_api import WorkflowResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException

from conftest import Server, baton_bin, unique, wait_for, wait_status

KEY_TEXT = re.compile(r"^bk_([0-9a-f]{16})_([0-9a-f]{64})$")


@pytest.fixture(scope="module")
def auth_server():
    s = Server(baton_bin(), auth=True)
    yield s
    s.stop()


def make_key(server, name, role):
    """Makes a key with `baton auth key create`; returns its id, secret and whole text."""
    made = subprocess.run(
        [server.binary, "auth", "key", "create", "--name", name, "--role", role,
         "--server", f"http://{server.addr}", "--api-key", server.admin_key],
        capture_output=True, text=True, check=True, timeout=60)
    text = made.stdout.strip().splitlines()[-1].strip()
    match = KEY_TEXT.match(text)
    assert match, "the last line printed is the key, bk_<id>_<secret>"
    return match.group(1), match.group(2), text


def admin_get(server, path, **params):
    """GETs an admin route with the bootstrapped key as a bearer token."""
    r = requests.get(f"{server.api_url}{path}", params=params,
                     headers={"authorization": f"Bearer {server.admin_key}"}, timeout=10)
    r.raise_for_status()
    return r.json()


def audit(server, **filters):
    """Audit entries (newest first) that match `filters`; they are written a few ms after the
    request, so callers poll."""
    return admin_get(server, "/admin/audit", **filters)


def doubling_defs(metadata_api):
    """Registers a workflow of one INLINE task that doubles its input; returns its name."""
    name = unique("py_auth_quick")
    metadata_api.create(body=WorkflowDef(
        name=name, version=1, schema_version=2, timeout_seconds=0, owner_email="tests@example.com",
        tasks=[WorkflowTask(name="double", task_reference_name="double", type="INLINE",
                            input_parameters={"evaluatorType": "javascript",
                                              "expression": "$.x * 2",
                                              "x": "${workflow.input.x}"})],
        output_parameters={"doubled": "${double.output.result}"},
    ), overwrite=True)
    return name


def test_key_id_and_secret_give_a_token_sent_as_x_authorization(auth_server):
    key_id, secret, _ = make_key(auth_server, "conductor-python", "admin")
    config = Configuration(server_api_url=auth_server.api_url,
                           authentication_settings=AuthenticationSettings(key_id=key_id, key_secret=secret))
    api_client = ApiClient(config)  # asks POST /api/token at once
    assert config.AUTH_TOKEN, "no token from POST /api/token"
    metadata_api = MetadataResourceApi(api_client)
    workflow_api = WorkflowResourceApi(api_client)

    # Registering (the key is an admin), starting and reading, all through the token.
    task_name = unique("py_auth_task")
    metadata_api.register_task_def(body=[TaskDef(name=task_name, retry_count=0, response_timeout_seconds=60,
                                                 timeout_seconds=0)])
    assert metadata_api.get_task_def(task_name).name == task_name
    name = doubling_defs(metadata_api)
    assert metadata_api.get(name).version == 1
    wid = workflow_api.start_workflow(body=StartWorkflowRequest(name=name, version=1, input={"x": 21}))
    wf = wait_status(workflow_api, wid, "COMPLETED")
    assert wf.output == {"doubled": 42}
    assert workflow_api.start_workflow1(body={"x": 2}, name=name, version=1)

    # The server knows the caller by the token: the audit log names the key for the start.
    starts = wait_for("the start in the audit log",
                      lambda: audit(auth_server, actor=key_id, action="/api/workflow", outcome="ok"))
    assert all(e["actor"] == key_id and e["actorName"] == "conductor-python" and e["role"] == "admin"
               for e in starts)
    assert any(e["action"].startswith("POST /api/workflow") for e in starts)
    # The same token works by hand; without it the call is refused.
    url = f"{auth_server.api_url}/metadata/workflow/{name}"
    assert requests.get(url, headers={"X-Authorization": config.AUTH_TOKEN}, timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 401


def test_settings_from_the_environment(auth_server, monkeypatch):
    admin_id, admin_secret, _ = make_key(auth_server, "conductor-python definitions", "admin")
    name = doubling_defs(MetadataResourceApi(ApiClient(Configuration(
        server_api_url=auth_server.api_url,
        authentication_settings=AuthenticationSettings(key_id=admin_id, key_secret=admin_secret)))))

    key_id, secret, _ = make_key(auth_server, "conductor-python operator", "operator")
    monkeypatch.setenv("CONDUCTOR_AUTH_KEY", key_id)
    monkeypatch.setenv("CONDUCTOR_AUTH_SECRET", secret)
    config = Configuration(server_api_url=auth_server.api_url)
    assert config.authentication_settings.key_id == key_id
    api_client = ApiClient(config)
    assert config.AUTH_TOKEN
    workflow_api = WorkflowResourceApi(api_client)
    wid = workflow_api.start_workflow1(body={"x": 5}, name=name, version=1)
    assert wait_status(workflow_api, wid, "COMPLETED").output == {"doubled": 10}
    metadata_api = MetadataResourceApi(api_client)
    assert metadata_api.get(name).name == name

    # An operator may not define: 403, naming its role.
    with pytest.raises(ApiException) as e:
        metadata_api.register_task_def(body=[TaskDef(name=unique("py_auth_denied"))])
    assert e.value.status == 403
    assert "operator" in e.value.body


def test_a_wrong_secret_is_refused(auth_server):
    key_id, _, _ = make_key(auth_server, "conductor-python wrong secret", "admin")
    config = Configuration(server_api_url=auth_server.api_url,
                           authentication_settings=AuthenticationSettings(key_id=key_id, key_secret="0" * 64))
    api_client = ApiClient(config)
    assert config.AUTH_TOKEN is None, "POST /api/token gave a token for a wrong secret"
    with pytest.raises(ApiException) as e:
        MetadataResourceApi(api_client).get_all_workflows()
    assert e.value.status == 401
    with pytest.raises(ApiException) as e:
        WorkflowResourceApi(api_client).start_workflow(body=StartWorkflowRequest(name=unique("py_auth_none")))
    assert e.value.status == 401

    # What the client got from POST /api/token, asked by hand.
    r = requests.post(f"{auth_server.api_url}/token", json={"keyId": key_id, "keySecret": "0" * 64}, timeout=10)
    assert r.status_code == 401 and "wrong secret" in r.json()["message"]

    # Without any settings the client sends nothing, and is refused the same way.
    with pytest.raises(ApiException) as e:
        MetadataResourceApi(ApiClient(Configuration(server_api_url=auth_server.api_url))).get_all_workflows()
    assert e.value.status == 401


def test_a_revoked_key_voids_its_token(auth_server):
    key_id, secret, _ = make_key(auth_server, "conductor-python revoked", "viewer")
    config = Configuration(server_api_url=auth_server.api_url,
                           authentication_settings=AuthenticationSettings(key_id=key_id, key_secret=secret))
    metadata_api = MetadataResourceApi(ApiClient(config))
    assert isinstance(metadata_api.get_all_workflows(), list)
    r = requests.delete(f"{auth_server.api_url}/admin/keys/{key_id}",
                        headers={"authorization": f"Bearer {auth_server.admin_key}"}, timeout=10)
    assert r.status_code == 200, r.text
    with pytest.raises(ApiException) as e:
        metadata_api.get_all_workflows()
    assert e.value.status == 401
    assert [k for k in admin_get(auth_server, "/admin/keys") if k["id"] == key_id][0].get("revokedAt")
