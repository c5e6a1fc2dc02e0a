//! Rows for the corpus workflows built around DO_WHILE (loops with scripts, items, keepLastN, WAIT and sub-workflows inside).
//!
//! Conventions Conductor follows that the checks rely on:
//! * a loop's body instances are named `ref__N`; the loop's output holds `iteration` and,
//!   per iteration kept, `"N": {ref: output}` for every task of the iteration (case tasks
//!   of SWITCHes and the FORK / JOIN of the body included);
//! * a JOIN inside a loop names the iteration's instances in its output (`t__N`);
//! * without `outputParameters` the workflow's output is the output of the task scheduled
//!   last, which for a workflow ending in a loop is the last task of its last iteration;
//! * INLINE and LAMBDA see only their own input as `$`: a script reading another task's
//!   output through `$` fails (FAILED_WITH_TERMINAL_ERROR) and so does the workflow;
//! * `items` in a loop's input iterates the list, each iteration seeing `output.item` and
//!   `output.index`, as in Orkes Conductor, for which the e2e definitions using it were
//!   written (conductor-oss reads a list from the task's `items` field or `_items` instead);
//! * a dynamic fork's branches are not tasks of the loop's definition: they are neither in
//!   the iteration outputs nor dropped by `keepLastN`.

use serde_json::{Value, json};

use crate::corpus::common::*;

/// A SWITCH output for the case value it evaluated.
fn switch_out(case: &str) -> Value {
    json!({"evaluationResult": [case], "selectedCase": case})
}

/// A JSON_JQ_TRANSFORM output: the first result and the list of all of them.
fn jq_out(first: Value) -> Value {
    json!({"result": first.clone(), "resultList": [first]})
}

