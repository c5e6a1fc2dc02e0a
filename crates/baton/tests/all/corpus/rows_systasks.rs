//! Rows for the corpus workflows built around WAIT, INLINE, LAMBDA, JSON_JQ_TRANSFORM and javascript evaluators.

use serde_json::{Value, json};

use crate::corpus::common::*;

/// What `.persons | map({user:{email,id}})` makes of the corpus's two persons.
fn users() -> Value {
    json!([
        {"user": {"email": "mail@mail.com", "id": 1}},
        {"user": {"email": "mail2@mail.com", "id": 2}}
    ])
}

/// A JSON_JQ_TRANSFORM output: the first result and the list of all of them.
fn jq_out(first: Value) -> Value {
    json!({"result": first.clone(), "resultList": [first]})
}

/// A SWITCH output for the case value it evaluated.
fn switch_out(case: &str) -> Value {
    json!({"evaluationResult": [case], "selectedCase": case})
}

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    let cond = "core/conditional_flow_with_switch.json";
    // The final SWITCH's input lacks the `$`: a literal value that matches no case.
    let final_literal = "{workflow.input.finalCase}";
    let mailbot = "e2e/metadata/cpewf_task_id_dyn_fork_wf.json";
    let dyn_fork = "e2e/metadata/dyn_fork_test.json";
    let on_change_sub = "e2e/metadata/e2e_on_state_change_tests_sub.json";
    let rerun = "e2e/metadata/switch_rerun_issue.json";
    let sync = "e2e/metadata/sync_workflows.json";
    vec![
        // ---- core ----
        row(cond, "ConditionalTaskWF")
            .label("value-param SWITCH, nested javascript SWITCH case one (two tasks)")
            .input(json!({"param1": "nested", "param2": "one"}))
            .check("/refs", json!(["conditional", "conditional2", "t1", "t3", "tf"]))
            .check("/tasks/conditional/output", switch_out("nested"))
            .check("/tasks/conditional2/output", switch_out("one"))
            .check("/tasks/t1/input", json!({"p1": "nested", "p2": "one"}))
            .check("/tasks/t3/input", json!({}))
            .check("/tasks/tf/output", switch_out(final_literal))
            // No case of the final SWITCH ran: it is the last task, its output the workflow's.
            .check("/output", switch_out(final_literal)),
        row(cond, "ConditionalTaskWF")
            .label("nested javascript SWITCH case two")
            .input(json!({"param1": "nested", "param2": "two"}))
            .check("/refs", json!(["conditional", "conditional2", "t2", "tf"]))
            .check("/tasks/conditional2/output", switch_out("two"))
            .check("/tasks/t2/input", json!({"tp1": "nested", "tp3": "two"})),
        row(cond, "ConditionalTaskWF")
            .label("the javascript SWITCH gives 'other': no such case and no default, passed")
            .input(json!({"param1": "nested", "param2": "zzz"}))
            .check("/refs", json!(["conditional", "conditional2", "tf"]))
            .check("/tasks/conditional2/output", switch_out("other"))
            .task("tf", "COMPLETED"),
        row(cond, "ConditionalTaskWF")
            .label("outer case three")
            .input(json!({"param1": "three", "param2": "two"}))
            .check("/refs", json!(["conditional", "t31", "tf"]))
            .check("/tasks/conditional/output", switch_out("three"))
            .check("/tasks/t31/input", json!({})),
        row(cond, "ConditionalTaskWF")
            .label("outer default case")
            .input(json!({"param1": "elsewhere", "param2": "two"}))
            .check("/refs", json!(["conditional", "t21", "tf"]))
            .check("/tasks/conditional/output", switch_out("elsewhere"))
            .check("/tasks/t21/input", json!({"tp1": "elsewhere", "tp3": "two"}))
            .check("/output", switch_out(final_literal)),
        // ---- e2e ----
        row("e2e/metadata/concurrency_check_wait30.json", "concurrency-check-workflow-wait")
            .label("WAIT of 30 seconds completes by itself; one run is within the workflow limit")
            .wait(45)
            .check("/tasks/wait_ref/input", json!({"duration": "30 seconds"}))
            .task("wait_ref", "COMPLETED")
            .check("/tasks/wait_ref/output", json!({}))
            .check("/output", json!({})),
        row(mailbot, "mailbot_workflow")
            .version(219)
            .label("INLINE builds the fork list; CPEWF_TASK_ID in a forked task is its own id")
            .serve("fail_on_purpose")
            .check("/tasks/inline_ref/output/result/0/inputParameters/task_id", json!("${CPEWF_TASK_ID}"))
            .check("/refs", json!(["inline_ref", "extracted_file_data_fork_ref", "fail_on_purpose_ref",
                                   "extracted_file_data_join_ref"]))
            .same("/tasks/fail_on_purpose_ref/input/task_id", "/tasks/fail_on_purpose_ref/taskId")
            // The JOIN's script `expression` is not Conductor's: it joins as any JOIN does.
            .check("/tasks/extracted_file_data_join_ref/output",
                   json!({"fail_on_purpose_ref": out("fail_on_purpose_ref")}))
            .check("/output", json!({"fail_on_purpose_ref": out("fail_on_purpose_ref")})),
        row(mailbot, "mailbot_workflow")
            .version(219)
            .label("the forked task fails with no retries: the workflow fails, the JOIN is cancelled")
            .serve("fail_on_purpose")
            .on("fail_on_purpose_ref", Do::Fail)
            .expect("FAILED")
            .task("fail_on_purpose_ref", "FAILED")
            .task("extracted_file_data_join_ref", "CANCELED"),
        row("e2e/metadata/do_while_keep_last_n_fix.json", "wait")
            .label("WAIT of one second")
            .task("wait_ref", "COMPLETED")
            .check("/tasks/wait_ref/input", json!({"duration": "1 seconds"}))
            .check("/output", json!({})),
        row(dyn_fork, "dyn_fork_test")
            .label("INLINE gives tasks and inputs for FORK_JOIN_DYNAMIC; all complete")
            .serve("simple_1")
            .serve("simple_2")
            .serve("simple_3")
            .check("/tasks/inline_ref/output/result/inputs", json!({"simple_1": {}, "simple_2": {}, "simple_3": {}}))
            .check("/tasks/inline_ref/output/result/tasks/2/taskReferenceName", json!("simple_3"))
            .check("/tasks/simple_2/input", json!({}))
            .check("/tasks/join_1/status", json!("COMPLETED"))
            .check(
                "/output",
                json!({"simple_1": out("simple_1"), "simple_2": out("simple_2"), "simple_3": out("simple_3")}),
            ),
        row(dyn_fork, "dyn_fork_test")
            .label("an optional forked task fails: COMPLETED_WITH_ERRORS, and so does the JOIN")
            .serve("simple_1")
            .serve("simple_2")
            .serve("simple_3")
            .on("simple_2", Do::Fail)
            .task("simple_2", "COMPLETED_WITH_ERRORS")
            .task("join_1", "COMPLETED_WITH_ERRORS")
            // A failed task with an empty output adds nothing to the JOIN's output.
            .check("/output", json!({"simple_1": out("simple_1"), "simple_3": out("simple_3")})),
        row(on_change_sub, "e2e_on_state_change_tests_sub")
            .label("WAIT without duration, completed by an update with output")
            .signal("wait_ref", json!({"approved": true}))
            .task("wait_ref", "COMPLETED")
            .check("/output", json!({"approved": true})),
        row(on_change_sub, "e2e_on_state_change_tests_sub")
            .label("WAIT failed by an update: no retry for it, the workflow fails")
            .signal_fail("wait_ref")
            .expect("FAILED")
            .task("wait_ref", "FAILED")
            .check("/tasks/wait_ref/instances", json!(1)),
        row("e2e/metadata/end_time_workflow.json", "end_time_issue_wf")
            .label("${ref.endTime} of a finished task, through INLINE and into later inputs")
            .same("/tasks/inline_ref/input/endTime", "/tasks/inline_ref/output/result")
            .same("/tasks/simple_2_ref/input/endTime", "/tasks/inline_ref/output/result")
            .same("/tasks/simple_ref_3/input/endTime", "/tasks/inline_ref/output/result")
            .check("/output", out("simple_ref_3")),
        row("e2e/metadata/onstate_fix_test.json", "task_state_change_event_test")
            .label("a task, a WAIT for an update, a WAIT of 3 seconds (onStateChange plays no part)")
            .signal("wait_ref", json!({"by": "update"}))
            .check("/refs", json!(["test_task_on_change", "wait_ref", "wait_ref_1"]))
            .check("/tasks/wait_ref/output", json!({"by": "update"}))
            .task("wait_ref_1", "COMPLETED")
            .check("/output", json!({})),
        row(rerun, "switch_rerun_issue")
            .version(2)
            .label("case yes: the case's INLINE returns the first INLINE's timestamp")
            .input(json!({"case": "yes"}))
            .check("/refs", json!(["inline_ref_1", "wait_ref", "switch_ref", "inline_ref_2"]))
            .check("/tasks/switch_ref/output", switch_out("yes"))
            .same("/tasks/inline_ref_2/output/result", "/tasks/inline_ref_1/output/result")
            .same("/output/result", "/tasks/inline_ref_1/output/result"),
        row(rerun, "switch_rerun_issue")
            .version(2)
            .label("no matching case and no default: the SWITCH ends the workflow")
            .input(json!({"case": "no"}))
            .check("/refs", json!(["inline_ref_1", "wait_ref", "switch_ref"]))
            .check("/output", switch_out("no")),
        row("e2e/metadata/sync_task_variable_updates.json", "sync_task_variable_updates")
            .label("no variables set: the SWITCH on a variable takes no case; jq ends the run")
            .signal("wait_task_ref", json!({}))
            .check("/tasks/inline_ref/output", json!({"result": 3}))
            .check("/tasks/switch_task_ref/output", switch_out("null"))
            .check("/refs", json!(["inline_ref", "wait_task_ref", "switch_task_ref", "json_transform_ref"]))
            .check("/variables", json!({}))
            .check("/output", jq_out(users())),
        row(sync, "sync_workflow_end_with_jq_task")
            .label("one JSON_JQ_TRANSFORM: map over a list")
            .check("/tasks/json_transform_task_10i8a_ref/output", jq_out(users()))
            .check("/output", jq_out(users())),
        row(sync, "sync_workflow_with_inline_wait_and_simple_task")
            .label("INLINE, WAIT of 5 seconds, a worker task")
            .check("/tasks/inline_ref/output", json!({"result": 3}))
            .task("wait_ref", "COMPLETED")
            .check("/output", out("simple_ref")),
        row("e2e/metadata/workflow_rate_limit_in_progress_cleanup.json", "workflow_rate_limit_in_progress_child")
            .label("WAIT without duration, completed by an update")
            .signal("wait_ref", json!({"released": "yes"}))
            .check("/output", json!({"released": "yes"})),
        // ---- test-harness ----
        row(&th("failure_workflow_for_terminate_task_workflow.json"), "failure_workflow")
            .label("LAMBDA: input a is 1")
            .input(json!({"a": 1}))
            .check("/tasks/lambda0/input/input", json!({"a": 1}))
            .check("/output", json!({"result": {"testvalue": true}})),
        row(&th("failure_workflow_for_terminate_task_workflow.json"), "failure_workflow")
            .label("LAMBDA: no input")
            .check("/output", json!({"result": {"testvalue": false}})),
        row(&th("sequential_json_jq_transform_integration_test.json"), "sequential_json_jq_transform_wf")
            .label("defaults from `//`, then the default request transform `.body`")
            .input(json!({"body": {"k": "v"}}))
            .check(
                "/tasks/default_variables/output/result",
                json!({"requestTransform": ".body", "responseTransform": ".response.body",
                       "method": "GET", "document": "rgt_results", "successExpression": "true"}),
            )
            .check("/tasks/request_transform/input/queryExpression", json!(".body"))
            .check("/output", jq_out(json!({"k": "v"}))),
        row(&th("sequential_json_jq_transform_integration_test.json"), "sequential_json_jq_transform_wf")
            .label("a query given in the input runs in the second task")
            .input(json!({
                "method": "POST",
                "body": {"name": "Beary Beariston", "title": "the Brown Bear"},
                "requestTransform": "{name: (.body.name + \" you are \" + .body.title) }",
                "responseTransform": "{result: \"reply: \" + .response.body.message}"
            }))
            .check("/tasks/default_variables/output/result/method", json!("POST"))
            .check(
                "/tasks/default_variables/output/result/responseTransform",
                json!("{result: \"reply: \" + .response.body.message}"),
            )
            .check("/output", jq_out(json!({"name": "Beary Beariston you are the Brown Bear"}))),
        row(&th("sequential_json_jq_transform_integration_test.json"), "sequential_json_jq_transform_wf")
            .label("a query that does not parse fails the task and the workflow")
            .input(json!({"body": {}, "requestTransform": ".body | {"}))
            .expect("FAILED")
            .task("default_variables", "COMPLETED")
            .task("request_transform", "FAILED"),
        row(&th("set_variable_workflow_integration_test.json"), "set_variable_workflow_integration_test")
            .label("SET_VARIABLE from the input, then a WAIT completed by an update")
            .input(json!({"var": "var_test_value"}))
            .on("simple", Do::Complete(json!({"ok1": "ov1"})))
            .signal("wait0", json!({}))
            .check("/refs", json!(["simple", "set_variable_1", "wait0"]))
            .check("/variables", json!({"var": "var_test_value"}))
            .check("/output", json!({"variables": {"var": "var_test_value"}})),
        row(&th("set_variable_workflow_integration_test.json"), "set_variable_workflow_integration_test")
            .label("the WAIT fails: the failed workflow's output is still worked out")
            .input(json!({"var": {"n": 1}}))
            .signal_fail("wait0")
            .expect("FAILED")
            .task("wait0", "FAILED")
            .check("/variables", json!({"var": {"n": 1}}))
            .check("/output", json!({"variables": {"var": {"n": 1}}})),
        row(&th("signal_sub_wf_child_integration_test.json"), "signal_sub_wf_child")
            .label("WAIT completed by an update")
            .signal("wait_in_sub_ref", json!({"signal": "received"}))
            .task("wait_in_sub_ref", "COMPLETED")
            .check("/output", json!({"signal": "received"})),
        row(&th("simple_json_jq_transform_integration_test.json"), "test_json_jq_transform_wf")
            .label("jq adds two arrays")
            .input(json!({"in1": {"array": ["a", "b"]}, "in2": {"array": ["c", "d"]}}))
            .check("/output", jq_out(json!({"out": ["a", "b", "c", "d"]}))),
        row(&th("simple_json_jq_transform_integration_test.json"), "test_json_jq_transform_wf")
            .label("missing arrays are null, and null + null is null")
            .check("/output", jq_out(json!({"out": null}))),
        row(&th("simple_json_jq_transform_integration_test.json"), "test_json_jq_transform_wf")
            .label("indexing a string fails the task and the workflow")
            .input(json!({"in1": "a", "in2": "b"}))
            .expect("FAILED")
            .task("jq_1", "FAILED"),
        row(&th("simple_lambda_workflow_integration_test.json"), "test_lambda_wf")
            .label("LAMBDA: a is 1")
            .input(json!({"a": 1}))
            .check("/tasks/lambda0/output", json!({"result": {"testvalue": true}}))
            .check("/output", json!({"result": {"testvalue": true}})),
        row(&th("simple_lambda_workflow_integration_test.json"), "test_lambda_wf")
            .label("LAMBDA: a is 2")
            .input(json!({"a": 2}))
            .check("/output", json!({"result": {"testvalue": false}})),
        row(&th("simple_wait_task_workflow_integration_test.json"), "test_wait_timeout")
            .label("without a task definition for the WAIT: it waits for an update")
            .signal("wait0", json!({}))
            .check("/refs", json!(["wait0", "t1"]))
            .task("wait0", "COMPLETED")
            .check("/output", out("t1")),
        row(&th("simple_wait_task_workflow_integration_test.json"), "test_wait_timeout")
            .label("the test harness's task definition for the WAIT: times out, retried once, times out")
            // Registered through `serve` (WAIT is never queued, so nobody polls for it).
            .serve("waitTimeout")
            .task_def(json!({"name": "waitTimeout", "timeoutSeconds": 2, "responseTimeoutSeconds": 2,
                             "retryCount": 1, "timeoutPolicy": "RETRY", "retryDelaySeconds": 10}))
            .wait(30)
            .expect("TIMED_OUT")
            .task("wait0", "TIMED_OUT")
            .check("/tasks/wait0/instances", json!(2))
            .check("/tasks/wait0/retryCount", json!(1))
            .absent("t1"),
        row(&th("terminate_task_terminated_status_test.json"), "test_terminate_task_terminated")
            .label("TERMINATE with status TERMINATED and a reason; the LAMBDA returns nothing")
            .expect("TERMINATED")
            .check("/reason", json!("Early exit with TERMINATED status"))
            // The script's function `e` is called but its value not returned from the
            // body LAMBDA wraps it in: the result is null.
            .check("/tasks/lambda0/output", json!({"result": null}))
            .task("terminate0", "COMPLETED")
            .check("/tasks/terminate0/output", json!({"result": null}))
            .absent("lambda1")
            .check("/output", json!({"result": null})),
        row(&th("test_task_failed_sub_workflow.json"), "test_task_failed_sub_wf")
            .label("TERMINATE FAILED without a reason, output from the LAMBDA")
            .input(json!({"a": 1}))
            .expect("FAILED")
            .text("/reason", "Workflow is FAILED by TERMINATE task: {}", "/tasks/terminate0/taskId")
            .task("terminate0", "COMPLETED")
            .absent("t2")
            .check("/output", json!({"result": {"testvalue": true}})),
        row(&th("wait_workflow_integration_test.json"), "test_wait_workflow")
            .label("WAIT completed by an update, then a worker task")
            .signal("wait0", json!({}))
            .check("/refs", json!(["wait0", "t1"]))
            .check("/output", out("t1")),
        row(&th("wait_workflow_integration_test.json"), "test_wait_workflow")
            .label("WAIT failed by an update: the workflow fails before the worker task")
            .signal_fail("wait0")
            .expect("FAILED")
            .task("wait0", "FAILED")
            .absent("t1"),
        row(&th("workflow_with_synchronous_system_task.json"), "workflow_with_synchronous_system_task")
            .label("jq `length` of a list from the worker; the output names a key jq does not give")
            .input(json!({"param1": "p1"}))
            .on("t1", Do::Complete(json!({"op": {"TEST_SAMPLE": [1, 2, 3]}})))
            .check("/tasks/jsonjq/input/tp1", json!("p1"))
            .check("/tasks/jsonjq/output", jq_out(json!(3)))
            .check("/output", json!({"data": null})),
        row(&th("workflow_with_synchronous_system_task.json"), "workflow_with_synchronous_system_task")
            .label("jq on a string where an object is expected fails the workflow")
            .check("/tasks/jsonjq/input/tp2", json!("t1 op"))
            .expect("FAILED")
            .task("jsonjq", "FAILED"),
    ]
}
