"""Definitions, starts, reads and every operator command, driven through conductor-python's
HTTP API classes. The workflow here waits for a signal (a WAIT task) and then for a worker
task that the test itself polls and reports, so each step is in the test's hands."""

import pytest

from conductor.client.http.models.rerun_workflow_request import RerunWorkflowRequest
from conductor.client.http.models.start_workflow_request import IdempotencyStrategy, StartWorkflowRequest
from conductor.client.http.models.task_def import TaskDef
from conductor.client.http.models.task_result import TaskResult
from conductor.client.http.models.task_result_status import TaskResultStatus
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException

from conftest import tasks_by_ref, unique, wait_for, wait_status

FLOW = "py_manual_flow"
MANUAL = "py_manual"
QUICK = "py_quick"


def manual_flow_def(version=1, description="waits for approval, then for a worker"):
    return WorkflowDef(
        name=FLOW, version=version, description=description, schema_version=2,
        timeout_seconds=0, owner_email="tests@example.com",
        tasks=[
            WorkflowTask(name="approval", task_reference_name="approval", type="WAIT"),
            WorkflowTask(name=MANUAL, task_reference_name="manual", type="SIMPLE",
                         input_parameters={"approved": "${approval.output.approved}",
                                           "who": "${workflow.input.who}"}),
        ],
        output_parameters={"approved": "${approval.output.approved}",
                           "result": "${manual.output.result}"},
    )


@pytest.fixture(scope="module")
def defs(metadata_api):
    metadata_api.register_task_def(body=[TaskDef(name=MANUAL, retry_count=0, response_timeout_seconds=60,
                                                 timeout_seconds=0)])
    metadata_api.create(body=manual_flow_def(), overwrite=True)
    metadata_api.create(body=WorkflowDef(
        name=QUICK, version=1, schema_version=2, timeout_seconds=0,
        tasks=[WorkflowTask(name="double", task_reference_name="double", type="INLINE",
                            input_parameters={"evaluatorType": "javascript",
                                              "expression": "$.x * 2",
                                              "x": "${workflow.input.x}"})],
        output_parameters={"doubled": "${double.output.result}"},
    ), overwrite=True)


def start(workflow_api, **input):
    return workflow_api.start_workflow(body=StartWorkflowRequest(name=FLOW, version=1, input=input))


def wait_task(workflow_api, wid, ref, status):
    """Waits until the latest instance of `ref` has `status`; returns it."""
    def check():
        wf = workflow_api.get_execution_status(wid, include_tasks=True)
        got = tasks_by_ref(wf).get(ref)
        return got[-1] if got and got[-1].status == status else None
    return wait_for(f"{ref} of {wid} to be {status}", check)


def poll_one(task_api, wid, worker="tester"):
    """Polls py_manual until the task of execution `wid` comes; returns it."""
    def check():
        got = task_api.batch_poll(MANUAL, workerid=worker, count=1, timeout=200)
        for t in got or []:
            if t.workflow_instance_id == wid:
                return t
            pytest.fail(f"polled a task of another execution: {t.workflow_instance_id}")
        return None
    return wait_for(f"a {MANUAL} task of {wid}", check)


def report(task_api, task, status, output=None, reason=None):
    return task_api.update_task(body=TaskResult(
        workflow_instance_id=task.workflow_instance_id, task_id=task.task_id,
        status=status, output_data=output or {}, reason_for_incompletion=reason, worker_id="tester"))


def approve_and_finish(workflow_api, task_api, wid, result="done"):
    wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
    task_api.update_task1(body={"approved": True}, workflow_id=wid, task_ref_name="approval",
                          status="COMPLETED")
    t = poll_one(task_api, wid)
    report(task_api, t, TaskResultStatus.COMPLETED, {"result": result})
    return wait_status(workflow_api, wid, "COMPLETED")


def test_task_definitions(metadata_api, defs):
    td = metadata_api.get_task_def(MANUAL)
    assert td.name == MANUAL and td.retry_count == 0 and td.response_timeout_seconds == 60
    td.description = "polled by the tests"
    metadata_api.update_task_def(body=td)
    assert metadata_api.get_task_def(MANUAL).description == "polled by the tests"
    assert MANUAL in [d.name for d in metadata_api.get_task_defs()]

    scratch = unique("py_scratch")
    with pytest.raises(ApiException) as e:
        metadata_api.update_task_def(body=TaskDef(name=scratch))
    assert e.value.status == 404
    metadata_api.register_task_def(body=[TaskDef(name=scratch)])
    assert metadata_api.get_task_def(scratch).name == scratch
    metadata_api.unregister_task_def(scratch)
    with pytest.raises(ApiException) as e:
        metadata_api.get_task_def(scratch)
    assert e.value.status == 404


