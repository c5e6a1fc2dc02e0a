//! Rows for the kitchensink workflows, EVENT and HTTP tasks.

use serde_json::{Value, json};

use crate::corpus::common::*;

/// What the local Elasticsearch stand-in's hits make of `..status` and `..workflowId`.
fn es_deep_scan() -> Value {
    json!({"statuses": ["COMPLETED", "RUNNING"], "workflowIds": ["w1", "w2"]})
}

/// The kitchensink's workflow output for the same search.
fn ks_output() -> Value {
    json!({"statues": ["COMPLETED", "RUNNING"], "workflowIds": ["w1", "w2"]})
}

/// What the kitchensink demo's worker answers for `task_4` (named `first` in the
/// ephemeral variant): a plain task and a sub-workflow to fan out to, with their inputs.
fn fan_out(first: &str) -> Value {
    json!({"mod": 5, "oddEven": 0, "taskToExecute": first,
        "dynamicTasks": [
            {"name": first, "taskReferenceName": "task_1_1", "type": "SIMPLE"},
            {"name": "sub_workflow_4", "taskReferenceName": "wf_dyn", "type": "SUB_WORKFLOW",
             "subWorkflowParam": {"name": "sub_flow_1"}}
        ],
        "inputs": {"task_1_1": {}, "wf_dyn": {"mod": 5}}})
}

/// An event handler on a kitchensink's EVENT task: it starts `sub_flow_1`, correlated
/// with the publishing workflow, with values read from the message.
fn ks_handler(workflow: &str) -> Value {
    json!({"name": format!("{workflow}_event_0"), "active": true,
        "event": format!("conductor:{workflow}:event_0"),
        "condition": "$.mod == 5",
        "actions": [{"action": "start_workflow", "start_workflow": {
            "name": "sub_flow_1", "version": 1, "correlationId": "${workflowInstanceId}",
            "input": {"mod": "${mod}", "from": "${workflowType}", "parent": "${workflowInstanceId}"}}}]})
}

/// The EVENT task's message (its output) for a kitchensink run.
fn ks_message(workflow: &str, odd_even: i64) -> Value {
    json!({"mod": 5, "oddEven": odd_even, "sink": "conductor", "asyncComplete": false,
        "workflowType": workflow, "workflowVersion": 1, "correlationId": null,
        "taskToDomain": {}, "event_produced": format!("conductor:{workflow}:event_0")})
}

