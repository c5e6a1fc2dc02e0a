"""Workers run by conductor-python's TaskHandler (a thread-pool runner for plain
functions, an asyncio runner for `async def`) through a workflow with a FORK_JOIN, a
SWITCH, a SUB_WORKFLOW and a task that fails once and is retried; the same workflow
executed synchronously."""

import uuid

import pytest

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.fork_task import ForkTask
from conductor.client.workflow.task.simple_task import SimpleTask
from conductor.client.workflow.task.sub_workflow_task import SubWorkflowTask
from conductor.client.workflow.task.switch_task import SwitchTask

import workers
from conftest import tasks_by_ref, wait_status

PARENT = "py_orders"
CHILD = "py_orders_child"


def simple(name, ref, **inputs):
    t = SimpleTask(task_def_name=name, task_reference_name=ref)
    t.input_parameters.update(inputs)
    return t


@pytest.fixture(scope="module")
def definitions(config, metadata_api):
    """Task definitions (the flaky one retries at once) and the two workflows, written
    with the client's workflow builder and registered through it."""
    metadata_api.register_task_def(body=[
        TaskDef(name=workers.SHOUT, retry_count=0, response_timeout_seconds=30, timeout_seconds=60),
        TaskDef(name=workers.ADD, retry_count=0, response_timeout_seconds=30, timeout_seconds=60),
        TaskDef(name=workers.FLAKY, retry_count=2, retry_logic="FIXED", retry_delay_seconds=0,
                response_timeout_seconds=30, timeout_seconds=60),
    ])
    executor = WorkflowExecutor(config)

    child = ConductorWorkflow(executor, CHILD, 1)
    child.add(simple(workers.ADD, "child_add", a="${workflow.input.a}", b=100))
    child.output_parameters({"total": "${child_add.output.sum}"})
    child.register(overwrite=True)

    parent = ConductorWorkflow(executor, PARENT, 1)
    fork = ForkTask("fan", [
        [simple(workers.SHOUT, "loud", text="${workflow.input.word}")],
        [simple(workers.ADD, "sum", a="${workflow.input.a}", b="${workflow.input.b}")],
    ])
    route = SwitchTask("route", "${workflow.input.kind}")
    route.switch_case("flaky", [simple(workers.FLAKY, "retried", value="${sum.output.sum}")])
    route.default_case([simple(workers.SHOUT, "plain", text="default")])
    sub = SubWorkflowTask("child", CHILD, 1)
    sub.input_parameters.update({"a": "${sum.output.sum}"})
    parent.add(fork).add(route).add(sub)
    parent.output_parameters({
        "loud": "${loud.output.text}",
        "sum": "${sum.output.sum}",
        "attempt": "${retried.output.attempt}",
        "child": "${child.output.total}",
    })
    parent.register(overwrite=True)
    return parent


@pytest.fixture(scope="module")
def handler(config, definitions):
    """The client's TaskHandler with every @worker_task of `workers`, in worker processes."""
    h = TaskHandler(configuration=config, scan_for_annotated_workers=True,
                    import_modules=["workers"], monitor_processes=False)
    h.start_processes()
    yield h
    h.stop_processes()


def test_definitions_round_trip(metadata_api, definitions):
    got = metadata_api.get(PARENT, version=1)
    assert got.name == PARENT and got.version == 1
    types = [t.type for t in got.tasks]
    assert types == ["FORK_JOIN", "JOIN", "SWITCH", "SUB_WORKFLOW"]
    assert got.tasks[0].fork_tasks[0][0].name == workers.SHOUT
    assert metadata_api.get_task_def(workers.FLAKY).retry_count == 2


def test_workers_run_fork_switch_subworkflow_and_retry(workflow_api, handler):
    req = StartWorkflowRequest(name=PARENT, version=1, input={"word": "hey", "a": 2, "b": 3, "kind": "flaky"},
                               correlation_id="order-1")
    wid = workflow_api.start_workflow(body=req)
    wf = wait_status(workflow_api, wid, "COMPLETED", timeout=60)

    assert wf.output == {"loud": "HEY!", "sum": 5, "attempt": 2, "child": 105}
    assert wf.correlation_id == "order-1"
    by_ref = tasks_by_ref(wf)
    # A fork's instance is typed FORK, as Conductor's own executions show it.
    assert [t.task_type for t in by_ref["fan"]] == ["FORK"]
    join = by_ref["join_fan"][0]
    assert join.task_type == "JOIN" and join.status == "COMPLETED"
    # The worker task instances show their task's name as their type.
    assert by_ref["loud"][0].task_type == workers.SHOUT
    assert by_ref["loud"][0].worker_id
    assert by_ref["sum"][0].output_data == {"sum": 5}
    # The SWITCH took the "flaky" case and not the default one.
    assert "plain" not in by_ref
    assert by_ref["route"][0].status == "COMPLETED"
    # The flaky task failed once, with the worker's error, and its retry completed.
    first, second = by_ref["retried"]
    assert first.status == "FAILED"
    assert "first attempt fails on purpose" in (first.reason_for_incompletion or "")
    assert second.status == "COMPLETED"
    assert second.retry_count == 1
    assert second.retried_task_id == first.task_id
    assert second.output_data == {"attempt": 2, "seen": 5}
    # The sub-workflow ran as its own execution, linked to its parent.
    sub = by_ref["child"][0]
    assert sub.status == "COMPLETED" and sub.sub_workflow_id
    child = workflow_api.get_execution_status(sub.sub_workflow_id, include_tasks=True)
    assert child.status == "COMPLETED"
    assert child.parent_workflow_id == wid
    assert child.workflow_name == CHILD
    assert child.output == {"total": 105}


def test_switch_default_case(workflow_api, handler):
    wid = workflow_api.start_workflow1(body={"word": "x", "a": 1, "b": 1, "kind": "other"}, name=PARENT, version=1)
    wf = wait_status(workflow_api, wid, "COMPLETED", timeout=60)
    by_ref = tasks_by_ref(wf)
    assert "retried" not in by_ref
    assert by_ref["plain"][0].output_data == {"text": "DEFAULT!"}
    assert wf.output["child"] == 102


def test_execute_synchronously(workflow_api, handler):
    req = StartWorkflowRequest(name=PARENT, version=1, input={"word": "sync", "a": 10, "b": 20, "kind": "other"})
    request_id = str(uuid.uuid4())
    run = workflow_api.execute_workflow(body=req, request_id=request_id, name=PARENT, version=1,
                                        wait_for_seconds=30)
    assert run.status == "COMPLETED"
    assert run.request_id == request_id
    assert run.output["loud"] == "SYNC!"
    assert run.output["child"] == 130
    assert {t.reference_task_name for t in run.tasks} >= {"fan", "loud", "sum", "route", "plain", "child"}


def test_execute_through_workflow_builder(definitions, handler):
    """The builder's own synchronous run sends the definition inline."""
    run = definitions.execute(workflow_input={"word": "inline", "a": 1, "b": 2, "kind": "other"},
                              wait_for_seconds=30)
    assert run.status == "COMPLETED"
    assert run.output["loud"] == "INLINE!"
    assert run.output["sum"] == 3