def test_workflow_definitions(metadata_api, defs):
    got = metadata_api.get(FLOW)
    assert got.version == 1
    assert [t.task_reference_name for t in got.tasks] == ["approval", "manual"]
    assert got.output_parameters["result"] == "${manual.output.result}"

    # Registering an existing version again is refused unless asked to overwrite.
    with pytest.raises(ApiException) as e:
        metadata_api.create(body=manual_flow_def())
    assert e.value.status == 409
    metadata_api.create(body=manual_flow_def(description="overwritten"), overwrite=True)
    assert metadata_api.get(FLOW, version=1).description == "overwritten"

    # PUT stores a list; a second version becomes the latest; a version can be deleted.
    metadata_api.update1(body=[manual_flow_def(version=2)])
    assert metadata_api.get(FLOW).version == 2
    assert {(d.name, d.version) for d in metadata_api.get_all_workflows()} >= {(FLOW, 1), (FLOW, 2), (QUICK, 1)}
    metadata_api.unregister_workflow_def(FLOW, 2)
    assert metadata_api.get(FLOW).version == 1
    with pytest.raises(ApiException) as e:
        metadata_api.get(FLOW, version=2)
    assert e.value.status == 404

    # An invalid definition is refused with 400.
    with pytest.raises(ApiException) as e:
        metadata_api.create(body=WorkflowDef(name=unique("py_bad"), version=1, tasks=[
            WorkflowTask(name="x", task_reference_name="x", type="SIMPLE"),
            WorkflowTask(name="x", task_reference_name="x", type="SIMPLE")]))
    assert e.value.status == 400


def test_start_by_name_with_correlation_id_and_priority(workflow_api, defs):
    cid = unique("corr")
    wid = workflow_api.start_workflow1(body={"who": "ada"}, name=FLOW, version=1, correlation_id=cid, priority=7)
    wf = workflow_api.get_execution_status(wid, include_tasks=False)
    assert wf.workflow_id == wid and wf.workflow_name == FLOW and wf.workflow_version == 1
    assert wf.status == "RUNNING"
    assert wf.correlation_id == cid and wf.priority == 7 and wf.input == {"who": "ada"}
    found = workflow_api.get_workflows2(FLOW, cid, include_closed=True, include_tasks=False)
    assert [w.workflow_id for w in found] == [wid]
    assert wid in workflow_api.get_running_workflow(FLOW, version=1)
    workflow_api.terminate(wid, reason="done with it")


def test_start_request_with_idempotency_key(workflow_api, defs):
    key = unique("idem")
    req = StartWorkflowRequest(name=FLOW, version=1, input={"who": "grace"}, correlation_id="c-1", priority=3,
                               idempotency_key=key, idempotency_strategy=IdempotencyStrategy.RETURN_EXISTING)
    first = workflow_api.start_workflow(body=req)
    again = workflow_api.start_workflow(body=req)
    assert again == first
    wf = workflow_api.get_execution_status(first, include_tasks=False)
    assert wf.priority == 3 and wf.correlation_id == "c-1" and wf.idempotency_key == key
    req.idempotency_strategy = IdempotencyStrategy.FAIL
    with pytest.raises(ApiException) as e:
        workflow_api.start_workflow(body=req)
    assert e.value.status == 409
    # An unknown definition is 404.
    with pytest.raises(ApiException) as e:
        workflow_api.start_workflow(body=StartWorkflowRequest(name=unique("py_missing")))
    assert e.value.status == 404
    workflow_api.terminate(first)


def test_read_with_and_without_tasks(workflow_api, defs):
    wid = start(workflow_api, who="linus")
    wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
    full = workflow_api.get_execution_status(wid, include_tasks=True)
    assert [t.reference_task_name for t in full.tasks] == ["approval"]
    assert full.tasks[0].task_type == "WAIT" and full.tasks[0].workflow_instance_id == wid
    assert full.workflow_definition is not None
    bare = workflow_api.get_execution_status(wid, include_tasks=False)
    assert bare.tasks == [] and bare.status == "RUNNING"
    with pytest.raises(ApiException) as e:
        workflow_api.get_execution_status(unique("missing"))
    assert e.value.status == 404
    workflow_api.terminate(wid)


