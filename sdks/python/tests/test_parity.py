"""Every RPC of every baton.v1 service has a method in the blocking and in the asyncio client.

The services and their methods are read from the generated descriptors, so an RPC added to
proto/ fails this test until the clients have a method for it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import baton
import baton.v1
from baton import AsyncBatonClient, BatonClient

# RPCs whose client method is not the RPC's name in snake_case.
RENAMED: dict[str, list[str]] = {
    "MetadataService.UpdateWorkflowDef": ["update_workflow_defs"],
    "ScheduleService.BulkPauseSchedules": ["pause_schedules", "resume_schedules"],
    "TaskService.Poll": ["poll_task"],
    "TaskService.BatchPoll": ["batch_poll_tasks"],
}

# RPCs served by another part of the SDK than the clients: the name of that part in ``baton``.
ELSEWHERE: dict[str, list[str]] = {
    # The worker stream: the workers open it, hold credit on it and report results on it.
    "TaskService.Work": ["Worker", "AsyncWorker"],
}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def all_rpcs() -> list[str]:
    rpcs = []
    for info in pkgutil.iter_modules(baton.v1.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"baton.v1.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            rpcs += [f"{service.name}.{method.name}" for method in service.methods]
    return sorted(rpcs)


def test_the_descriptors_list_the_services() -> None:
    services = {rpc.split(".")[0] for rpc in all_rpcs()}
    assert {
        "MetadataService",
        "WorkflowService",
        "TaskService",
        "ScheduleService",
        "MonitorService",
        "AdminService",
    } <= services


def test_every_rpc_has_a_method_in_both_clients() -> None:
    missing = []
    for rpc in all_rpcs():
        if rpc in ELSEWHERE:
            missing += [f"{rpc} (baton.{name})" for name in ELSEWHERE[rpc] if not hasattr(baton, name)]
            continue
        service, method = rpc.split(".")
        for name in RENAMED.get(rpc, [snake_case(method)]):
            if not callable(getattr(BatonClient, name, None)):
                missing.append(f"{rpc} (BatonClient.{name})")
            if not inspect.iscoroutinefunction(getattr(AsyncBatonClient, name, None)):
                missing.append(f"{rpc} (AsyncBatonClient.{name})")
    assert not missing, "RPCs without a client method: " + ", ".join(missing)


def test_the_exceptions_name_real_rpcs() -> None:
    rpcs = set(all_rpcs())
    assert not (set(RENAMED) | set(ELSEWHERE)) - rpcs


def test_both_clients_offer_the_same_calls() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")} - {"close"}

    assert public(BatonClient) == public(AsyncBatonClient)
    for name in public(AsyncBatonClient):
        assert inspect.iscoroutinefunction(getattr(AsyncBatonClient, name)), name
        assert not inspect.iscoroutinefunction(getattr(BatonClient, name)), name
        assert getattr(BatonClient, name).__doc__, name


SERVICE_KEYS = {
    "MetadataService": "metadata",
    "WorkflowService": "workflows",
    "TaskService": "tasks",
    "ScheduleService": "schedules",
    "MonitorService": "monitor",
    "AdminService": "admin",
}


def test_each_method_calls_its_rpc() -> None:
    # The call is described once (its plan); the method mapped to an RPC must send that RPC.
    wrong = []
    for rpc in all_rpcs():
        if rpc in ELSEWHERE:
            continue
        service, method = rpc.split(".")
        for name in RENAMED.get(rpc, [snake_case(method)]):
            plan = getattr(BatonClient, name).__wrapped__
            assert plan is getattr(AsyncBatonClient, name).__wrapped__, name
            if f'"{SERVICE_KEYS[service]}", "{method}"' not in inspect.getsource(plan):
                wrong.append(f"{name} does not call {rpc}")
    assert not wrong, ", ".join(wrong)


def test_api_md_lists_every_call() -> None:
    from pathlib import Path

    listed = (Path(__file__).resolve().parents[1] / "API.md").read_text(encoding="utf-8")
    calls = {n for n in dir(BatonClient) if not n.startswith("_")} - {"close"}
    assert not {n for n in calls if f"| `{n}` |" not in listed}
