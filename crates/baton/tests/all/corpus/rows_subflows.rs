//! Rows for the corpus workflows built around SUB_WORKFLOW, START_WORKFLOW, TERMINATE and
//! failureWorkflow.
//!
//! Worker rules apply by reference name in the row's execution and in every child it
//! starts, so a rule for `t1` also reaches the `t1` of a child.

use serde_json::{Value, json};

use crate::corpus::common::*;

/// A file of the e2e metadata folder.
fn e2e(file: &str) -> String {
    format!("e2e/metadata/{file}")
}

/// The two-task leaf workflow of the test harness, started by name from the input.
const LEAF_FILE: &str = "test-harness/simple_workflow_1_integration_test.json";
/// The same leaf in the e2e metadata.
const E2E_LEAF_FILE: &str = "e2e/metadata/sub_workflow_tests.json";
/// The failure workflow of the test harness (one LAMBDA on `workflow.input.a`).
const FAILURE_FILE: &str = "test-harness/failure_workflow_for_terminate_task_workflow.json";

fn p12() -> Value {
    json!({"param1": "p1 value", "param2": "p2 value"})
}

/// `p12` plus more keys.
fn p12_with(extra: Value) -> Value {
    let mut v = p12();
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// The output of the leaf workflow when both its tasks complete.
fn leaf_out() -> Value {
    json!({"o1": "p1 value", "o2": "t2 uuid", "o3": "t1 op"})
}

/// The result of the corpus LAMBDAs on `lambdaValue`.
fn lambda_value(one: bool) -> Value {
    if one {
        json!({"result": {"testvalue": "Lambda value was 1", "iValue": 10}})
    } else {
        json!({"result": {"testvalue": "Lambda value was NOT 1", "iValue": 13}})
    }
}

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    vec![
        // ---- e2e/metadata ----
        row(&e2e("e2e_on_state_change_tests.json"), "e2e_on_state_change_tests")
            .label("child WAIT signalled: onStateChange has no effect, the child's output comes up")
            .signal("wait_ref", json!({"answer": 42}))
            .task("sub_workflow_ref", "COMPLETED")
            .check("/tasks/sub_workflow_ref/child/status", json!("COMPLETED"))
            .check("/tasks/sub_workflow_ref/child/output", json!({"answer": 42}))
            .check("/output/answer", json!(42))
            .same("/output/subWorkflowId", "/tasks/sub_workflow_ref/output/subWorkflowId"),
        row(&e2e("e2e_on_state_change_tests.json"), "e2e_on_state_change_tests")
            .label("child WAIT failed: the child fails, so do the task and the workflow")
            .signal_fail("wait_ref")
            .expect("FAILED")
            .task("sub_workflow_ref", "FAILED")
            .check("/tasks/sub_workflow_ref/child/status", json!("FAILED"))
            .check("/tasks/sub_workflow_ref/child/tasks/wait_ref/status", json!("FAILED"))
            // No outputParameters: a failed run's output is its last task's.
            .same("/output/subWorkflowId", "/tasks/sub_workflow_ref/output/subWorkflowId"),
        row(&e2e("signal_subworkflow.json"), "signal_subworkflow")
            .label("the child definition is not registered: the SUB_WORKFLOW fails, no child")
            .expect("FAILED")
            .task("sub_workflow_ref", "FAILED")
            .check("/tasks/sub_workflow_ref/input/subWorkflowName", json!("wait_signal_test"))
            // The failed run's output is its last task's: in Conductor that task never got
            // a subWorkflowId, there being no child.
            .check("/output", json!({})),
        row(&e2e("sub_workflow_tests.json"), "integration_test_wf")
            .label("CPEWF_TASK_ID and a null input kept")
            .input(p12())
            .check("/refs", json!(["t1", "t2"]))
            .same("/tasks/t1/input/p3", "/tasks/t1/taskId")
            .same("/tasks/t2/input/tp3", "/tasks/t2/taskId")
            .check("/tasks/t1/input/someNullKey", json!(null))
            .check("/tasks/t2/input/tp2", json!("t1 op"))
            .check("/output", leaf_out()),
        row(&e2e("sub_workflow_tests.json"), "integration_test_wf")
            .label("t2 fails; failureWorkflow named by $workflow.input.failureWfName starts")
            .input(p12_with(json!({"failureWfName": "failure_workflow", "a": 1})))
            .register(FAILURE_FILE, "failure_workflow")
            .on("t2", Do::Fail)
            .expect("FAILED")
            .task("t2", "FAILED")
            // A failed run's output is its outputParameters, evaluated at the end.
            .check("/output/o1", json!("p1 value"))
            .check("/output/o2", json!(null))
            .check("/output/o3", json!("t1 op"))
            .check("/failure/status", json!("COMPLETED"))
            .check("/failure/output", json!({"result": {"testvalue": true}}))
            .check("/failure/tasks/lambda0/input/input/failureStatus", json!("FAILED"))
            .check("/failure/tasks/lambda0/input/input/param1", json!("p1 value"))
            .same("/failure/tasks/lambda0/input/input/failureTaskId", "/tasks/t2/taskId"),
        row(&e2e("sub_workflow_tests.json"), "integration_test_wf")
            .label("t1 fails and the input names no failure workflow: none starts")
            .input(p12())
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("t1", "FAILED")
            .absent("t2")
            .check("/output", json!({"o1": "p1 value", "o2": null, "o3": null})),
        row(&e2e("sub_workflow_tests.json"), "integration_test_wf_with_sub_wf")
            .label("child named by the input runs and completes; its output comes up")
            .input(p12_with(json!({"subwf": "integration_test_wf"})))
            .register(E2E_LEAF_FILE, "integration_test_wf")
            .check("/refs", json!(["t1", "t2"]))
            .check("/tasks/t2/input/subWorkflowName", json!("integration_test_wf"))
            .check("/tasks/t2/child/status", json!("COMPLETED"))
            .check("/tasks/t2/child/tasks/t1/input/p1", json!("p1 value"))
            .check("/tasks/t2/child/output", leaf_out())
            .check("/output/o2", json!("t2 uuid"))
            .check("/output/o3", json!("t1 op"))
            .same("/output/subWorkflowId", "/tasks/t2/output/subWorkflowId"),
        row(&e2e("sub_workflow_tests.json"), "integration_test_wf_with_sub_wf")
            .label("the child waits forever: workflow timeout 5 s (TIME_OUT_WF), child terminated")
            .input(p12_with(json!({"subwf": "signal_sub_wf_child", "failureWfName": "failure_workflow"})))
            .register("test-harness/signal_sub_wf_child_integration_test.json", "signal_sub_wf_child")
            .register(FAILURE_FILE, "failure_workflow")
            .expect("TIMED_OUT")
            .task("t1", "COMPLETED")
            .task("t2", "CANCELED")
            .check("/tasks/t2/child/status", json!("TERMINATED"))
            .check("/tasks/t2/child/tasks/wait_in_sub_ref/status", json!("CANCELED"))
            .same("/output/subWorkflowId", "/tasks/t2/output/subWorkflowId")
            .check("/failure/status", json!("COMPLETED"))
            .check("/failure/tasks/lambda0/input/input/failureStatus", json!("TIMED_OUT"))
            .check("/failure/tasks/lambda0/input/input/failureTaskId", json!(null)),
        row(&e2e("sub_workflow_tests.json"), "integration_test_wf_with_sub_wf")
            .label("the child's t2 fails: the child, the task and the parent fail; parent's failure workflow")
            .input(p12_with(json!({"subwf": "integration_test_wf", "failureWfName": "failure_workflow"})))
            .register(E2E_LEAF_FILE, "integration_test_wf")
            .register(FAILURE_FILE, "failure_workflow")
            .on("t2", Do::Fail)
            .expect("FAILED")
            .task("t2", "FAILED")
            .check("/tasks/t2/child/status", json!("FAILED"))
            .check("/tasks/t2/child/output", json!({"o1": "p1 value", "o2": null, "o3": "t1 op"}))
            // The child's input carries no failureWfName: it starts no failure workflow.
            .check("/tasks/t2/child/failure", json!(null))
            .check("/output/o3", json!("t1 op"))
            .same("/output/subWorkflowId", "/tasks/t2/output/subWorkflowId")
            .check("/failure/status", json!("COMPLETED"))
            .same("/failure/tasks/lambda0/input/input/failureTaskId", "/tasks/t2/taskId"),
        row(&e2e("sync_workflows.json"), "sync_workflow_end_with_subworkflow_task")
            .label("child by name only (latest version)")
            .task("http_sync", "COMPLETED")
            .check("/tasks/http_sync/child/output", out("simple_task_in8x5_ref"))
            .check("/output/op", json!("simple_task_in8x5_ref op"))
            .same("/output/subWorkflowId", "/tasks/http_sync/output/subWorkflowId"),
        row(&e2e("sync_workflows.json"), "sync_workflow_end_with_subworkflow_task")
            .label("the child's task fails")
            .on("simple_task_in8x5_ref", Do::Fail)
            .expect("FAILED")
            .task("http_sync", "FAILED")
            .check("/tasks/http_sync/child/status", json!("FAILED"))
            .check("/tasks/http_sync/child/output", json!({}))
            .same("/output/subWorkflowId", "/tasks/http_sync/output/subWorkflowId"),
        row(&e2e("workflow_rate_limit_in_progress_cleanup.json"), "workflow_rate_limit_in_progress_parent")
            .label("WAIT, then three children with a WAIT each; a JOIN with no joinOn")
            .signal("wait_ref", json!({"ok": true}))
            .task("wait_ref", "COMPLETED")
            .task("sub_workflow_ref", "COMPLETED")
            .task("sub_workflow_ref_1", "COMPLETED")
            .task("sub_workflow_ref_2", "COMPLETED")
            .check("/tasks/sub_workflow_ref_1/child/output", json!({"ok": true}))
            .check("/tasks/sub_workflow_ref_2/output/ok", json!(true))
            .check("/tasks/join_ref/status", json!("COMPLETED"))
            .check("/tasks/join_ref/output", json!({}))
            .check("/output", json!({})),
        // ---- test-harness ----
        row(&th("fork_join_sub_workflow.json"), "integration_test_fork_join_sw")
            .label("a sub-workflow branch and a task branch")
            .input(p12())
            .check("/tasks/t2/input", json!({"p1": "p1 value", "p2": "p2 value"}))
            .check("/tasks/st1/child/status", json!("COMPLETED"))
            .check("/output/t2", out("t2"))
            .check("/output/st1/op", json!("t1 op"))
            .same("/output/st1/subWorkflowId", "/tasks/st1/output/subWorkflowId"),
        row(&th("fork_join_sub_workflow.json"), "integration_test_fork_join_sw")
            .label("the child fails: the workflow fails")
            .input(p12())
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("st1", "FAILED")
            .check("/tasks/st1/child/status", json!("FAILED")),
        row(&th("fork_join_with_optional_sub_workflow_forks_integration_test.json"), "integration_test_fork_join_optional_sw")
            .label("both optional children complete")
            .check("/tasks/fanouttask_join/status", json!("COMPLETED"))
            .check("/output/st1/op", json!("t1 op"))
            .check("/output/st2/uuid", json!("t1 uuid"))
            .same("/output/st2/subWorkflowId", "/tasks/st2/output/subWorkflowId"),
        row(&th("fork_join_with_optional_sub_workflow_forks_integration_test.json"), "integration_test_fork_join_optional_sw")
            .label("both optional children fail: COMPLETED_WITH_ERRORS, the workflow completes")
            .on("t1", Do::Fail)
            .task("st1", "COMPLETED_WITH_ERRORS")
            .task("st2", "COMPLETED_WITH_ERRORS")
            .check("/tasks/st1/child/status", json!("FAILED"))
            .task("fanouttask_join", "COMPLETED_WITH_ERRORS")
            .same("/output/st1/subWorkflowId", "/tasks/st1/output/subWorkflowId")
            .same("/output/st2/subWorkflowId", "/tasks/st2/output/subWorkflowId"),
        row(&th("fork_join_with_permissive_sub_workflow_forks_integration_test.json"), "integration_test_fork_join_permissive_sw")
            .label("both permissive children complete")
            .check("/tasks/fanouttask_join/status", json!("COMPLETED"))
            .check("/output/st1/op", json!("t1 op"))
            .check("/output/st2/op", json!("t1 op")),
        row(&th("fork_join_with_permissive_sub_workflow_forks_integration_test.json"), "integration_test_fork_join_permissive_sw")
            .label("both permissive children fail: both end, then the JOIN and the workflow fail")
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("st1", "FAILED")
            .task("st2", "FAILED")
            .check("/tasks/st2/child/status", json!("FAILED"))
            .task("fanouttask_join", "FAILED"),
        row(&th("hierarchical_fork_join_swf.json"), "hierarchical_fork_join_swf")
            .label("three levels: the root starts itself, which starts the leaf named by nextSubwf")
            .input(p12_with(json!({"subwf": "hierarchical_fork_join_swf", "nextSubwf": "integration_test_wf"})))
            .register(LEAF_FILE, "integration_test_wf")
            .check("/tasks/st1/input/subWorkflowName", json!("hierarchical_fork_join_swf"))
            .check("/tasks/st1/child/tasks/st1/input/subWorkflowName", json!("integration_test_wf"))
            .check("/tasks/st1/child/tasks/st1/child/status", json!("COMPLETED"))
            .check("/tasks/st1/child/tasks/st1/child/tasks/t1/input/p1", json!("p1 value"))
            .check("/tasks/st1/child/tasks/st1/child/output", leaf_out())
            .check("/output/t2", out("t2"))
            .check("/output/st1/t2", out("t2"))
            .check("/output/st1/st1/o3", json!("t1 op"))
            .same("/output/st1/subWorkflowId", "/tasks/st1/output/subWorkflowId")
            .same("/output/st1/st1/subWorkflowId", "/tasks/st1/child/tasks/st1/output/subWorkflowId"),
        row(&th("hierarchical_fork_join_swf.json"), "hierarchical_fork_join_swf")
            .label("the leaf fails: the middle level and the root fail")
            .input(p12_with(json!({"subwf": "hierarchical_fork_join_swf", "nextSubwf": "integration_test_wf"})))
            .register(LEAF_FILE, "integration_test_wf")
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("st1", "FAILED")
            .check("/tasks/st1/child/status", json!("FAILED"))
            .check("/tasks/st1/child/tasks/st1/status", json!("FAILED"))
            .check("/tasks/st1/child/tasks/st1/child/status", json!("FAILED"))
            .check("/tasks/st1/child/tasks/st1/child/output", json!({"o1": "p1 value", "o2": null, "o3": null})),
        row(&th("nested_fork_join_swf.json"), "nested_fork_join_swf")
            .label("a sub-workflow in a fork inside a fork")
            .input(p12_with(json!({"subwf": "integration_test_wf"})))
            .register(LEAF_FILE, "integration_test_wf")
            .check("/tasks/st1/child/status", json!("COMPLETED"))
            .check("/tasks/st1/child/tasks/t1/input/p2", json!("p2 value"))
            .check("/output/t3", out("t3"))
            .check("/output/inner_join/t2", out("t2"))
            .check("/output/inner_join/st1/o1", json!("p1 value"))
            .same("/output/inner_join/st1/subWorkflowId", "/tasks/st1/output/subWorkflowId"),
        row(&th("nested_fork_join_swf.json"), "nested_fork_join_swf")
            .label("the child fails: the workflow fails")
            .input(p12_with(json!({"subwf": "integration_test_wf"})))
            .register(LEAF_FILE, "integration_test_wf")
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("st1", "FAILED"),
        row(&th("nested_fork_join_with_sub_workflow_integration_test.json"), "FanInOutNestedSubWorkflowTest")
            .label("case a; the child has no input parameters")
            .input(json!({"param1": "x", "param2": "y", "case": "a"}))
            .check("/tasks/t16/input", json!({"p1": "x", "p2": "y", "case": "a"}))
            .absent("t17")
            .check("/tasks/sw1/child/status", json!("COMPLETED"))
            .check("/tasks/sw1/child/output", json!({"o1": null, "o2": "t2 uuid", "o3": "t1 op"}))
            .check("/tasks/join2/output", json!({"t14": out("t14"), "t20": out("t20")}))
            .check("/tasks/join1/output/t11", out("t11"))
            .check("/tasks/join1/output/sw1/o3", json!("t1 op"))
            .check("/tasks/t15/input", json!({"p1": "x", "p2": "y", "case": "a"}))
            .check("/output", out("t15")),
        row(&th("nested_fork_join_with_sub_workflow_integration_test.json"), "FanInOutNestedSubWorkflowTest")
            .label("the child fails: the workflow fails and t15 never runs")
            .input(json!({"param1": "x", "param2": "y", "case": "a"}))
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("sw1", "FAILED")
            .absent("t15"),
        row(&th("signal_sub_wf_parent_integration_test.json"), "signal_sub_wf_parent")
            .label("the child's WAIT is signalled")
            .signal("wait_in_sub_ref", json!({"k": "v"}))
            .check("/tasks/sub_wf_ref/child/tasks/wait_in_sub_ref/output", json!({"k": "v"}))
            .check("/output/k", json!("v"))
            .same("/output/subWorkflowId", "/tasks/sub_wf_ref/output/subWorkflowId"),
        row(&th("signal_sub_wf_parent_integration_test.json"), "signal_sub_wf_parent")
            .label("the child's WAIT is failed")
            .signal_fail("wait_in_sub_ref")
            .expect("FAILED")
            .task("sub_wf_ref", "FAILED")
            .check("/tasks/sub_wf_ref/child/status", json!("FAILED")),
        row(&th("simple_workflow_1_input_template_integration_test.json"), "integration_test_template_wf")
            .label("inputTemplate fills every absent input")
            .check("/tasks/t1/input/p1", json!({"nested_object": {"nested_key": "nested_value"}}))
            .check("/tasks/t1/input/p2", json!(["list", "of", "strings"]))
            .same("/tasks/t1/input/p3", "/tasks/t1/taskId")
            .check(
                "/output",
                json!({"output": "t1 op", "param1": {"nested_object": {"nested_key": "nested_value"}},
                       "param2": ["list", "of", "strings"], "param3": "string"}),
            ),
        row(&th("simple_workflow_1_input_template_integration_test.json"), "integration_test_template_wf")
            .label("given inputs win over the template; a null one is filled")
            .input(json!({"param1": "given", "param3": null, "param4": 4}))
            .check("/tasks/t1/input/p1", json!("given"))
            .check(
                "/output",
                json!({"output": "t1 op", "param1": "given", "param2": ["list", "of", "strings"],
                       "param3": "string"}),
            ),
        row(&th("simple_workflow_1_input_template_integration_test.json"), "integration_test_template_wf")
            .label("t1 fails: the failure workflow gets the input with the template applied")
            .input(json!({"failureWfName": "failure_workflow"}))
            .register(FAILURE_FILE, "failure_workflow")
            .on("t1", Do::Fail)
            .expect("FAILED")
            .check("/output/output", json!(null))
            .check("/output/param3", json!("string"))
            .check("/failure/status", json!("COMPLETED"))
            .check("/failure/tasks/lambda0/input/input/param2", json!(["list", "of", "strings"]))
            .same("/failure/tasks/lambda0/input/input/failureTaskId", "/tasks/t1/taskId"),
        row(&th("simple_workflow_1_integration_test.json"), "integration_test_wf")
            .label("both tasks complete")
            .input(p12())
            .check("/tasks/t1/input/p1", json!("p1 value"))
            .same("/tasks/t1/input/p3", "/tasks/t1/taskId")
            .check("/output", leaf_out()),
        row(&th("simple_workflow_1_integration_test.json"), "integration_test_wf")
            .label("t1 fails once and is retried: the retry's CPEWF_TASK_ID is its own id")
            .input(p12())
            .task_def(json!({"name": "integration_task_1", "retryCount": 1, "retryDelaySeconds": 0,
                             "responseTimeoutSeconds": 60}))
            .on("t1", Do::FailTimes(1))
            .check("/tasks/t1/instances", json!(2))
            .check("/tasks/t1/retryCount", json!(1))
            .same("/tasks/t1/input/p3", "/tasks/t1/taskId")
            .check("/output", leaf_out()),
        row(&th("simple_workflow_1_integration_test.json"), "integration_test_wf")
            .label("t1 fails for good: failure workflow from the input")
            .input(p12_with(json!({"failureWfName": "failure_workflow"})))
            .register(FAILURE_FILE, "failure_workflow")
            .on("t1", Do::FailTerminal)
            .expect("FAILED")
            .task("t1", "FAILED_WITH_TERMINAL_ERROR")
            .absent("t2")
            .check("/output/o1", json!("p1 value"))
            .check("/output/o3", json!(null))
            .check("/failure/status", json!("COMPLETED"))
            .check("/failure/output", json!({"result": {"testvalue": false}})),
        row(&th("simple_workflow_with_resp_time_out_integration_test.json"), "RTOWF")
            .label("the worker takes t1 and never answers: response timeout, then a retry completes")
            .input(p12())
            .task_def(json!({"name": "task_rt", "retryCount": 1, "retryDelaySeconds": 0,
                             "responseTimeoutSeconds": 2}))
            .on("t1", Do::StallTimes(1))
            .check("/tasks/t1/instances", json!(2))
            .check("/tasks/t1/retryCount", json!(1))
            .check("/tasks/t2/input", json!({"tp1": "p1 value", "tp2": "t1 op"}))
            .check("/output", leaf_out()),
        row(&th("simple_workflow_with_resp_time_out_integration_test.json"), "RTOWF")
            .label("no retry left after the response timeout: TIMED_OUT, failure workflow")
            .input(p12_with(json!({"failureWfName": "failure_workflow"})))
            .register(FAILURE_FILE, "failure_workflow")
            .task_def(json!({"name": "task_rt", "retryCount": 0, "responseTimeoutSeconds": 2}))
            .on("t1", Do::StallTimes(9))
            .expect("TIMED_OUT")
            .task("t1", "TIMED_OUT")
            .absent("t2")
            .check("/output/o1", json!("p1 value"))
            .check("/output/o3", json!(null))
            .check("/failure/tasks/lambda0/input/input/failureStatus", json!("TIMED_OUT"))
            .same("/failure/tasks/lambda0/input/input/failureTaskId", "/tasks/t1/taskId"),
        row(&th("simple_workflow_with_sub_workflow_inline_def_integration_test.json"), "WorkflowWithInlineSubWorkflow")
            .label("an inline child definition; its worker task is served too")
            .input(p12())
            .serve("integration_task_3")
            .on("t1", Do::Complete(json!({"op": "t1 op", "imageType": "png"})))
            .check("/refs", json!(["t1", "swt", "t2"]))
            .check("/tasks/t1/input", json!({"tp11": "p1 value", "tp12": "p2 value"}))
            .check("/tasks/swt/child/tasks/t3/input", json!({"p1": "png"}))
            .check("/tasks/swt/child/output", json!({"op": "t3 op"}))
            .check("/tasks/swt/output/op", json!("t3 op"))
            .check("/tasks/t2/input", json!({"op": "t1 op"}))
            .check("/output", json!({"o3": "t1 op"})),
        row(&th("terminate_task_completed_workflow_integration_test.json"), "test_terminate_task_wf")
            .label("TERMINATE COMPLETED: its output, not outputParameters; t2 never runs")
            .input(json!({"a": 1}))
            .register(FAILURE_FILE, "failure_workflow")
            .check("/refs", json!(["lambda0", "terminate0"]))
            .check("/tasks/lambda0/output", json!({"result": {"testvalue": true}}))
            .check("/output", json!({"result": {"testvalue": true}}))
            .text("/reason", "Workflow is COMPLETED by TERMINATE task: {}", "/tasks/terminate0/taskId")
            .check("/failure", json!(null)),
        row(&th("terminate_task_completed_workflow_integration_test.json"), "test_terminate_task_wf")
            .label("the other LAMBDA result")
            .input(json!({"a": 2}))
            .check("/output", json!({"result": {"testvalue": false}})),
        row(&th("terminate_task_failed_workflow_integration.json"), "test_terminate_task_failed_wf")
            .label("TERMINATE FAILED with a reason: failure workflow gets the reason and the task")
            .input(json!({"a": 1}))
            .expect("FAILED")
            .check("/reason", json!("Early exit in terminate"))
            .absent("t2")
            .check("/output/result", json!({"testvalue": true}))
            .check("/failure/status", json!("COMPLETED"))
            .check("/failure/output", json!({"result": {"testvalue": true}}))
            .check("/failure/tasks/lambda0/input/input/reason", json!("Early exit in terminate"))
            .check("/failure/tasks/lambda0/input/input/failureStatus", json!("FAILED"))
            .same("/failure/tasks/lambda0/input/input/failureTaskId", "/tasks/terminate0/taskId"),
        row(&th("terminate_task_parent_workflow.json"), "test_terminate_task_parent_wf")
            .label("TERMINATE COMPLETED in one branch while the other's child still runs: child terminated")
            .input(json!({"lambdaValue": 1}))
            .no_worker()
            .signal("basicJavaA", json!({}))
            .check("/tasks/lambdaTask1/output", lambda_value(true))
            .check("/tasks/lambdaTask2/output", lambda_value(true))
            .task("basicJavaA", "COMPLETED")
            .task("terminate0", "COMPLETED")
            .absent("basicJavaB")
            .task("thejoin", "CANCELED")
            .task("test_terminate_subworkflow", "CANCELED")
            .check("/tasks/test_terminate_subworkflow/child/status", json!("TERMINATED"))
            .check("/tasks/test_terminate_subworkflow/child/tasks/t3/status", json!("CANCELED"))
            .check("/output", json!({"output": "some output"}))
            .text("/reason", "Workflow is COMPLETED by TERMINATE task: {}", "/tasks/terminate0/taskId"),
        row(&th("test_task_failed_parent_workflow.json"), "test_task_failed_parent_wf")
            .label("the child ends FAILED by TERMINATE: the parent fails and starts its failure workflow")
            .input(json!({"lambdaValue": 2, "a": 1}))
            .expect("FAILED")
            .check("/tasks/lambdaTask1/output", lambda_value(false))
            .task("test_task_failed_sub_wf", "FAILED")
            .absent("lambdaTask2")
            .check("/tasks/test_task_failed_sub_wf/child/status", json!("FAILED"))
            .check("/tasks/test_task_failed_sub_wf/child/output", json!({"result": {"testvalue": false}}))
            .check("/tasks/test_task_failed_sub_wf/child/tasks/t2", json!(null))
            .text(
                "/tasks/test_task_failed_sub_wf/child/reason",
                "Workflow is FAILED by TERMINATE task: {}",
                "/tasks/test_task_failed_sub_wf/child/tasks/terminate0/taskId",
            )
            .check("/output/result", json!({"testvalue": false}))
            .check("/failure/status", json!("COMPLETED"))
            .check("/failure/output", json!({"result": {"testvalue": true}}))
            .same("/failure/tasks/lambda0/input/input/failureTaskId", "/tasks/test_task_failed_sub_wf/taskId"),
        row(&th("workflow_that_starts_another_workflow.json"), "workflow_that_starts_another_workflow")
            .label("START_WORKFLOW from the input: completes at once with the new id")
            .input(json!({"startWorkflow": {"name": "integration_test_wf", "version": 1,
                                            "input": {"param1": "p1 value", "param2": "p2 value"}}}))
            .register(LEAF_FILE, "integration_test_wf")
            .task("st", "COMPLETED")
            .check("/tasks/st/child/status", json!("COMPLETED"))
            .check("/tasks/st/child/output", leaf_out())
            .same("/output/workflowId", "/tasks/st/output/workflowId"),
        row(&th("workflow_that_starts_another_workflow.json"), "workflow_that_starts_another_workflow")
            .label("no startWorkflow in the input: the task fails")
            .expect("FAILED")
            .task("st", "FAILED")
            .check("/output", json!({})),
        row(&th("workflow_that_starts_another_workflow.json"), "workflow_that_starts_another_workflow")
            .label("startWorkflow names an unknown workflow: the task fails")
            .input(json!({"startWorkflow": {"name": "no_such_workflow_anywhere"}}))
            .expect("FAILED")
            .task("st", "FAILED"),
        row(&th("workflow_with_sub_workflow_1_integration_test.json"), "integration_test_wf_with_sub_wf")
            .label("child named by the input")
            .input(p12_with(json!({"subwf": "integration_test_wf"})))
            .register(LEAF_FILE, "integration_test_wf")
            .check("/tasks/t1/input", json!({"p1": "p1 value", "p2": "p2 value", "someNullKey": null}))
            .check("/tasks/t2/child/tasks/t2/input/tp1", json!("p1 value"))
            .check("/tasks/t2/child/output", leaf_out())
            .check("/output/o1", json!("p1 value"))
            .same("/output/subWorkflowId", "/tasks/t2/output/subWorkflowId"),
        row(&th("workflow_with_sub_workflow_1_integration_test.json"), "integration_test_wf_with_sub_wf")
            .label("the child names an unknown workflow: the task and the workflow fail")
            .input(p12_with(json!({"subwf": "no_such_workflow_anywhere", "failureWfName": "failure_workflow"})))
            .register(FAILURE_FILE, "failure_workflow")
            .expect("FAILED")
            .task("t1", "COMPLETED")
            .task("t2", "FAILED")
            .check("/failure/status", json!("COMPLETED"))
            .check("/tasks/t2/output", json!({})),
    ]
}