def test_pause_resume_signal_poll_log_and_complete(workflow_api, task_api, defs):
    wid = start(workflow_api, who="ada")
    wait_task(workflow_api, wid, "approval", "IN_PROGRESS")

    workflow_api.pause_workflow(wid)
    assert workflow_api.get_execution_status(wid, include_tasks=False).status == "PAUSED"
    with pytest.raises(ApiException) as e:
        workflow_api.pause_workflow(wid)
    assert e.value.status == 409
    workflow_api.resume_workflow(wid)
    assert workflow_api.get_execution_status(wid, include_tasks=False).status == "RUNNING"

    # Complete the WAIT task by its reference name; the worker task comes next.
    tid = task_api.update_task1(body={"approved": True}, workflow_id=wid, task_ref_name="approval",
                                status="COMPLETED")
    approval = task_api.get_task(tid)
    assert approval.reference_task_name == "approval" and approval.status == "COMPLETED"
    assert approval.output_data == {"approved": True}
    wait_task(workflow_api, wid, "manual", "SCHEDULED")

    # The queue shows the task waiting until a worker takes it.
    wait_for("py_manual queued", lambda: task_api.size(task_type=[MANUAL]).get(MANUAL) == 1)
    assert task_api.all().get(MANUAL) == 1
    t = poll_one(task_api, wid, worker="poller-7")
    assert t.status == "IN_PROGRESS" and t.input_data == {"approved": True, "who": "ada"}
    assert task_api.size(task_type=[MANUAL]) == {MANUAL: 0}
    polls = task_api.get_poll_data(MANUAL)
    assert any(p.queue_name == MANUAL and p.worker_id == "poller-7" and p.last_poll_time > 0 for p in polls)
    assert any(p.queue_name == MANUAL for p in task_api.get_all_poll_data())

    # Task logs: add two lines, read them back in order.
    task_api.log(body="first line", task_id=t.task_id)
    task_api.log(body="second line", task_id=t.task_id)
    logs = task_api.get_task_logs(t.task_id)
    assert [l.log for l in logs] == ["first line", "second line"]
    assert all(l.task_id == t.task_id and l.created_time > 0 for l in logs)

    assert report(task_api, t, TaskResultStatus.COMPLETED, {"result": 42}) == t.task_id
    wf = wait_status(workflow_api, wid, "COMPLETED")
    assert wf.output == {"approved": True, "result": 42}
    assert [x.status for x in wf.tasks] == ["COMPLETED", "COMPLETED"]
    # Reporting again on an ended task is refused.
    with pytest.raises(ApiException) as e:
        report(task_api, t, TaskResultStatus.FAILED, reason="too late")
    assert e.value.status == 409


def test_update_by_reference_sync(workflow_api, task_api, defs):
    wid = start(workflow_api, who="sync")
    wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
    wf = task_api.update_task_sync(body={"approved": False}, workflow_id=wid, task_ref_name="approval",
                                   status="COMPLETED")
    assert wf.workflow_id == wid
    assert tasks_by_ref(wf)["approval"][0].status == "COMPLETED"
    workflow_api.terminate(wid)


def test_terminate_then_restart(workflow_api, task_api, defs):
    wid = start(workflow_api, who="t")
    wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
    workflow_api.terminate(wid, reason="operator stop")
    wf = workflow_api.get_execution_status(wid, include_tasks=True)
    assert wf.status == "TERMINATED"
    assert "operator stop" in wf.reason_for_incompletion
    assert wf.tasks[0].status == "CANCELED"
    with pytest.raises(ApiException) as e:
        workflow_api.terminate(wid)
    assert e.value.status == 409

    workflow_api.restart(wid)
    wf = wait_status(workflow_api, wid, "RUNNING")
    assert [t.reference_task_name for t in wf.tasks] == ["approval"]
    assert wf.tasks[0].status == "IN_PROGRESS"
    approve_and_finish(workflow_api, task_api, wid)


def test_retry_after_failure(workflow_api, task_api, defs):
    wid = start(workflow_api, who="r")
    wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
    task_api.update_task1(body={"approved": True}, workflow_id=wid, task_ref_name="approval", status="COMPLETED")
    t = poll_one(task_api, wid)
    report(task_api, t, TaskResultStatus.FAILED, reason="worker gave up")
    wf = wait_status(workflow_api, wid, "FAILED")
    assert "worker gave up" in wf.reason_for_incompletion
    assert set(wf.failed_reference_task_names) == {"manual"}

    workflow_api.retry(wid)
    wf = wait_status(workflow_api, wid, "RUNNING")
    manual = tasks_by_ref(wf)["manual"]
    assert [m.status for m in manual] == ["FAILED", "SCHEDULED"]
    assert tasks_by_ref(wf)["approval"][0].status == "COMPLETED"
    t2 = poll_one(task_api, wid)
    assert t2.task_id != t.task_id
    report(task_api, t2, TaskResultStatus.COMPLETED, {"result": "second time"})
    assert wait_status(workflow_api, wid, "COMPLETED").output["result"] == "second time"


