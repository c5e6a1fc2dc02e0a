//! Rows for the corpus workflows made of worker tasks and the flow operators (forks and
//! joins, SWITCH and DECISION with value-param, DYNAMIC, SET_VARIABLE, TERMINATE).

use serde_json::json;

use crate::corpus::common::*;

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    let p12 = || json!({"param1": "p1 value", "param2": "p2 value"});
    vec![
        // ---- core ----
        row("core/conditional_flow.json", "ConditionalTaskWF")
            .label("nested DECISION, case one; the final DECISION's input is a literal")
            .input(json!({"param1": "nested", "param2": "one"}))
            .check("/refs", json!(["conditional", "conditional2", "t1", "t3", "tf"]))
            .check("/tasks/conditional/output", json!({"caseOutput": ["nested"]}))
            .check("/tasks/t1/input", json!({"p1": "nested", "p2": "one"}))
            // `{workflow.input.finalCase}` lacks the `$`: a literal that matches no case;
            // the last task run is that DECISION, whose output becomes the workflow's.
            .check("/output", json!({"caseOutput": ["{workflow.input.finalCase}"]})),
        row("core/conditional_flow.json", "ConditionalTaskWF")
            .label("DECISION default case")
            .input(json!({"param1": "other", "param2": "two"}))
            .check("/refs", json!(["conditional", "t21", "tf"]))
            .check("/tasks/t21/input", json!({"tp1": "other", "tp3": "two"})),
        // ---- e2e ----
        row("e2e/exec_limit_workflow.json", "exec_limit_check")
            .label("six branches of one task type, JOIN output by reference")
            .check("/tasks/join_task_ref/status", json!("COMPLETED"))
            .check("/output/exec_limit", out("exec_limit"))
            .check("/output/exec_limit_5", out("exec_limit_5"))
            // Conductor names a SIMPLE task instance's type after its task.
            .check("/tasks/exec_limit_3/taskType", json!("exec_limit")),
        row("e2e/metadata/broken_idempotency_logic_wf.json", "broken_idempotency_logic_wf")
            .label("TERMINATE COMPLETED without workflowOutput")
            .task("terminate_ref", "COMPLETED")
            .check("/output", json!({})),
        row("e2e/metadata/context_concurrency_issue.json", "context_concurrency_issue")
            .label("eight branches")
            .check("/output/concurrency_issue_0", out("concurrency_issue_0"))
            .check("/output/concurrency_issue_7", out("concurrency_issue_7")),
        row(
            "e2e/metadata/e2e_on_state_change_tests_sub_set_variable.json",
            "e2e_on_state_change_tests_sub",
        )
        .label("SET_VARIABLE only")
        .check("/variables", json!({"name": "Orkes"}))
        .check("/output", json!({})),
        row("e2e/metadata/sub_workflow_tests.json", "sub_workflow")
            .label("one task; empty outputParameters give the last task's output")
            .check("/output", out("t1")),
        row("e2e/metadata/sync_workflows.json", "PopulationMinMax")
            .label("SET_VARIABLE only")
            .check("/variables", json!({"name": "Orkes"})),
        row("e2e/metadata/sync_workflows.json", "http")
            .check("/output", out("simple_task_in8x5_ref")),
        row("e2e/metadata/sync_workflows.json", "sync_workflow_end_with_set_variable_task")
            .check("/variables/name", json!("Orkes"))
            .check("/output", json!({})),
        row("e2e/metadata/sync_workflows.json", "sync_workflow_end_with_simple_task")
            .check("/output", out("simple_task_rka0w_ref")),
        row("e2e/metadata/sync_workflows.json", "sync_workflow_no_poller")
            .check("/output", out("simple_task_pia0h_ref")),
        row("e2e/metadata/timed-out-tasks-not-removed.json", "timed_out_task")
            .label("nobody polls: poll timeouts, LINEAR_BACKOFF retries, optional task")
            .no_worker()
            .wait(30)
            .task("ref_1", "COMPLETED_WITH_ERRORS")
            .check("/tasks/ref_1/instances", json!(3))
            .check("/tasks/ref_1/retryCount", json!(2)),
        row("e2e/metadata/workflow_data.json", "concurrency-limit-test")
            .label("inline task definition with a concurrency limit")
            .input(json!({"value": "v1"}))
            .check("/tasks/task-concurrency-limit-test/input", json!({"value": "v1", "order": "123"}))
            .check("/output", out("task-concurrency-limit-test")),
        row("e2e/metadata/workflow_data.json", "http").check("/output", out("simple_task_in8x5_ref")),
        row("e2e/metadata/workflow_data.json", "rate-limit-by-correlationId")
            .label("one run: the workflow-level rateLimitConfig does not come into play")
            .input(json!({"value": 7}))
            .check("/tasks/rate-limit-task-by-correlationId/input", json!({"value": 7, "order": "123"})),
        row("e2e/metadata/workflow_data.json", "task-rate-limit-test")
            .input(json!({"value": "x"}))
            .check("/tasks/rate-limited-task/input/value", json!("x"))
            .check("/output", out("rate-limited-task")),
        row("e2e/metadata/workflow_data.json", "test-sdk-java-workflow")
            .check("/output", out("test-sdk-java-task")),
        row("e2e/metadata/workflows.json", "PopulationMinMax2a27fdfb-295d-4c70-b813-7e3a44e2cb58")
            .label("version 1; the output names a reference that never ran")
            .check("/refs", json!(["x_test_worker_1"]))
            .check("/output", json!({"data": null})),
        row("e2e/metadata/workflows.json", "PopulationMinMax2a27fdfb-295d-4c70-b813-7e3a44e2cb58")
            .version(3)
            .label("version 3")
            .check("/refs", json!(["x_test_worker_4"]))
            .check("/tasks/x_test_worker_4/input", json!({"name": "Orkes"}))
            .check("/output", json!({"data": null})),
        // ---- rest/kitchensink ----
        row("rest/kitchensink/sub_flow_1.json", "sub_flow_1")
            .check("/refs", json!(["task_5", "task_6"]))
            .check("/output", out("task_6")),
        row("rest/kitchensink/wf2.json", "sub_flow_1")
            .label("tasks, a fork of two sequences, a JOIN, a task; output from the input")
            .input(json!({"mod": 3, "oddEven": 1}))
            .check("/tasks/task_5/input", json!({"mod": 3, "oddEven": 1}))
            .check("/tasks/join/output", json!({"task_21": out("task_21"), "task_11": out("task_11")}))
            .task("task_30", "COMPLETED")
            .check("/output", json!({"mod": 3, "oddEven": 1})),
        // ---- test-harness ----
        row(&th("blocking_system_task_workflow_integration_test.json"), "test_blocking_system_task_workflow")
            .label("a user-defined task type is a worker task")
            .check("/tasks/blocking_system_task/taskType", json!("BLOCKING_SYSTEM_TASK"))
            .check("/output", out("blocking_system_task")),
        row(&th("concurrency_limited_task_workflow_integration_test.json"), "test_concurrency_limits_workflow")
            .task_def(json!({"name": "test_task_with_concurrency_limit", "concurrentExecLimit": 1,
                             "retryCount": 0, "responseTimeoutSeconds": 60}))
            .check("/output", out("test_task_with_concurrency_limit")),
        row(&th("conditional_switch_task_workflow_integration_test.json"), "ConditionalTaskWF")
            .label("nested SWITCH case two, final SWITCH notify")
            .input(json!({"param1": "nested", "param2": "two", "finalCase": "notify"}))
            .check("/refs", json!(["conditional", "nestedCondition", "t2", "finalCase", "integration_task_4"]))
            .check("/tasks/t2/input", json!({"tp1": "nested"}))
            .check("/tasks/conditional/output/evaluationResult", json!(["nested"]))
            .check("/output", out("integration_task_4")),
        row(&th("conditional_switch_task_workflow_integration_test.json"), "ConditionalTaskWF")
            .label("case three takes a literal input; no final case")
            .input(json!({"param1": "three", "param2": "two"}))
            .check("/refs", json!(["conditional", "t3", "finalCase"]))
            .check("/tasks/t3/input", json!({"tp3": "workflow.input.param2"}))
            .check("/output/evaluationResult", json!(["null"])),
        row(&th("conditional_switch_task_workflow_integration_test.json"), "ConditionalTaskWF")
            .label("default case")
            .input(json!({"param1": "xyz", "finalCase": "notify"}))
            .check("/refs", json!(["conditional", "t10", "finalCase", "integration_task_4"])),
        row(&th("conditional_system_task_workflow_integration_test.json"), "ConditionalSystemWorkflow")
            .label("DECISION on a task output picks the USER_TASK case")
            .input(p12())
            .on("t1", Do::Complete(json!({"case": "two", "op": "t1 op"})))
            .check("/refs", json!(["t1", "decision", "user_task", "t3"]))
            .check("/tasks/user_task/input", json!({"largeInput": "t1 op"}))
            .check("/tasks/t3/input", json!({"tp31": "p2 value"}))
            .check("/output", json!({"o2": "t1 op"})),
        row(&th("conditional_system_task_workflow_integration_test.json"), "ConditionalSystemWorkflow")
            .label("case one")
            .input(p12())
            .on("t1", Do::Complete(json!({"case": "one", "op": "first"})))
            .check("/refs", json!(["t1", "decision", "t2", "t3"]))
            .check("/output", json!({"o2": "first"})),
        row(&th("conditional_task_workflow_integration_test.json"), "ConditionalTaskWF")
            .label("nested DECISION case one, final case notify")
            .input(json!({"param1": "nested", "param2": "one", "finalCase": "notify"}))
            .check("/refs", json!(["conditional", "nestedCondition", "t1", "finalCase", "integration_task_4"]))
            .check("/tasks/t1/input", json!({"p1": "nested", "p2": "one"}))
            .check("/tasks/finalCase/output", json!({"caseOutput": ["notify"]}))
            .check("/output", out("integration_task_4")),
        row(&th("decision_and_fork_join_integration_test.json"), "ForkConditionalTest")
            .label("DECISION inside a fork branch, case c")
            .input(json!({"case": "c", "param1": "a", "param2": "b"}))
            .task("t1", "COMPLETED")
            .task("t2", "COMPLETED")
            .absent("t5")
            .check("/tasks/t20/input", json!({"p1": "a", "p2": "b"}))
            .check("/tasks/joinTask/output", json!({"t20": out("t20"), "t10": out("t10")}))
            // The JOIN is scheduled with the fork; t20, scheduled after it, ends the run.
            .check("/output", out("t20")),
        row(&th("decision_and_fork_join_integration_test.json"), "ForkConditionalTest")
            .label("default case")
            .input(json!({"case": "zzz"}))
            .task("t5", "COMPLETED")
            .absent("t1")
            .check("/tasks/t5/input", json!({"p1": null, "p2": null}))
            .check("/tasks/joinTask/output", json!({"t20": out("t20"), "t10": out("t10")}))
            // The JOIN is scheduled with the fork; t20, scheduled after it, ends the run.
            .check("/output", out("t20")),
        row(&th("decision_and_terminate_integration_test.json"), "ConditionalTerminateWorkflow")
            .label("TERMINATE FAILED with a string workflowOutput")
            .input(json!({"param1": "p1", "param2": "p2", "case": "two"}))
            .expect("FAILED")
            .task("terminate0", "COMPLETED")
            .absent("t3")
            .check("/output", json!({"output": "t1 op"})),
        row(&th("decision_and_terminate_integration_test.json"), "ConditionalTerminateWorkflow")
            .label("case one runs to the end")
            .input(json!({"param1": "p1", "param2": "p2", "case": "one"}))
            .check("/refs", json!(["t1", "decision", "t2", "t3"]))
            .check("/output", json!({"o2": "t3 op"})),
        row(&th("dynamic_fork_join_integration_test.json"), "DynamicFanInOutTest")
            .label("FORK_JOIN_DYNAMIC from a task's output")
            .input(p12())
            .serve("integration_task_2")
            .serve("integration_task_3")
            .on(
                "dt1",
                Do::Complete(json!({
                    "dynamicTasks": [
                        {"name": "integration_task_2", "taskReferenceName": "xdt1", "type": "SIMPLE"},
                        {"name": "integration_task_3", "taskReferenceName": "xdt2", "type": "SIMPLE"}
                    ],
                    "dynamicTasksInput": {"xdt1": {"k1": "v1"}, "xdt2": {"k2": "v2"}}
                })),
            )
            .check("/tasks/dt1/input", json!({"p1": "p1 value", "p2": "p2 value"}))
            .check("/tasks/xdt1/input/k1", json!("v1"))
            .check("/tasks/xdt2/input/k2", json!("v2"))
            .check("/tasks/dynamicfanouttask_join/output", json!({"xdt1": out("xdt1"), "xdt2": out("xdt2")}))
            .check("/output", out("task4")),
        row(&th("exclusive_join_integration_test.json"), "ExclusiveJoinTestWorkflow")
            .label("true/true: task3 is the branch that ran")
            .input(json!({"payload": {"k": 1}, "decision_1": "true", "decision_2": "true"}))
            .check("/refs", json!(["task1", "decision1", "task2", "decision2", "task3", "exclusiveJoin"]))
            .check("/tasks/task1/input", json!({"payload": {"k": 1}}))
            .check("/output", out("task3")),
        row(&th("exclusive_join_integration_test.json"), "ExclusiveJoinTestWorkflow")
            .label("false/false: no joinOn branch ran, the default list gives task4")
            .input(json!({"payload": "x", "decision_1": "false", "decision_3": "false"}))
            .check("/refs", json!(["task1", "decision1", "task4", "decision3", "exclusiveJoin"]))
            .check("/output", out("task4")),
        row(&th("fork_join_integration_test.json"), "FanInOutTest")
            .label("all complete; inputs without ${} are literals")
            .input(p12())
            .check("/tasks/t1/input", json!({"p1": "workflow.input.param1", "p2": "workflow.input.param2"}))
            .check("/tasks/fanouttask_join/output", json!({"t3": out("t3"), "t2": out("t2")}))
            .check("/output", out("t4")),
        row(&th("fork_join_integration_test.json"), "FanInOutTest")
            .label("a branch task fails with no retries left")
            .input(p12())
            .on("t2", Do::Fail)
            .expect("FAILED")
            .task("t2", "FAILED")
            .absent("t4"),
        row(&th("fork_join_permissive_integration_test.json"), "FanInOutPermissiveTest")
            .label("all complete")
            .check("/output", out("t3")),
        row(&th("fork_join_permissive_integration_test.json"), "FanInOutPermissiveTest")
            .label("a permissive task fails: the other branch finishes, then the JOIN fails")
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("t1", "FAILED")
            .task("t2", "COMPLETED")
            .task("fanouttask_join", "FAILED")
            .absent("t3"),
        row(&th("fork_join_sync_mode_integration_test.json"), "ForkJoinSyncModeTest")
            .label("JOIN output feeds the next task and the workflow output")
            .input(json!({"param1": "v"}))
            .check("/tasks/branch_b/input", json!({"p1": "v"}))
            .check("/tasks/postJoinTask/input/branchCResult", out("branch_c"))
            .check(
                "/output",
                json!({"branchAOutput": out("branch_a"), "branchBOutput": out("branch_b"),
                       "branchCOutput": out("branch_c")}),
            ),
        row(&th("fork_join_sync_nested_integration_test.json"), "ForkJoinSyncNestedTest")
            .label("a fork inside a fork; JOIN outputs nest")
            .check(
                "/tasks/outer_join/output",
                json!({"inner_join": {"inner_a": out("inner_a"), "inner_b": out("inner_b")},
                       "outer_c": out("outer_c")}),
            )
            .check("/output", out("postJoinTask")),
        row(&th("fork_join_sync_optional_fail_integration_test.json"), "ForkJoinSyncOptionalFailTest")
            .label("an optional branch fails: COMPLETED_WITH_ERRORS and the workflow goes on")
            .on("branch_optional", Do::Fail)
            .task("branch_optional", "COMPLETED_WITH_ERRORS")
            .task("joinTask", "COMPLETED_WITH_ERRORS")
            .check("/output", out("postJoinTask")),
        row(&th("fork_join_with_no_permissive_task_retry_integration_test.json"), "FanInOutPermissiveTest_2")
            .label("all complete")
            .check("/output", out("t4")),
        row(&th("fork_join_with_no_permissive_task_retry_integration_test.json"), "FanInOutPermissiveTest_2")
            .label("a permissive task with no retries fails: the JOIN fails after the rest")
            .on("t3", Do::Fail)
            .expect("FAILED")
            .task("t3", "FAILED")
            .check("/tasks/t3/instances", json!(1))
            .task("t2", "COMPLETED")
            .task("fanouttask_join", "FAILED")
            .absent("t4"),
        row(&th("fork_join_with_no_task_retry_integration_test.json"), "FanInOutTest_2")
            .label("all complete")
            .check("/output", out("t4")),
        row(&th("fork_join_with_no_task_retry_integration_test.json"), "FanInOutTest_2")
            .label("a task with no retries fails the workflow")
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("t1", "FAILED")
            .absent("t3")
            .absent("t4"),
        row(&th("nested_fork_join_integration_test.json"), "FanInOutNestedTest")
            .label("nested forks with a DECISION, case a")
            .input(json!({"param1": "x", "param2": "y", "case": "a"}))
            .check("/tasks/t16/input", json!({"p1": "x", "p2": "y", "case": "a"}))
            .task("t19", "COMPLETED")
            .absent("t17")
            .check("/tasks/join2/output", json!({"t14": out("t14"), "t20": out("t20")}))
            .check("/tasks/join1/output/join2", json!({"t14": out("t14"), "t20": out("t20")}))
            .check("/output", out("t15")),
        row(&th("rate_limited_simple_task_workflow_integration_test.json"), "test_rate_limit_simple_task_workflow")
            .task_def(json!({"name": "test_simple_task_with_rateLimits", "rateLimitPerFrequency": 1,
                             "rateLimitFrequencyInSeconds": 10, "retryCount": 0, "responseTimeoutSeconds": 60}))
            .check("/output", out("test_simple_task_with_rateLimits")),
        row(&th("rate_limited_system_task_workflow_integration_test.json"), "test_rate_limit_system_task_workflow")
            .task_def(json!({"name": "test_task_with_rateLimits", "rateLimitPerFrequency": 1,
                             "rateLimitFrequencyInSeconds": 10, "retryCount": 0, "responseTimeoutSeconds": 60}))
            .check("/tasks/test_task_with_rateLimits/taskType", json!("USER_TASK"))
            .check("/output", out("test_task_with_rateLimits")),
        row(&th("simple_decision_task_integration_test.json"), "DecisionWorkflow")
            .label("case c")
            .input(json!({"case": "c", "param1": "p1", "param2": "p2"}))
            .check("/refs", json!(["decisionTask", "t1", "t2", "t20"]))
            .check("/tasks/decisionTask/output", json!({"caseOutput": ["c"]}))
            .check("/output", out("t20")),
        row(&th("simple_decision_task_integration_test.json"), "DecisionWorkflow")
            .label("default case")
            .input(json!({"case": "nope"}))
            .check("/refs", json!(["decisionTask", "t5", "t20"])),
        row(&th("simple_one_task_sub_workflow_integration_test.json"), "sub_workflow")
            .check("/output", out("t1")),
        row(&th("simple_set_variable_workflow_integration_test.json"), "test_set_variable_wf")
            .input(json!({"var": {"a": [1, 2]}}))
            .check("/variables", json!({"var": {"a": [1, 2]}}))
            .check("/output", json!({"variables": {"var": {"a": [1, 2]}}})),
        row(&th("simple_switch_task_integration_test.json"), "SwitchWorkflow")
            .label("case c")
            .input(json!({"case": "c", "param1": "p1", "param2": "p2"}))
            .check("/refs", json!(["switchTask", "t1", "t2", "t20"]))
            .check("/tasks/switchTask/output/evaluationResult", json!(["c"]))
            .check("/output", out("t20")),
        row(&th("simple_switch_task_integration_test.json"), "SwitchWorkflow")
            .label("default case")
            .input(json!({"case": "d"}))
            .check("/refs", json!(["switchTask", "t5", "t20"])),
        row(&th("simple_workflow_3_integration_test.json"), "integration_test_wf3")
            .input(p12())
            .check("/refs", json!(["t1", "t2", "t3"]))
            .check("/tasks/t1/input", json!({"p1": "p1 value", "p2": "p2 value", "someNullKey": null}))
            .check("/tasks/t2/input", json!({"tp1": "p1 value", "tp2": "t1 op"}))
            .check("/output", out("t3")),
        row(&th("simple_workflow_with_async_complete_system_task_integration_test.json"), "async_complete_integration_test_wf")
            .label("CPEWF_TASK_ID; a USER_TASK worker")
            .input(p12())
            .same("/tasks/t1/input/p3", "/tasks/t1/taskId")
            .check("/tasks/user_task/input", json!({"input": "t1 op"}))
            .check("/output", json!({"o1": "p1 value", "o2": "user_task uuid", "o3": "t1 op"})),
        row(&th("simple_workflow_with_optional_task_integration_test.json"), "optional_task_wf")
            .label("the optional task fails; its output is empty")
            .input(p12())
            .on("t1", Do::Fail)
            .task("t1", "COMPLETED_WITH_ERRORS")
            .check("/tasks/t2/input", json!({"tp1": "p1 value", "tp2": null}))
            .check("/output", json!({"o1": "p1 value", "o2": "t2 uuid", "o3": null})),
        row(&th("simple_workflow_with_optional_task_integration_test.json"), "optional_task_wf")
            .label("all complete")
            .input(p12())
            .check("/output", json!({"o1": "p1 value", "o2": "t2 uuid", "o3": "t1 op"})),
        row(&th("simple_workflow_with_permissive_optional_task_integration_test.json"), "permissive_optional_task_wf")
            .label("optional and permissive: optional wins")
            .input(p12())
            .on("t1", Do::Fail)
            .task("t1", "COMPLETED_WITH_ERRORS")
            .check("/output", json!({"o1": "p1 value", "o2": "t2 uuid", "o3": null})),
        row(&th("simple_workflow_with_permissive_task_integration_test.json"), "permissive_task_wf")
            .label("a permissive task fails twice (retryCount 1): the rest runs, then the workflow fails")
            .input(p12())
            .on("t1", Do::Fail)
            .expect("FAILED")
            .task("t1", "FAILED")
            .check("/tasks/t1/instances", json!(2))
            .task("t2", "COMPLETED")
            .check("/tasks/t2/input", json!({"tp1": "p1 value", "tp2": null})),
        row(&th("simple_workflow_with_permissive_task_integration_test.json"), "permissive_task_wf")
            .label("the retry succeeds")
            .input(p12())
            .on("t1", Do::FailTimes(1))
            .check("/tasks/t1/retryCount", json!(1))
            .check("/output", json!({"o1": "p1 value", "o2": "t2 uuid", "o3": "t1 op"})),
        row(&th("switch_and_fork_join_integration_test.json"), "ForkConditionalTest")
            .label("SWITCH inside a fork branch, case c")
            .input(json!({"case": "c", "param1": "a", "param2": "b"}))
            .task("t2", "COMPLETED")
            .absent("t5")
            .check("/tasks/joinTask/output", json!({"t20": out("t20"), "t10": out("t10")}))
            // The JOIN is scheduled with the fork; t20, scheduled after it, ends the run.
            .check("/output", out("t20")),
        row(&th("switch_and_fork_join_integration_test.json"), "ForkConditionalTest")
            .label("default case")
            .input(json!({"case": "x"}))
            .task("t5", "COMPLETED")
            .absent("t1")
            .check("/tasks/joinTask/output", json!({"t20": out("t20"), "t10": out("t10")}))
            // The JOIN is scheduled with the fork; t20, scheduled after it, ends the run.
            .check("/output", out("t20")),
        row(&th("switch_and_terminate_integration_test.json"), "ConditionalTerminateWorkflow")
            .label("TERMINATE FAILED from a SWITCH case")
            .input(json!({"param1": "p1", "param2": "p2", "case": "two"}))
            .expect("FAILED")
            .absent("t3")
            .check("/output", json!({"output": "t1 op"})),
        row(&th("switch_and_terminate_integration_test.json"), "ConditionalTerminateWorkflow")
            .label("case one")
            .input(json!({"param1": "p1", "param2": "p2", "case": "one"}))
            .check("/tasks/t2/input", json!({"tp21": "p1"}))
            .check("/output", json!({"o2": "t3 op"})),
        row(&th("switch_with_no_default_case_integration_test.json"), "SwitchWithNoDefaultCaseWF")
            .label("no case matches and there is no default: the SWITCH is passed")
            .input(json!({"case": "x"}))
            .check("/refs", json!(["switchTask", "t2"]))
            .check("/output", out("t2")),
        row(&th("switch_with_no_default_case_integration_test.json"), "SwitchWithNoDefaultCaseWF")
            .label("case c")
            .input(json!({"case": "c"}))
            .check("/refs", json!(["switchTask", "t1", "t2"])),
        row(&th("terminate_task_sub_workflow.json"), "test_terminate_task_sub_wf")
            .check("/output", out("t3")),
    ]
}

// ---------------------------------------------------------------------------------------
