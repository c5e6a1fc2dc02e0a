//! System tasks the server runs itself, end to end against the real binary: INLINE,
//! LAMBDA, JSON_JQ_TRANSFORM, HTTP (against a local server this test starts), SWITCH with a
//! JavaScript evaluator, DO_WHILE with a JavaScript condition and with items, WAIT and
//! HUMAN, and these as FORK_JOIN_DYNAMIC branches. Scripts that loop forever or allocate
//! without bound fail their task and the server stays healthy; a failed HTTP call keeps its
//! error text in its output.

use std::time::{Duration, Instant};

use crate::support::*;
use axum::Json;
use baton_grpc::convert::object_to_struct;
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_client::TaskServiceClient;
use serde_json::{Value, json};

/// Starts a local HTTP server: GET /hello answers JSON, POST /echo echoes the body,
/// GET /missing answers 404. Returns its base URL.
async fn http_server() -> String {
    let app = axum::Router::new()
        .route(
            "/hello",
            axum::routing::get(|| async { Json(json!({"greeting": "hi"})) }),
        )
        .route(
            "/echo",
            axum::routing::post(
                |Json(body): Json<Value>| async move { Json(json!({"got": body})) },
            ),
        )
        .route(
            "/missing",
            axum::routing::get(|| async { (axum::http::StatusCode::NOT_FOUND, "no such thing") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn task<'w>(w: &'w pb::Workflow, reference: &str) -> &'w pb::Task {
    w.tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference)
        .unwrap_or_else(|| panic!("no task {reference} in {w:#?}"))
}

fn task_output(t: &pb::Task) -> Value {
    Value::Object(
        t.output
            .as_ref()
            .map(baton_grpc::convert::struct_to_object)
            .unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_jq_and_http_run_inside_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let base = http_server().await;
    let def = json!({"name": "systasks", "version": 1, "tasks": [
        {"name": "inline", "taskReferenceName": "inline", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "n": "${workflow.input.n}",
            "expression": "function f() { return {double: $.n * 2, list: [1, 2].map(function (x) { return x + $.n; })}; } f();"}},
        {"name": "lambda", "taskReferenceName": "lambda", "type": "LAMBDA",
         "inputParameters": {"v": "${inline.output.result.double}",
            "scriptExpression": "if ($.v > 10) { return 'big'; } return 'small';"}},
        {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"items": "${inline.output.result.list}", "queryExpression": ".items | map(. * 10)"}},
        {"name": "get", "taskReferenceName": "get", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": format!("{base}/hello"), "method": "GET"}}},
        {"name": "post", "taskReferenceName": "post", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": format!("{base}/echo"), "method": "POST",
            "body": {"size": "${lambda.output.result}"}}}},
        {"name": "switch", "taskReferenceName": "switch", "type": "SWITCH", "evaluatorType": "javascript",
         "expression": "$.code == 200 ? 'ok' : 'bad'", "inputParameters": {"code": "${post.output.response.statusCode}"},
         "decisionCases": {"ok": [{"name": "set", "taskReferenceName": "set", "type": "SET_VARIABLE",
             "inputParameters": {"seen": "${get.output.response.body.greeting}"}}]},
         "defaultCase": [{"name": "stop", "taskReferenceName": "stop", "type": "TERMINATE",
             "inputParameters": {"terminationStatus": "FAILED"}}]}
    ], "outputParameters": {
        "double": "${inline.output.result.double}", "size": "${lambda.output.result}",
        "jq": "${jq.output.result}", "echo": "${post.output.response.body.got}",
        "status": "${get.output.response.statusCode}", "seen": "${workflow.variables.seen}",
        "case": "${switch.output.selectedCase}"
    }});
    register_workflow(&ch, &def).await;
    let id = start(&ch, "systasks", json!({"n": 7})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(
        output(&w),
        json!({"double": 14, "size": "big", "jq": [80, 90], "echo": {"size": "big"},
               "status": 200, "seen": "hi", "case": "ok"})
    );
    let get_task = task(&w, "get");
    assert_eq!(
        task_output(get_task)["response"]["reasonPhrase"],
        json!("OK")
    );
    // A system task's type stays its operator's name.
    let types: Vec<_> = ["inline", "lambda", "jq", "get", "switch", "set"]
        .iter()
        .map(|r| task(&w, r).task_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "INLINE",
            "LAMBDA",
            "JSON_JQ_TRANSFORM",
            "HTTP",
            "SWITCH",
            "SET_VARIABLE"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_their_reason_and_the_server_stays_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let base = http_server().await;
    // A loopback port where nothing listens.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cases = [
        (
            "loop",
            json!({"name": "s", "taskReferenceName": "s", "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript", "expression": "while (true) {}"}}),
            "ms",
        ),
        (
            "memory",
            json!({"name": "s", "taskReferenceName": "s", "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript",
                "expression": "var a = []; while (true) { a.push('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' + a.length); }"}}),
            "memory",
        ),
        (
            "syntax",
            json!({"name": "s", "taskReferenceName": "s", "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript", "expression": "function ("}}),
            "yntax",
        ),
        (
            "jq",
            json!({"name": "s", "taskReferenceName": "s", "type": "JSON_JQ_TRANSFORM",
            "inputParameters": {"queryExpression": ".a | .b +", "a": 1}}),
            "",
        ),
        (
            "jqruntime",
            json!({"name": "s", "taskReferenceName": "s", "type": "JSON_JQ_TRANSFORM",
            "inputParameters": {"queryExpression": ".a.b", "a": 1}}),
            "",
        ),
        (
            "http404",
            json!({"name": "h404", "taskReferenceName": "s", "type": "HTTP",
            "inputParameters": {"http_request": {"uri": format!("{base}/missing")}}}),
            "404",
        ),
        (
            "httprefused",
            json!({"name": "h404", "taskReferenceName": "s", "type": "HTTP",
            "inputParameters": {"http_request": {"uri": format!("http://{refused}/x")}}}),
            "cannot connect",
        ),
    ];
    register_task_defs(&ch, json!([{"name": "h404", "retryCount": 0}])).await;
    for (name, t, text) in cases {
        let def = json!({"name": format!("bad_{name}"), "version": 1, "tasks": [t]});
        register_workflow(&ch, &def).await;
        let started = Instant::now();
        let id = start(&ch, &format!("bad_{name}"), json!({})).await;
        let w = wait_terminal(&ch, &id, 30).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Failed, "{name}: {w:#?}");
        let t = task(&w, "s");
        assert!(
            t.reason_for_incompletion.contains(text) && !t.reason_for_incompletion.is_empty(),
            "{name}: {}",
            t.reason_for_incompletion
        );
        // As in Conductor, an INLINE script that fails the same way on every try fails
        // for good; one that ran out of time fails retryably.
        let want = match name {
            "memory" | "syntax" => Some(pb::TaskStatus::FailedWithTerminalError),
            "loop" => Some(pb::TaskStatus::Failed),
            _ => None,
        };
        if let Some(want) = want {
            assert_eq!(t.status, want as i32, "{name}");
        }
        // As in Conductor, a failed HTTP call keeps its error text in the output.
        if name.starts_with("http") {
            assert_eq!(
                task_output(t),
                json!({"response": t.reason_for_incompletion}),
                "{name}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(30));
        // The server still answers.
        let health = tonic_health::pb::health_client::HealthClient::new(ch.clone())
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(health.status, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_with_conditions_and_items_waits_and_human_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let def = json!({"name": "loops", "version": 1, "tasks": [
        {"name": "count", "taskReferenceName": "count", "type": "DO_WHILE",
         "inputParameters": {"limit": "${workflow.input.limit}"},
         "loopCondition": "if ($.count['iteration'] < $.limit) { true; } else { false; }",
         "loopOver": [
            {"name": "inc", "taskReferenceName": "inc", "type": "INLINE",
             "inputParameters": {"evaluatorType": "javascript", "i": "${count.output.iteration}", "expression": "$.i * $.i"}}
         ]},
        {"name": "each", "taskReferenceName": "each", "type": "DO_WHILE",
         "inputParameters": {"items": ["a", "b"]},
         "loopOver": [
            {"name": "nap", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "1s"}},
            {"name": "upper", "taskReferenceName": "upper", "type": "INLINE",
             "inputParameters": {"evaluatorType": "javascript", "x": "${each.output.item}", "expression": "$.x.toUpperCase()"}}
         ]},
        {"name": "approve", "taskReferenceName": "approve", "type": "HUMAN"}
    ], "outputParameters": {"iterations": "${count.output.iteration}", "last": "${count.output.3.inc.result}",
        "upper": "${each.output.2.upper.result}", "approved": "${approve.output.ok}"}});
    register_workflow(&ch, &def).await;
    let id = start(&ch, "loops", json!({"limit": 3})).await;
    // Wait for the HUMAN task, then approve it through UpdateTask.
    let deadline = Instant::now() + Duration::from_secs(20);
    let human = loop {
        let w = get(&ch, &id).await;
        if let Some(t) = w.tasks.iter().find(|t| t.reference_task_name == "approve") {
            break t.clone();
        }
        assert!(Instant::now() < deadline, "no HUMAN task: {w:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(task_status(&human), pb::TaskStatus::InProgress);
    TaskServiceClient::new(ch.clone())
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: human.task_id.clone(),
                workflow_id: id.clone(),
                status: pb::TaskStatus::Completed as i32,
                output: Some(object_to_struct(json!({"ok": true}).as_object().unwrap())),
                ..Default::default()
            }),
        })
        .await
        .expect("update the HUMAN task");
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(
        output(&w),
        json!({"iterations": 3, "last": 9, "upper": "B", "approved": true})
    );
    let refs: Vec<&str> = w
        .tasks
        .iter()
        .map(|t| t.reference_task_name.as_str())
        .collect();
    for r in [
        "inc__1", "inc__2", "inc__3", "nap__1", "upper__1", "nap__2", "upper__2",
    ] {
        assert!(refs.contains(&r), "{r} in {refs:?}");
    }
    // Each WAIT waited its second.
    let nap = task(&w, "nap__2");
    let waited = nap.end_time.as_ref().unwrap().seconds * 1000
        + i64::from(nap.end_time.as_ref().unwrap().nanos / 1_000_000)
        - (nap.start_time.as_ref().unwrap().seconds * 1000
            + i64::from(nap.start_time.as_ref().unwrap().nanos / 1_000_000));
    assert!(waited >= 1000, "waited {waited} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_wait_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    let def = json!({"name": "nap", "version": 1, "tasks": [
        {"name": "nap", "taskReferenceName": "nap", "type": "WAIT", "inputParameters": {"duration": "2s"}},
        {"name": "after", "taskReferenceName": "after", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "'done'"}}
    ]});
    register_workflow(&ch, &def).await;
    let id = start(&ch, "nap", json!({})).await;
    server.kill9();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(output(&w), json!({"result": "done"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_fork_branches_of_system_task_types() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let base = http_server().await;
    let def = json!({"name": "dynsys", "version": 1, "tasks": [
        {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN_DYNAMIC",
         "dynamicForkTasksParam": "tasks", "dynamicForkTasksInputParamName": "inputs",
         "inputParameters": {"tasks": "${workflow.input.tasks}", "inputs": {}}},
        {"name": "join", "taskReferenceName": "join", "type": "JOIN"}
    ]});
    register_workflow(&ch, &def).await;
    let tasks = json!([
        {"name": "inline", "taskReferenceName": "inline", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "6 * 7"}},
        {"name": "jq", "taskReferenceName": "jq", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".a + 1", "a": 1}},
        {"name": "get", "taskReferenceName": "get", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": format!("{base}/hello")}}},
        {"name": "nap", "taskReferenceName": "nap", "type": "WAIT",
         "inputParameters": {"duration": "1s"}},
        {"name": "vars", "taskReferenceName": "vars", "type": "SET_VARIABLE",
         "inputParameters": {"seen": "yes"}}
    ]);
    let id = start(&ch, "dynsys", json!({"tasks": tasks})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    let join = task_output(task(&w, "join"));
    assert_eq!(join["inline"], json!({"result": 42}));
    assert_eq!(join["jq"]["result"], json!(2));
    assert_eq!(join["get"]["response"]["body"], json!({"greeting": "hi"}));
    assert_eq!(task_status(task(&w, "nap")), pb::TaskStatus::Completed);
    let variables = Value::Object(
        w.variables
            .as_ref()
            .map(baton_grpc::convert::struct_to_object)
            .unwrap_or_default(),
    );
    assert_eq!(variables, json!({"seen": "yes"}));
    for (r, ty) in [
        ("inline", "INLINE"),
        ("jq", "JSON_JQ_TRANSFORM"),
        ("get", "HTTP"),
        ("nap", "WAIT"),
        ("vars", "SET_VARIABLE"),
    ] {
        assert_eq!(task(&w, r).task_type, ty);
    }

    // A branch that would fork again fails the workflow, saying why.
    let id = start(
        &ch,
        "dynsys",
        json!({"tasks": [{"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE",
                          "loopCondition": "false",
                          "loopOver": [{"name": "x", "taskReferenceName": "x"}]}]}),
    )
    .await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed, "{w:#?}");
    assert!(
        w.reason_for_incompletion
            .contains("has type DO_WHILE, which cannot run as a dynamic branch"),
        "{}",
        w.reason_for_incompletion
    );
}