def test_rerun_from_start_and_from_task(workflow_api, task_api, defs):
    wid = start(workflow_api, who="first")
    approve_and_finish(workflow_api, task_api, wid, result="one")

    # Rerun from a task: the tasks before it keep their outcome, it runs with new input.
    wf = workflow_api.get_execution_status(wid, include_tasks=True)
    manual = tasks_by_ref(wf)["manual"][-1]
    got = workflow_api.rerun(RerunWorkflowRequest(re_run_from_workflow_id=wid, re_run_from_task_id=manual.task_id,
                                                  task_input={"approved": "again", "who": "rerun"}), wid)
    assert got == wid
    t = poll_one(task_api, wid)
    assert t.input_data == {"approved": "again", "who": "rerun"}
    assert tasks_by_ref(workflow_api.get_execution_status(wid))["approval"][0].status == "COMPLETED"
    report(task_api, t, TaskResultStatus.COMPLETED, {"result": "two"})
    assert wait_status(workflow_api, wid, "COMPLETED").output["result"] == "two"

    # Rerun from the start with new workflow input.
    workflow_api.rerun(RerunWorkflowRequest(re_run_from_workflow_id=wid, workflow_input={"who": "second"}), wid)
    wf = wait_status(workflow_api, wid, "RUNNING")
    assert wf.input == {"who": "second"}
    wf = approve_and_finish(workflow_api, task_api, wid, result="three")
    assert tasks_by_ref(wf)["manual"][-1].input_data["who"] == "second"


def test_bulk_operations(api_client, workflow_api, bulk_api, task_api, defs):
    ids = [start(workflow_api, who=f"bulk{i}") for i in range(3)]
    for wid in ids:
        wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
    missing = unique("missing")

    def statuses():
        return [workflow_api.get_execution_status(w, include_tasks=False).status for w in ids]

    r = bulk_api.pause_workflow(ids + [missing])
    assert sorted(r.bulk_successful_results) == sorted(ids)
    assert list(r.bulk_error_results) == [missing]
    assert statuses() == ["PAUSED"] * 3

    r = bulk_api.resume_workflow(ids)
    assert sorted(r.bulk_successful_results) == sorted(ids) and not r.bulk_error_results
    assert statuses() == ["RUNNING"] * 3

    r = bulk_api.terminate(ids, reason="bulk stop")
    assert sorted(r.bulk_successful_results) == sorted(ids)
    assert statuses() == ["TERMINATED"] * 3

    r = bulk_api.restart(ids)
    assert sorted(r.bulk_successful_results) == sorted(ids)
    assert statuses() == ["RUNNING"] * 3

    # Fail each through its WAIT task, then retry them all.
    for wid in ids:
        wait_task(workflow_api, wid, "approval", "IN_PROGRESS")
        task_api.update_task1(body={}, workflow_id=wid, task_ref_name="approval", status="FAILED")
        wait_status(workflow_api, wid, "FAILED")
    r = bulk_api.retry(ids)
    assert sorted(r.bulk_successful_results) == sorted(ids)
    assert statuses() == ["RUNNING"] * 3
    for wid in ids:
        assert [t.status for t in tasks_by_ref(workflow_api.get_execution_status(wid))["approval"]] == \
            ["FAILED", "IN_PROGRESS"]

    # The client has no method for bulk removal; its generic call does the request.
    bulk_api.terminate(ids)
    r = api_client.call_api("/workflow/bulk/remove", "DELETE", body=ids,
                            header_params={"Content-Type": "application/json", "Accept": "application/json"},
                            response_type="BulkResponse", _return_http_data_only=True)
    assert sorted(r.bulk_successful_results) == sorted(ids)
    for wid in ids:
        with pytest.raises(ApiException) as e:
            workflow_api.get_execution_status(wid)
        assert e.value.status == 404


def test_remove_one(workflow_api, defs):
    wid = start(workflow_api, who="gone")
    workflow_api.terminate(wid)
    workflow_api.delete(wid)
    with pytest.raises(ApiException) as e:
        workflow_api.get_execution_status(wid)
    assert e.value.status == 404


def test_execute_synchronously_without_workers(workflow_api, defs):
    run = workflow_api.execute_workflow(body=StartWorkflowRequest(name=QUICK, input={"x": 21}),
                                        request_id="req-1", name=QUICK, version=0, wait_for_seconds=10)
    assert run.status == "COMPLETED" and run.output == {"doubled": 42} and run.request_id == "req-1"
    assert [t.task_type for t in run.tasks] == ["INLINE"]

    # A run that cannot finish is answered, still RUNNING, once the wait is over.
    run = workflow_api.execute_workflow(body=StartWorkflowRequest(name=FLOW, input={"who": "x"}),
                                        request_id="req-2", name=FLOW, version=1, wait_for_seconds=1)
    assert run.status == "RUNNING"
    assert [t.reference_task_name for t in run.tasks] == ["approval"]
    workflow_api.terminate(run.workflow_id)