/// What the jq task of the e2e load-test workflows makes: `.key2` is absent, so only
/// `key1.value1` is in the sum.
fn key3_jq() -> Value {
    jq_out(json!({"key3": ["a", "b"]}))
}

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    let early = "e2e/metadata/do_while_early_script_eval_wf.json";
    let early_loop = "predictions_daily_bq_export_pipeline_loop";
    let keep: &'static str = "e2e/metadata/do_while_keep_last_n_fix.json";
    let wait_switch = "e2e/metadata/do_while_wait_switch_iteration_test.json";
    let rerun2 = "e2e/metadata/switch_rerun_issue_2.json";
    let pipeline_started = || {
        Do::Complete(json!({
            "namespace_enabled": true, "pipeline_uid": "uid-1",
            "pipeline_started_at_rfc": "2023-10-11T21:12:27Z", "query_end_time": "2023-10-11T20:42:00Z"
        }))
    };
    vec![
        // ---- e2e: early evaluation of the loop condition ----
        row(early, "DoWhileEarlyEvalScript")
            .version(5)
            .label("namespace enabled, no pipeline failure: one iteration, then the token is returned")
            .input(json!({"namespace_id": "ns-1"}))
            .on("reserve_token_ref", Do::Complete(json!({"token_id": "tok-1"})))
            .on("predictions_start_daily_bq_export_pipeline", pipeline_started())
            .check(
                "/refs",
                json!([
                    "reserve_token_ref", "acquire_token_ref", early_loop,
                    "predictions_start_daily_bq_export_pipeline__1", "if_terminate_condition__1",
                    "predictions_get_daily_bq_export_pipeline_status_long_running__1",
                    "predictions_process_daily_bq_export_pipeline_results__1", "return_token_ref"
                ]),
            )
            .check(
                "/tasks/acquire_token_ref/input",
                json!({"resource_pool_name": "predictionspipelinespool", "token_id": "tok-1"}),
            )
            .check("/tasks/predictions_start_daily_bq_export_pipeline__1/input", json!({"namespace_id": "ns-1"}))
            // A boolean case value is matched as its text.
            .check("/tasks/if_terminate_condition__1/output", switch_out("true"))
            .check(
                "/tasks/predictions_get_daily_bq_export_pipeline_status_long_running__1/input",
                json!({"pipeline_started_at_rfc": "2023-10-11T21:12:27Z", "pipeline_uid": "uid-1",
                       "pipeline_timeout_duration": "24h", "wait_duration": "2m"}),
            )
            .check(
                "/tasks/predictions_process_daily_bq_export_pipeline_results__1/input",
                json!({"namespace_id": "ns-1", "pipeline_uid": "uid-1"}),
            )
            .task(early_loop, "COMPLETED")
            .check(&format!("/tasks/{early_loop}/output/iteration"), json!(1))
            .check(
                &format!("/tasks/{early_loop}/output/1/predictions_process_daily_bq_export_pipeline_results"),
                out("predictions_process_daily_bq_export_pipeline_results"),
            )
            .check("/tasks/return_token_ref/input/token_id", json!("tok-1"))
            .check("/output", out("return_token_ref")),
        row(early, "DoWhileEarlyEvalScript")
            .version(5)
            .label("namespace not enabled: the case returns the token, then TERMINATE COMPLETED ends the run inside the loop")
            .input(json!({"namespace_id": "ns-2"}))
            .on("reserve_token_ref", Do::Complete(json!({"token_id": "tok-2"})))
            .on(
                "predictions_start_daily_bq_export_pipeline",
                Do::Complete(json!({"namespace_enabled": false})),
            )
            .check(
                "/refs",
                json!([
                    "reserve_token_ref", "acquire_token_ref", early_loop,
                    "predictions_start_daily_bq_export_pipeline__1", "if_terminate_condition__1",
                    "return_token_namespace_not_enabled__1", "workflow_complete_namespace_not_enabled__1",
                    "terminate_condition_is_true__1"
                ]),
            )
            .check("/tasks/if_terminate_condition__1/output", switch_out("false"))
            .check("/tasks/return_token_namespace_not_enabled__1/input/token_id", json!("tok-2"))
            .check("/tasks/workflow_complete_namespace_not_enabled__1/input/status", json!("COMPLETED"))
            .check("/tasks/workflow_complete_namespace_not_enabled__1/input/external_key", Value::Null)
            .task("terminate_condition_is_true__1", "COMPLETED")
            .task(early_loop, "CANCELED")
            .absent("return_token_ref")
            .check("/reason", json!("asd."))
            // TERMINATE without workflowOutput: the output stays empty.
            .check("/output", json!({})),
        row(early, "DoWhileEarlyEvalScript")
            .version(5)
            .label("the pipeline fails every time: the condition goes round until iteration 3")
            .input(json!({"namespace_id": "ns-3"}))
            .on("reserve_token_ref", Do::Complete(json!({"token_id": "tok-3"})))
            .on("predictions_start_daily_bq_export_pipeline", pipeline_started())
            .on(
                "predictions_process_daily_bq_export_pipeline_results",
                Do::Complete(json!({"is_pipeline_failure": true, "pipeline_status": "Failed"})),
            )
            .task(early_loop, "COMPLETED")
            .check(&format!("/tasks/{early_loop}/output/iteration"), json!(3))
            .check(
                &format!("/tasks/{early_loop}/output/1/predictions_process_daily_bq_export_pipeline_results"),
                json!({"is_pipeline_failure": true, "pipeline_status": "Failed"}),
            )
            .check(
                &format!("/tasks/{early_loop}/output/3/if_terminate_condition"),
                switch_out("true"),
            )
            .task("predictions_process_daily_bq_export_pipeline_results__3", "COMPLETED")
            .absent("predictions_start_daily_bq_export_pipeline__4")
            .check("/tasks/return_token_ref/input/token_id", json!("tok-3"))
            .check("/output", out("return_token_ref")),
        row(early, "DoWhileEarlyEvalScript")
            .version(5)
            .label("the pipeline cannot start (terminal error): the run fails inside the loop")
            .input(json!({"namespace_id": "ns-4"}))
            .on("predictions_start_daily_bq_export_pipeline", Do::FailTerminal)
            .expect("FAILED")
            .task("predictions_start_daily_bq_export_pipeline__1", "FAILED_WITH_TERMINAL_ERROR")
            .check("/tasks/predictions_start_daily_bq_export_pipeline__1/instances", json!(1))
            .task(early_loop, "CANCELED")
            .absent("if_terminate_condition__1")
            .absent("return_token_ref"),
        row(early, "do-while-set-variable-fix")
            .label("SWITCH on a variable: the WAIT case sets it, the next iteration approves and ends the loop")
            .wait(30)
            .check(
                "/refs",
                json!([
                    "set_initial_variable_ref", "do_while_ref", "switch_is_skip_approval_ref__1",
                    "wait_ref_2__1", "wait_ref_bug_from_here_down_below__1", "wait_ref_1__1",
                    "switch_is_skip_approval_ref__2", "set_is_approved__2"
                ]),
            )
            .check("/tasks/switch_is_skip_approval_ref__1/output", switch_out("false"))
            .check("/tasks/switch_is_skip_approval_ref__2/output", switch_out("true"))
            .task("wait_ref_1__1", "COMPLETED")
            .check("/variables", json!({"isApproved": true, "isSkipApproval": true}))
            .check("/tasks/do_while_ref/output/iteration", json!(2))
            .check(
                "/tasks/do_while_ref/output/1",
                json!({"switch_is_skip_approval_ref": switch_out("false"), "wait_ref_2": {},
                       "wait_ref_bug_from_here_down_below": {}, "wait_ref_1": {}}),
            )
            .check(
                "/tasks/do_while_ref/output/2",
                json!({"switch_is_skip_approval_ref": switch_out("true"), "set_is_approved": {}}),
            )
            // The last task scheduled is the SET_VARIABLE of iteration 2.
            .check("/output", json!({})),
        // ---- e2e: keepLastN ----
        row(keep, "keep_last_n_example")
            .label("items of URL lists, one sub-workflow branch per URL (forkTaskWorkflow), keepLastN 2")
            .input(json!({"batch": [["a", "b"], ["c"], ["d", "e"]]}))
            .register(keep, "wait")
            .task("do_while_batch_creation_ref", "COMPLETED")
            .check("/tasks/do_while_batch_creation_ref/output/iteration", json!(3))
            .check("/tasks/do_while_batch_creation_ref/output/item", json!(["d", "e"]))
            .check("/tasks/do_while_batch_creation_ref/output/1", Value::Null)
            .absent("dynamic_fork_prep_ref__1")
            .absent("join_ref__1")
            .check(
                "/tasks/dynamic_fork_prep_ref__3/output",
                json!({"result": [{"value": "d"}, {"value": "e"}]}),
            )
            .task("fork_join_dynamic_ref__3", "COMPLETED")
            // Branches are named after the fork (no forkTaskName); from the second
            // iteration on the run already has a dynamic fork, so the name gets its prefix.
            .check("/tasks/_fork_join_dynamic_ref_fork_join_dynamic_ref_1__3/taskType", json!("SUB_WORKFLOW"))
            .task("_fork_join_dynamic_ref_fork_join_dynamic_ref_1__3", "COMPLETED")
            .check("/tasks/_fork_join_dynamic_ref_fork_join_dynamic_ref_1__3/child/refs", json!(["wait_ref"]))
            .check("/tasks/_fork_join_dynamic_ref_fork_join_dynamic_ref_0__2/child/status", json!("COMPLETED"))
            .task("join_ref__3", "COMPLETED")
            .same(
                "/tasks/join_ref__3/output/_fork_join_dynamic_ref_fork_join_dynamic_ref_1__3/subWorkflowId",
                "/tasks/_fork_join_dynamic_ref_fork_join_dynamic_ref_1__3/output/subWorkflowId",
            )
            // The first iteration's branches are not part of the loop's definition: Conductor
            // leaves them when it drops that iteration.
            .task("_fork_join_dynamic_ref_0__1", "COMPLETED"),
        row(keep, "keep_last_n_example_2")
            .label("two loops; the second forks over the first loop's last INLINE result; keepLastN 4 and 2")
            .input(json!({"batch": [["a"], ["b"], ["c", "d"]]}))
            .register(keep, "wait")
            .check("/tasks/do_while_batch_creation_ref/output/iteration", json!(3))
            .check("/tasks/do_while_batch_creation_ref_2/output/iteration", json!(3))
            // keepLastN 4 keeps all three iterations of the first loop.
            .task("dynamic_fork_prep_ref__1", "COMPLETED")
            .check("/tasks/do_while_batch_creation_ref/output/1/dynamic_fork_prep_ref", json!({"result": [{"value": "a"}]}))
            .absent("dynamic_fork_prep_ref_2__1")
            .check("/tasks/do_while_batch_creation_ref_2/output/1", Value::Null)
            // The second loop's INLINE reads the first loop's last item.
            .check(
                "/tasks/dynamic_fork_prep_ref_2__3/output",
                json!({"result": [{"value": "c"}, {"value": "d"}]}),
            )
            .task("_fork_join_dynamic_ref_2_fork_join_dynamic_ref_2_1__3", "COMPLETED")
            .absent("_fork_join_dynamic_ref_2_fork_join_dynamic_ref_2_2__3")
            .task("join_ref_2__3", "COMPLETED")
            .check(
                "/tasks/do_while_batch_creation_ref_2/output/3/dynamic_fork_prep_ref_2",
                json!({"result": [{"value": "c"}, {"value": "d"}]}),
            )
            // A loop's iteration outputs name the tasks of its definition only.
            .check(
                "/tasks/do_while_batch_creation_ref_2/output/3/_fork_join_dynamic_ref_2_fork_join_dynamic_ref_2_0",
                Value::Null,
            ),
        row(keep, "keep_last_n_example_3")
            .label("two loops in fork branches, five iterations each, keepLastN 4 and 2; a JOIN on nothing")
            .task("do_while_ref_1", "COMPLETED")
            .task("do_while_ref", "COMPLETED")
            .check("/tasks/do_while_ref_1/output/iteration", json!(5))
            .check("/tasks/do_while_ref/output/iteration", json!(5))
            .absent("simple_ref__1")
            .task("simple_ref__2", "COMPLETED")
            .absent("simple_ref_1__3")
            .task("simple_ref_1__4", "COMPLETED")
            .check("/tasks/do_while_ref/output/3", Value::Null)
            .check("/tasks/do_while_ref/output/5", json!({"simple_ref_1": out("simple_ref_1"), "simple_ref_2": out("simple_ref_2")}))
            .check("/tasks/do_while_ref_1/output/2", json!({"set_variable_ref_1": {}, "simple_ref": out("simple_ref")}))
            .check("/tasks/inline_ref/output", json!({"result": 3}))
            .check("/variables", json!({"name": "Orkes"}))
            .task("join_ref", "COMPLETED")
            .check("/tasks/join_ref/output", json!({})),
        row("e2e/metadata/do_while_keep_last_n_switch_test.json", "do_while_keep_last_n_switch_test")
            .label("26 iterations until an INLINE counter says stop; keepLastN 3")
            .check("/tasks/do_while_ref/output/iteration", json!(26))
            .check("/tasks/do_while_ref/output/23", Value::Null)
            .absent("switch_ref__23")
            .task("switch_ref__24", "COMPLETED")
            .check("/tasks/max_loop_ctrl_ref__25/output", json!({"result": "continue"}))
            .check(
                "/tasks/do_while_ref/output/26",
                json!({
                    "switch_ref": switch_out("b"), "inline_ref": {"result": 3}, "set_variable_ref_1": {},
                    "max_loop_ctrl_ref": {"result": "stop"}, "switch_ref_2": switch_out("stop"),
                    "set_variable_ref_2": {}
                }),
            )
            .check("/tasks/switch_ref_2__25/output", switch_out("continue"))
            .absent("set_variable_ref_2__25")
            .check("/variables", json!({"status": "Completed"}))
            .check("/output", json!({})),
        // ---- e2e: WAIT and SWITCH in a loop ----
        row(wait_switch, "do_while_wait_switch_iteration_test")
            .label("the WAIT answers b, b, then a: three iterations, then the HTTP task after the loop")
            .signal("wait_ref__3", json!({"result": "a"}))
            .signal("wait_ref", json!({"result": "b"}))
            .check("/tasks/do_while_ref/output/iteration", json!(3))
            .check("/tasks/inline_sample_ref__1/output", json!({"result": {"iteration": 1}}))
            .check("/tasks/inline_sample_ref__3/output/result/iteration", json!(3))
            .check("/tasks/inline_sample_ref__3/output/result/2/wait_ref", json!({"result": "b"}))
            .check("/tasks/http_ref__1/output/response/statusCode", json!(200))
            .check("/tasks/switch_ref__2/output", switch_out("b"))
            .task("http_ref_2__2", "COMPLETED")
            .absent("http_ref_1__2")
            .check("/tasks/switch_ref__3/output", switch_out("a"))
            .task("http_ref_1__3", "COMPLETED")
            .absent("http_ref_2__3")
            .check("/variables", json!({"status": "Completed"}))
            .check("/output/response/statusCode", json!(200))
            .check("/output/response/body/method", json!("GET")),
        row(wait_switch, "do_while_wait_switch_iteration_test")
            .label("the WAIT fails: the workflow fails in the first iteration")
            .signal_fail("wait_ref")
            .expect("FAILED")
            .task("wait_ref__1", "FAILED")
            .task("do_while_ref", "CANCELED")
            .absent("switch_ref__1")
            .absent("http_ref_3"),
        // ---- e2e: a thousand-iteration guard, reruns ----
        row("e2e/metadata/stackoverflower.json", "stackoverflower")
            .label("50 iterations of an INLINE")
            .input(json!({"n": 50}))
            .check("/tasks/loop_ref/output/iteration", json!(50))
            .check("/tasks/dummy_ref__50/output", json!({"result": "stackoverflowing are you?"}))
            .check("/tasks/loop_ref/output/1", json!({"dummy_ref": {"result": "stackoverflowing are you?"}}))
            .absent("dummy_ref__51")
            .check("/output", json!({"result": "stackoverflowing are you?"})),
        row("e2e/metadata/stackoverflower.json", "stackoverflower")
            .label("n 0: the body runs once before the condition is looked at")
            .input(json!({"n": 0}))
            .check("/tasks/loop_ref/output/iteration", json!(1))
            .check("/refs", json!(["loop_ref", "dummy_ref__1"])),
        row(rerun2, "switch_rerun_issue_2")
            .label("case yes: three iterations of INLINE, WAIT, nested SWITCH")
            .input(json!({"case": "yes"}))
            .check("/tasks/do_while_ref/output/iteration", json!(3))
            .check("/tasks/switch_ref__3/output", switch_out("yes"))
            .check("/tasks/switch_ref_1__3/output", switch_out("yes"))
            .same("/tasks/inline_ref_2__3/output/result", "/tasks/inline_ref_1__3/output/result")
            .same("/tasks/inline_ref_3__3/output/result", "/tasks/inline_ref_1__3/output/result")
            .same("/tasks/inline_ref_3__1/output/result", "/tasks/inline_ref_1__1/output/result")
            .same("/output/result", "/tasks/inline_ref_1__3/output/result"),
        row(rerun2, "switch_rerun_issue_2")
            .label("no case matches: each iteration ends with the SWITCH")
            .input(json!({"case": "no"}))
            .check("/tasks/do_while_ref/output/iteration", json!(3))
            .check("/tasks/switch_ref__3/output", switch_out("no"))
            .absent("switch_ref_1__1")
            .absent("inline_ref_3__3")
            .check(
                "/refs",
                json!(["do_while_ref", "inline_ref_1__1", "wait_ref__1", "switch_ref__1",
                       "inline_ref_1__2", "wait_ref__2", "switch_ref__2",
                       "inline_ref_1__3", "wait_ref__3", "switch_ref__3"]),
            )
            .check("/output", switch_out("no")),
        // ---- e2e: the load-test workflows (a loop in a fork branch, sub-workflows) ----
        row("e2e/metadata/re_run_test_workflow.json", "re_run_test_workflow")
            .label("every operator once; the optional loop in the fork runs one iteration")
            .wait(30)
            .check("/tasks/jq/output", key3_jq())
            .check("/tasks/http_task_5saz2_ref/output/response/statusCode", json!(200))
            .task("wait", "COMPLETED")
            .check("/variables", json!({"call_made": true}))
            // The WAIT's output is empty, so the JOIN leaves it out.
            .check(
                "/tasks/join_task_y6nux_ref/output",
                json!({"x_test_worker_1_ref": out("x_test_worker_1_ref"),
                       "x_test_workers_2_ref": out("x_test_workers_2_ref")}),
            )
            .check("/tasks/sub_flow/child/status", json!("COMPLETED"))
            .check("/tasks/sub_flow/child/variables", json!({"name": "Orkes"}))
            .check("/tasks/_x_test_worker_0_2/input", json!({"input": 3, "__index": 2}))
            .check("/tasks/dynamic_fork_join/output/_x_test_worker_0_0", out("_x_test_worker_0_0"))
            .task("loop_until_success", "COMPLETED")
            // `$.loop_count` is a number: `undefined < {...}` is false after one iteration.
            .check("/tasks/loop_until_success/output/iteration", json!(1))
            .check("/tasks/fact_length__1/output", switch_out("LONG"))
            .task("simple_task_1__1", "COMPLETED")
            // The child's output (its last task, the inner sub-workflow's) brings that
            // inner child's id as `subWorkflowId`: the view follows it there.
            .check("/tasks/sub_flow_inline/output/op", json!("simple_task_0 op"))
            .check("/tasks/sub_flow_inline/child/refs", json!(["simple_task_0"]))
            .check("/tasks/sub_flow_inline/child/status", json!("COMPLETED"))
            .check("/tasks/fork_join/output/simple_task_5", out("simple_task_5"))
            .same("/tasks/fork_join/output/sub_flow_inline/subWorkflowId", "/tasks/sub_flow_inline/output/subWorkflowId")
            // `x_test_worker_1` is a task name, not a reference: null.
            .check("/output", json!({"jq": key3_jq(), "inner_task": null})),
        row("e2e/metadata/sync_workflows.json", "load_test_perf_sync_workflow")
            .label("every operator once; the first task's number reaches the variables")
            .wait(30)
            .on("simple_task_0", Do::Complete(json!({"number": 42})))
            .check("/variables", json!({"call_made": true, "number": 42}))
            .check("/tasks/sub_flow/child/variables", json!({"name": "Orkes"}))
            .check("/tasks/_x_test_worker_0_0/input", json!({"input": 1, "__index": 0}))
            .check("/tasks/loop_until_success/output/iteration", json!(1))
            .check("/tasks/sub_flow_inline/child/tasks/simple_task_0/output", json!({"number": 42}))
            .check("/output", json!({"task1": {"number": 42}, "jq": key3_jq(), "inner_task": null})),
        row("e2e/metadata/workflows.json", "sub_workflow_test")
            .label("sub-workflows of the latest version, version 1 and version 0 (the latest)")
            .wait(30)
            .on("simple_task_0", Do::Complete(json!({"number": 42})))
            .check("/variables", json!({"call_made": true, "number": 42}))
            .check("/tasks/sub_flow/child/refs", json!(["x_test_worker_4"]))
            .check("/tasks/sub_flow/child/tasks/x_test_worker_4/input", json!({"name": "Orkes"}))
            .check("/tasks/sub_flow_v1/child/refs", json!(["x_test_worker_1"]))
            .check("/tasks/sub_flow_v0/child/refs", json!(["x_test_worker_4"]))
            .check("/tasks/loop_until_success/output/iteration", json!(1))
            .check("/tasks/dynamic_fork_join/output/_x_test_worker_0_1", out("_x_test_worker_0_1"))
            // The last task is the version-0 sub-workflow: its id and its child's output.
            .same("/output/subWorkflowId", "/tasks/sub_flow_v0/output/subWorkflowId")
            .check("/output/data", Value::Null),
        // ---- test-harness ----
        row(&th("do_while_as_subtask_integration_test.json"), "Do_While_SubTask")
            .label("a loop of two iterations in a fork branch")
            .input(json!({"loop": 2}))
            .check(
                "/refs",
                json!(["fork", "loopTask", "integration_task_2", "join", "integration_task_0__1",
                       "integration_task_1__1", "integration_task_0__2", "integration_task_1__2"]),
            )
            .check(
                "/tasks/join/output",
                json!({
                    "loopTask": {
                        "iteration": 2,
                        "1": {"integration_task_0": out("integration_task_0"), "integration_task_1": out("integration_task_1")},
                        "2": {"integration_task_0": out("integration_task_0"), "integration_task_1": out("integration_task_1")}
                    },
                    "integration_task_2": out("integration_task_2")
                }),
            )
            // The JOIN was scheduled with the fork; the last task scheduled is the loop's.
            .check("/output", out("integration_task_1"))
            .gap(
                "/refs",
                "a loop schedules its first body task as soon as it is scheduled; Conductor does it after the tasks scheduled with the loop (the fork's other branch and its JOIN)",
            ),
        row(&th("do_while_as_subtask_integration_test.json"), "Do_While_SubTask")
            .label("the task beside the loop fails: the JOIN is cancelled and the run fails")
            .input(json!({"loop": 2}))
            .on("integration_task_2", Do::Fail)
            .expect("FAILED")
            .task("integration_task_2", "FAILED")
            .task("join", "CANCELED"),
        row(&th("do_while_cleanup_demo.json"), "do_while_cleanup_demo")
            .label("the INLINE reads the loop through `$`, which holds only its input: it fails, so does the run")
            .input(json!({"max_iterations": 3}))
            .expect("FAILED")
            .task("generate_data_ref__1", "FAILED_WITH_TERMINAL_ERROR")
            .task("do_while_loop_ref", "CANCELED")
            .absent("process_data_ref__1")
            .absent("summary_ref"),
        row(&th("do_while_five_loop_over_integration_test.json"), "do_while_five_loop_over_integration_test")
            .label("two iterations of LAMBDA, jq, worker, jq, worker")
            .input(json!({"loop": 2}))
            .check(
                "/refs",
                json!(["loopTask", "lambda_locs__1", "jq_add_location__1", "integration_task_1__1",
                       "jq_create_hydrus_input__1", "integration_task_2__1", "lambda_locs__2",
                       "jq_add_location__2", "integration_task_1__2", "jq_create_hydrus_input__2",
                       "integration_task_2__2", "integration_task_3"]),
            )
            .check("/tasks/lambda_locs__2/output", json!({"result": {"locationRanId": "some location id"}}))
            .check("/tasks/jq_add_location__1/input/locationIdValue", json!("some location id"))
            .check("/tasks/jq_create_hydrus_input__2/output", jq_out(json!({"out": {"locationId": "some location id"}})))
            .check("/tasks/loopTask/output/iteration", json!(2))
            .check("/tasks/loopTask/output/2/integration_task_2", out("integration_task_2"))
            .check("/output", out("integration_task_3")),
        row(&th("do_while_five_loop_over_integration_test.json"), "do_while_five_loop_over_integration_test")
            .label("the last body task fails once per iteration and is retried in its iteration")
            .input(json!({"loop": 2}))
            .task_def(json!({"name": "integration_task_2", "retryCount": 1, "retryDelaySeconds": 0,
                             "responseTimeoutSeconds": 60}))
            .on("integration_task_2", Do::FailTimes(1))
            .check("/tasks/integration_task_2__1/instances", json!(2))
            .check("/tasks/integration_task_2__1/retryCount", json!(1))
            .task("integration_task_2__2", "COMPLETED")
            .check("/tasks/integration_task_2__2/retryCount", json!(1))
            .check("/tasks/loopTask/output/iteration", json!(2))
            .check("/tasks/loopTask/output/1/integration_task_2", out("integration_task_2"))
            .check("/output", out("integration_task_3")),
        row(&th("do_while_high_iteration_test.json"), "do_while_high_iteration_test")
            .label("500 iterations of a LAMBDA")
            .input(json!({"loop": 500}))
            .wait(60)
            .check("/tasks/loopTask/output/iteration", json!(500))
            .check("/tasks/lambda_task__1/output", json!({"result": {}}))
            .check("/tasks/lambda_task__500/output", json!({"result": {}}))
            .absent("lambda_task__501")
            .check("/output", json!({"result": {}})),
        row(&th("do_while_integration_test.json"), "Do_While_Workflow")
            .label("one iteration of a task and a fork")
            .input(json!({"loop": 1}))
            .check(
                "/refs",
                json!(["loopTask", "integration_task_0__1", "fork__1", "integration_task_1__1",
                       "integration_task_2__1", "join__1"]),
            )
            // A JOIN in a loop names the iteration's instances.
            .check(
                "/tasks/join__1/output",
                json!({"integration_task_1__1": out("integration_task_1"),
                       "integration_task_2__1": out("integration_task_2")}),
            )
            .check("/tasks/loopTask/output/1/fork", json!({}))
            .check("/tasks/loopTask/output/1/integration_task_0", out("integration_task_0"))
            .check(
                "/output",
                json!({"integration_task_1__1": out("integration_task_1"),
                       "integration_task_2__1": out("integration_task_2")}),
            ),
        row(&th("do_while_integration_test.json"), "Do_While_Workflow")
            .label("a fork task fails without retries: the run fails in the first iteration")
            .input(json!({"loop": 2}))
            .on("integration_task_1", Do::Fail)
            .expect("FAILED")
            .task("integration_task_1__1", "FAILED")
            .task("loopTask", "CANCELED")
            .absent("integration_task_0__2"),
        row(&th("do_while_iteration_fix_test.json"), "Do_While_Workflow_Iteration_Fix")
            .label("the LAMBDA's input reads the loop's iteration with a bracket path")
            .input(json!({"loop": 2}))
            .check("/refs", json!(["loopTask", "form_uri__1", "form_uri__2"]))
            .check("/tasks/form_uri__1/input/index", json!(1))
            .check("/tasks/form_uri__1/output", json!({"result": 0}))
            .check("/tasks/form_uri__2/output", json!({"result": 1}))
            .check("/output", json!({"result": 1})),
        row(&th("do_while_iteration_fix_test.json"), "Do_While_Workflow_Iteration_Fix")
            .label("500 iterations: every LAMBDA sees its own iteration")
            .input(json!({"loop": 500}))
            .wait(60)
            .check("/tasks/loopTask/output/iteration", json!(500))
            .check("/tasks/form_uri__250/output", json!({"result": 249}))
            .check("/tasks/form_uri__500/output", json!({"result": 499}))
            .check("/output", json!({"result": 499})),
        row(&th("do_while_multiple_integration_test.json"), "Do_While_Multiple")
            .label("two loops one after the other, 2 and 3 iterations")
            .input(json!({"loop": 2, "loop2": 3}))
            .check("/tasks/loopTask/output/iteration", json!(2))
            .check("/tasks/loopTask2/output/iteration", json!(3))
            .check(
                "/tasks/join__2/output",
                json!({"integration_task_1__2": out("integration_task_1"),
                       "integration_task_2__2": out("integration_task_2")}),
            )
            .check("/tasks/loopTask2/output/3", json!({"integration_task_3": out("integration_task_3")}))
            .check(
                "/refs",
                json!(["loopTask", "integration_task_0__1", "fork__1", "integration_task_1__1",
                       "integration_task_2__1", "join__1", "integration_task_0__2", "fork__2",
                       "integration_task_1__2", "integration_task_2__2", "join__2", "loopTask2",
                       "integration_task_3__1", "integration_task_3__2", "integration_task_3__3"]),
            )
            .check("/output", out("integration_task_3")),
        row(&th("do_while_set_variable_fix.json"), "do_while_Set_variable_fix")
            .label("the condition reads a variable the body sets: its input is worked out again")
            .input(json!({"value": 2}))
            .check("/refs", json!(["loopTask", "set_variable__1"]))
            .check("/tasks/set_variable__1/input", json!({"value": "0"}))
            .check("/variables", json!({"value": "0"}))
            .check("/tasks/loopTask/output", json!({"iteration": 1, "1": {"set_variable": {}}}))
            .check("/output", json!({})),
        row(&th("do_while_sub_workflow_integration_test.json"), "Do_While_Sub_Workflow")
            .label("two iterations of a task, a fork and a sub-workflow")
            .input(json!({"loop": 2}))
            .check("/tasks/loopTask/output/iteration", json!(2))
            .check("/tasks/st1__1/child/status", json!("COMPLETED"))
            .check("/tasks/st1__2/output/op", json!("t1 op"))
            .same("/tasks/loopTask/output/2/st1/subWorkflowId", "/tasks/st1__2/output/subWorkflowId")
            .same("/output/subWorkflowId", "/tasks/st1__2/output/subWorkflowId")
            .check("/output/op", json!("t1 op")),
        row(&th("do_while_sub_workflow_integration_test.json"), "Do_While_Sub_Workflow")
            .label("the child's task fails: the sub-workflow task fails, so does the run")
            .input(json!({"loop": 2}))
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("st1__1", "FAILED")
            .check("/tasks/st1__1/child/status", json!("FAILED"))
            .task("loopTask", "CANCELED")
            .absent("integration_task_0__2"),
        row(&th("do_while_system_tasks.json"), "do_while_system_tasks")
            .label("two iterations of LAMBDA and two jq tasks, then a worker task")
            .input(json!({"loop": 2}))
            .check(
                "/refs",
                json!(["loopTask", "lambda_locs__1", "jq_add_location__1", "jq_create_hydrus_input__1",
                       "lambda_locs__2", "jq_add_location__2", "jq_create_hydrus_input__2",
                       "integration_task_1"]),
            )
            .check("/tasks/jq_add_location__2/output", jq_out(json!({"out": {"locationId": "some location id"}})))
            .check(
                "/tasks/loopTask/output/1/lambda_locs",
                json!({"result": {"locationRanId": "some location id"}}),
            )
            .check("/output", out("integration_task_1")),
        row(&th("do_while_timeline_ui_demo.json"), "do_while_timeline_ui_demo")
            .label("the default case's INLINE reads the loop through `$`: it fails, so does the run")
            .expect("FAILED")
            .check("/tasks/switch_ref__1/output", switch_out("default"))
            .task("default_case_ref__1", "FAILED_WITH_TERMINAL_ERROR")
            .task("do_while_switch_ref", "CANCELED")
            .absent("do_while_fork_ref")
            .absent("final_summary_ref"),
        row(&th("do_while_with_decision_task.json"), "DO_While_with_Decision_task")
            .label("list [1, 2]: `$.list.get(i)`, a javascript SWITCH, a WAIT per iteration")
            .input(json!({"list": [1, 2]}))
            .signal("WaitTask", json!({}))
            .check(
                "/refs",
                json!(["LoopTask", "GetNumberAtIndex__1", "SwitchTask__1", "WaitTask__1", "ComputeNumber__1",
                       "GetNumberAtIndex__2", "SwitchTask__2", "WaitTask__2", "ComputeNumber__2"]),
            )
            .check("/tasks/GetNumberAtIndex__2/output", json!({"result": 2}))
            .check("/tasks/SwitchTask__1/output", switch_out("true"))
            // `${GetNumberAtIndex.output.result.number}` is null: null + 10.
            .check("/tasks/ComputeNumber__2/output", json!({"result": 10}))
            .check("/tasks/LoopTask/output/iteration", json!(2))
            .check("/output", json!({"result": 10})),
        row(&th("do_while_with_decision_task.json"), "DO_While_with_Decision_task")
            .label("list [0]: the SWITCH gives false, no such case, one iteration")
            .input(json!({"list": [0]}))
            .check("/refs", json!(["LoopTask", "GetNumberAtIndex__1", "SwitchTask__1"]))
            .check("/tasks/SwitchTask__1/output", switch_out("false"))
            .check("/output", switch_out("false")),
        row(&th("terminate_task_terminated_status_in_do_while_test.json"), "test_terminate_task_terminated_in_do_while")
            .label("TERMINATE TERMINATED in the first iteration ends the run TERMINATED")
            .expect("TERMINATED")
            .check("/reason", json!("Workflow terminated by TERMINATE task in DO_WHILE loop"))
            .check("/refs", json!(["do_while_ref", "lambda_ref__1", "terminate_ref__1"]))
            // The LAMBDA body defines and calls a function but returns nothing.
            .check("/tasks/lambda_ref__1/output", json!({"result": null}))
            .task("terminate_ref__1", "COMPLETED")
            .task("do_while_ref", "CANCELED")
            .check("/output", json!({})),
    ]
}