/// The kitchensink path through the DECISION's case "0": a DYNAMIC task, the EVENT with a
/// handler reacting to it, a FORK_JOIN_DYNAMIC of a worker task and a sub-workflow, the
/// Elasticsearch search and the JSONPath deep scans over its answer.
/// `first`, `t4` and `last` are the references of the first task, of `task_4` and of the
/// last task (they differ in the ephemeral-tasks variant).
fn ks_fan_out(file: &str, workflow: &'static str, [first, t4, last]: [&'static str; 3]) -> Row {
    let message = ks_message(workflow, 0);
    let mut r = row(file, workflow)
        .input(json!({"mod": 5, "oddEven": 0, "task2Name": "task_5"}))
        .on(first, Do::Complete(json!({"mod": 3, "oddEven": 1})))
        .on("task_2", Do::Complete(json!({"mod": 5, "oddEven": 0})))
        .on(t4, Do::Complete(fan_out(first)))
        .event_handler(ks_handler(workflow))
        .check(
            "/tasks/event_0/input",
            json!({"mod": 5, "oddEven": 0, "sink": "conductor", "asyncComplete": false}),
        )
        .task("event_0", "COMPLETED")
        .task("task_2", "COMPLETED")
        .check("/tasks/task_2/input", json!({"taskToExecute": "task_5"}))
        .check(
            "/tasks/oddEvenDecision/output",
            json!({"caseOutput": ["0"]}),
        )
        .check(
            &format!("/tasks/{t4}/input"),
            json!({"mod": 5, "oddEven": 0}),
        )
        .task("fanout1", "COMPLETED")
        .check("/tasks/task_1_1/input", json!({}))
        .check("/tasks/task_1_1/output", out("task_1_1"))
        .task("wf_dyn", "COMPLETED")
        .check("/tasks/wf_dyn/input/mod", json!(5))
        .check("/tasks/wf_dyn/child/status", json!("COMPLETED"))
        .check("/tasks/wf_dyn/child/refs", json!(["task_5", "task_6"]))
        .check("/tasks/wf_dyn/output/op", json!("task_6 op"))
        .check("/tasks/join1/output/task_1_1", out("task_1_1"))
        .same("/tasks/join1/output/wf_dyn", "/tasks/wf_dyn/output")
        .absent("forkx")
        .absent("join2")
        .check("/tasks/get_es_1/output/response/statusCode", json!(200))
        .check("/tasks/get_es_1/output/response/body/hits/total", json!(2))
        .check(&format!("/tasks/{last}/input"), es_deep_scan())
        .check("/output", ks_output())
        // The handler saw the message and started its workflow, told which event did it.
        .check("/events/sub_flow_1/status", json!("COMPLETED"))
        .check("/events/sub_flow_1/input/mod", json!(5))
        .check("/events/sub_flow_1/input/from", json!(workflow))
        .check(
            "/events/sub_flow_1/input/conductor.event.name",
            message["event_produced"].clone(),
        )
        .same(
            "/events/sub_flow_1/input/conductor.event.messageId",
            "/tasks/event_0/taskId",
        )
        .same(
            "/events/sub_flow_1/input/parent",
            "/tasks/event_0/output/workflowInstanceId",
        );
    for (k, v) in message.as_object().unwrap() {
        r = r.check(&format!("/tasks/event_0/output/{k}"), v.clone());
    }
    r
}

/// The kitchensink path through the DECISION's case "1": a FORK_JOIN of two branches,
/// each a worker task then a sub-workflow, joined on the sub-workflows.
/// `first` and `last` are the references of the first and the last task, `branches`
/// those of the fork's worker tasks.
fn ks_fork(
    file: &str,
    workflow: &'static str,
    [first, last]: [&'static str; 2],
    branches: [&str; 2],
) -> Row {
    row(file, workflow)
        .input(json!({"mod": 5, "oddEven": 1, "task2Name": "task_5"}))
        .on(first, Do::Complete(json!({"mod": 3, "oddEven": 1})))
        .on("task_2", Do::Complete(json!({"mod": 5, "oddEven": 1})))
        .check(
            "/tasks/event_0/output/event_produced",
            ks_message(workflow, 1)["event_produced"].clone(),
        )
        .check(
            "/tasks/oddEvenDecision/output",
            json!({"caseOutput": ["1"]}),
        )
        .task("forkx", "COMPLETED")
        .check(&format!("/tasks/{}/input", branches[0]), json!({}))
        .check(&format!("/tasks/{}/output", branches[1]), out(branches[1]))
        .check("/tasks/wf3/input/mod", json!(3))
        .check("/tasks/wf3/input/oddEven", json!(1))
        .check("/tasks/wf4/input/mod", json!(3))
        .check("/tasks/wf3/child/status", json!("COMPLETED"))
        .check("/tasks/wf4/child/refs", json!(["task_5", "task_6"]))
        .check("/tasks/wf4/output/op", json!("task_6 op"))
        .same("/tasks/join2/output/wf3", "/tasks/wf3/output")
        .same("/tasks/join2/output/wf4", "/tasks/wf4/output")
        .absent("fanout1")
        .check(&format!("/tasks/{last}/input"), es_deep_scan())
        .check("/output", ks_output())
}

/// A task definition for the performance workflows' `get_from_es` HTTP task whose input
/// template holds the search request, as the deployment they ran in had it.
fn es_task_def() -> Value {
    json!({"name": "get_from_es", "retryCount": 0, "responseTimeoutSeconds": 60,
        "inputTemplate": {"http_request": {
            "uri": "http://es.example.com/conductor/_search?q=status:RUNNING&size=0",
            "method": "GET"}}})
}

/// A performance-test worker's answer.
fn perf(m: &str, odd_even: &str) -> Value {
    json!({"mod": m, "oddEven": odd_even})
}

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    let ks = "rest/kitchensink/kitchensink.json";
    let ks_stored = "rest/kitchensink/kitchenSink-ephemeralWorkflowWithStoredTasks.json";
    let ks_eph = "rest/kitchensink/kitchenSink-ephemeralWorkflowWithEphemeralTasks.json";
    let wd = "e2e/metadata/workflow_data.json";
    let perf_test = "core/test.json";
    let perf_done = "core/completed.json";
    vec![
        // ---- rest/kitchensink ----
        ks_fan_out(ks, "kitchensink", ["task_1", "task_4", "task_30"])
            .label("case 0: DYNAMIC, EVENT with a handler, FORK_JOIN_DYNAMIC with a sub-workflow, ES search")
            .check(
                "/refs",
                json!(["task_1", "event_0", "task_2", "oddEvenDecision", "task_4", "fanout1",
                       "task_1_1", "wf_dyn", "join1", "get_es_1", "task_30"]),
            )
            .check("/tasks/task_1/input", json!({"mod": 5, "oddEven": 0})),
        ks_fork(ks, "kitchensink", ["task_1", "task_30"], ["task_10", "task_11"])
            .label("case 1: FORK_JOIN of tasks and sub-workflows, JOIN on the sub-workflows")
            .check("/tasks/join2/input/joinOn", json!(["wf3", "wf4"])),
        row(ks, "kitchensink")
            .label("the DYNAMIC task fails with no retries left: the workflow fails")
            .input(json!({"mod": 5, "oddEven": 0, "task2Name": "task_5"}))
            .on("task_2", Do::Fail)
            .expect("FAILED")
            .task("task_2", "FAILED")
            .absent("oddEvenDecision")
            .absent("get_es_1")
            // The deep scans find nothing in a task that never ran: empty lists.
            .check("/output", json!({"statues": [], "workflowIds": []})),
        row(ks, "kitchensink")
            .label("task2Name names no defined task: the DYNAMIC cannot be scheduled, the workflow fails")
            .input(json!({"mod": 5, "oddEven": 0, "task2Name": "no_such_task"}))
            .expect("FAILED")
            .task("event_0", "COMPLETED")
            .absent("oddEvenDecision")
            .check("/output", json!({"statues": [], "workflowIds": []})),
        ks_fork(ks_stored, "ephemeralKitchenSinkStoredTasks", ["task_1", "task_30"], ["task_10", "task_11"])
            .label("inline workflow definition, stored tasks: case 1, sub-workflows in a fork"),
        ks_fan_out(ks_stored, "ephemeralKitchenSinkStoredTasks", ["task_1", "task_4", "task_30"])
            .label("inline workflow definition, stored tasks: case 0, dynamic fan-out, EVENT handler"),
        // The start input that comes with the ephemeral-tasks definition names a task
        // nobody defined.
        row(ks_eph, "ephemeralKitchenSinkEphemeralTasks")
            .label("its own start input: task2Name task_10005 is defined nowhere, the workflow fails")
            .input(json!({"task2Name": "task_10005"}))
            .expect("FAILED")
            .task("task_10001", "COMPLETED")
            .check("/tasks/task_10001/input", json!({"mod": null, "oddEven": null}))
            .task("event_0", "COMPLETED")
            .absent("oddEvenDecision")
            .check("/output", json!({"statues": [], "workflowIds": []})),
        ks_fan_out(ks_eph, "ephemeralKitchenSinkEphemeralTasks", ["task_10001", "task_10004", "task_100030"])
            .label("inline task definitions: case 0, dynamic fan-out, EVENT handler")
            .check(
                "/refs",
                json!(["task_10001", "event_0", "task_2", "oddEvenDecision", "task_10004", "fanout1",
                       "task_1_1", "wf_dyn", "join1", "get_es_1", "task_100030"]),
            ),
        ks_fork(ks_eph, "ephemeralKitchenSinkEphemeralTasks", ["task_10001", "task_100030"], ["task_100010", "task_100011"])
            .label("inline task definitions: case 1, sub-workflows in a fork"),
        // Rows share one server: those that need a task definition to be absent come
        // before those that register it (by serving the task, here and below).
        row("rest/kitchensink/wf1.json", "main_workflow")
            .label("legacy schemaVersion 1: the literal dynamic task name has no task definition, the workflow fails")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "task_5"}))
            .expect("FAILED")
            .task("task_1", "COMPLETED")
            .absent("task_3"),
        row("rest/kitchensink/wf1.json", "main_workflow")
            .label("legacy schemaVersion 1 runs as 2: paths without ${} are literal text, the DECISION matches no case")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "task_5"}))
            .serve("workflow.input.task2Name")
            .check("/refs", json!(["task_1", "task_2", "task_3", "oddEvenDecision", "task_28", "task_29", "task_30"]))
            .check("/tasks/task_1/input", json!({"mod": "workflow.input.mod", "oddEven": "workflow.input.oddEven"}))
            .check("/tasks/task_2/input", json!({"taskToExecute": "workflow.input.task2Name"}))
            .check("/tasks/oddEvenDecision/output", json!({"caseOutput": ["task_3.output.oddEven"]}))
            .check("/tasks/task_30/input", json!({"mod": "task_29.output.mod", "oddEven": "task_29.output.oddEven"}))
            .check("/output", out("task_30")),
        // ---- core: the performance workflow ----
        // Again the row that needs a task definition absent (get_from_es's) comes first.
        row(perf_test, "performance_test_1")
            .label("get_es_1 has no HTTP request at all: it fails, unretried, and so does the workflow")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "perf_task_10"}))
            .serve("perf_task_10")
            .expect("FAILED")
            .task("perf_task_3", "COMPLETED")
            .task("get_es_1", "FAILED")
            .check("/tasks/get_es_1/instances", json!(1))
            .absent("oddEvenDecision")
            .check("/output", json!({})),
        row(perf_test, "performance_test_1")
            .label("case 0: dynamic fan-out of two sub-workflows; the ES search comes from get_from_es's input template")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "perf_task_10"}))
            .serve("perf_task_10")
            .serve("get_from_es")
            .task_def(es_task_def())
            .on("perf_task_1", Do::Complete(perf("5", "1")))
            .on("perf_task_2", Do::Complete(perf("1", "1")))
            .on("perf_task_3", Do::Complete(perf("6", "0")))
            .on(
                "perf_task_4",
                Do::Complete(json!({"mod": "9", "oddEven": "1",
                    "inputs": {"subflow_0": {"mod": 4, "oddEven": 0}, "subflow_2": {"mod": 4, "oddEven": 0}},
                    "dynamicTasks": [
                        {"name": "sub_workflow_x", "taskReferenceName": "subflow_0", "type": "SUB_WORKFLOW",
                         "subWorkflowParam": {"name": "sub_flow_1"}},
                        {"name": "sub_workflow_x", "taskReferenceName": "subflow_2", "type": "SUB_WORKFLOW",
                         "subWorkflowParam": {"name": "sub_flow_1"}}
                    ]})),
            )
            .check("/tasks/perf_task_1/input", perf("0", "0"))
            .check("/tasks/perf_task_2/input", json!({"taskToExecute": "perf_task_10"}))
            .check("/tasks/perf_task_3/input", perf("1", "1"))
            .check("/tasks/get_es_1/output/response/statusCode", json!(200))
            .check("/tasks/get_es_1/output/response/body/hits/total", json!(2))
            .check("/tasks/oddEvenDecision/output", json!({"caseOutput": ["0"]}))
            .check("/tasks/perf_task_4/input", perf("6", "0"))
            .check("/tasks/subflow_0/input/mod", json!(4))
            .check("/tasks/subflow_2/child/status", json!("COMPLETED"))
            .same("/tasks/join1/output/subflow_0", "/tasks/subflow_0/output")
            .same("/tasks/join1/output/subflow_2", "/tasks/subflow_2/output")
            .check("/tasks/perf_task_5/input", perf("9", "1"))
            .task("perf_task_6", "COMPLETED")
            .absent("perf_task_7")
            .check("/tasks/perf_task_28/input", perf("6", "0"))
            .check("/output", out("perf_task_30")),
        row(perf_test, "performance_test_1")
            .label("case 1, mod 5: a task, a sub-workflow whose inputs name a task that never ran, a task")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "perf_task_10"}))
            .serve("perf_task_10")
            .serve("get_from_es")
            .task_def(es_task_def())
            .on("perf_task_3", Do::Complete(perf("9", "1")))
            .on("perf_task_7", Do::Complete(perf("5", "1")))
            .on("perf_task_8", Do::Complete(perf("5", "1")))
            .on("perf_task_21", Do::Complete(perf("2", "0")))
            .check(
                "/refs",
                json!(["perf_task_1", "perf_task_2", "perf_task_3", "get_es_1", "oddEvenDecision",
                       "perf_task_7", "perf_task_8", "perf_task_9", "modDecision", "perf_task_21",
                       "wf3", "perf_task_22", "perf_task_28", "perf_task_29", "perf_task_30"]),
            )
            .check("/tasks/modDecision/output", json!({"caseOutput": ["5"]}))
            .check("/tasks/wf3/child/status", json!("COMPLETED"))
            .check("/tasks/perf_task_22/input", perf("2", "0"))
            .check("/output", out("perf_task_30")),
        row(perf_test, "performance_test_1")
            .label("case 1, default mod case")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "perf_task_10"}))
            .serve("perf_task_10")
            .serve("get_from_es")
            .task_def(es_task_def())
            .on("perf_task_3", Do::Complete(perf("9", "1")))
            .on("perf_task_8", Do::Complete(perf("7", "1")))
            .check("/tasks/modDecision/output", json!({"caseOutput": ["7"]}))
            .check("/refs/9", json!("perf_task_24"))
            .task("wf4", "COMPLETED")
            .task("perf_task_25", "COMPLETED")
            .absent("wf3")
            .check("/output", out("perf_task_30")),
        row(perf_done, "performance_test_1")
            .label("legacy schemaVersion 1 runs as 2: literal inputs; the DYNAMIC's inline task definition lets a literal name run")
            .input(json!({"mod": "0", "oddEven": "0", "task2Name": "perf_task_10"}))
            .serve("workflow.input.task2Name")
            .serve("get_from_es")
            .task_def(es_task_def())
            .check("/tasks/perf_task_1/input", json!({"mod": "workflow.input.mod", "oddEven": "workflow.input.oddEven"}))
            .check("/tasks/perf_task_2/input", json!({"taskToExecute": "workflow.input.task2Name"}))
            .task("get_es_1", "COMPLETED")
            .check("/tasks/oddEvenDecision/output", json!({"caseOutput": ["perf_task_3.output.oddEven"]}))
            .check("/refs/5", json!("perf_task_28"))
            .check("/output", out("perf_task_30")),
        // ---- HTTP ----
        row("e2e/metadata/concurrency_check_http.json", "concurrency-check-workflow-http")
            .label("HTTP request given at the top of the input; one run, the workflow's concurrency limit is not reached")
            .check("/tasks/http_ref/input/readTimeOut", json!("3000"))
            .check("/tasks/http_ref/output/response/statusCode", json!(200))
            .check("/tasks/http_ref/output/response/body/method", json!("GET"))
            .check("/tasks/http_ref/output/response/body/path", json!("/api"))
            .same("/output", "/tasks/http_ref/output"),
        row("e2e/metadata/sync_workflows.json", "sync_workflow_failed_case")
            .label("the second HTTP call names a host that does not exist: it fails, unretried")
            .expect("FAILED")
            .check("/tasks/http_no_fail/output/response/statusCode", json!(200))
            .check("/tasks/http_no_fail/output/response/body/path", json!("/get"))
            .task("http_fail", "FAILED")
            .check("/tasks/http_fail/instances", json!(1)),
        row(wd, "http_async_complete")
            .label("asyncComplete on the workflow task: the call answers, the task waits for an update")
            .signal("http_ref", json!({"signal": "done"}))
            .check("/tasks/http_ref/input/asyncComplete", json!(true))
            .check("/tasks/http_ref/output/response/statusCode", json!(200))
            .check("/tasks/http_ref/output/response/body", json!({"hello": "Orkes_Async"}))
            .check("/tasks/http_ref/output/signal", json!("done"))
            .same("/output", "/tasks/http_ref/output"),
        row(wd, "http_blocked_ip")
            .label("a bare IP address (the cloud metadata service's): the call fails, unretried")
            .expect("FAILED")
            .task("http_ref", "FAILED")
            .check("/tasks/http_ref/instances", json!(1)),
        row(wd, "this_will_fail")
            .label("HTTP, SET_VARIABLE and jq complete; the last HTTP call gets a 404 and fails the workflow")
            .expect("FAILED")
            .check("/tasks/http_task_lvome_ref/output/response/statusCode", json!(200))
            .check("/variables", json!({"name": "Orkes"}))
            .check(
                "/tasks/json_transform_task_518l3h_ref/output/result",
                json!([{"user": {"email": "mail@mail.com", "id": 1}},
                       {"user": {"email": "mail2@mail.com", "id": 2}}]),
            )
            .task("get_random_fact", "FAILED")
            .check("/tasks/get_random_fact/instances", json!(1))
            .check("/output", json!({"data": null})),
        // ---- test-harness ----
        row(&th("event_workflow_integration_test.json"), "test_event_workflow")
            .label("EVENT to the conductor provider with no handler listening, then a task")
            .check("/tasks/wait0/input", json!({"sink": "conductor", "asyncComplete": false}))
            .check("/tasks/wait0/output/event_produced", json!("conductor:test_event_workflow:wait0"))
            .check("/tasks/wait0/output/workflowType", json!("test_event_workflow"))
            .check("/tasks/wait0/output/workflowVersion", json!(1))
            .task("wait0", "COMPLETED")
            .check("/output", out("t1")),
        row(&th("json_jq_transform_result_integration_test.json"), "json_jq_transform_result_wf")
            .label("jq says CREATE; the action asked for is not available: the population HTTP call runs")
            .input(json!({"requestedAction": "cancel"}))
            .check("/tasks/json_jq_1/output", json!({"result": "CREATE", "resultList": ["CREATE"]}))
            .check("/tasks/decide_1/output", json!({"caseOutput": ["CREATE"]}))
            .check(
                "/tasks/json_jq_2/output/result",
                json!(["redeliver", "redeliver_from_validation_error", "redelivery"]),
            )
            .check("/tasks/decide_2/output", json!({"caseOutput": ["false"]}))
            .check("/tasks/get_population_data/output/response/statusCode", json!(200))
            .check("/output/response/body/data/0/Population", json!(331097593)),
        row(&th("json_jq_transform_result_integration_test.json"), "json_jq_transform_result_wf")
            .label("the action asked for is available: the javascript DECISION says true, a case it lacks")
            .input(json!({"requestedAction": "redelivery"}))
            .check("/refs", json!(["json_jq_1", "decide_1", "json_jq_2", "decide_2"]))
            .check("/tasks/decide_2/output", json!({"caseOutput": ["true"]}))
            .check("/output", json!({"caseOutput": ["true"]})),
        row(&th("sqs-test-workflow.json"), "sqs_test_workflow")
            .label("EVENT to the sqs provider, which is not configured: the task fails, the WAIT never starts")
            .expect("FAILED")
            .task("send_sqs_event_ref", "FAILED")
            .check("/tasks/send_sqs_event_ref/input", json!({"sink": "sqs:conductor-test-sqs-COMPLETED", "asyncComplete": false}))
            .check("/tasks/send_sqs_event_ref/output/event_produced", json!("sqs:conductor-test-sqs-COMPLETED"))
            .absent("wait_for_sqs_event_ref")
            .same("/output", "/tasks/send_sqs_event_ref/output"),
    ]
}
