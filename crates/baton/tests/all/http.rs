//! The HTTP/JSON API end to end, against the real binary: Conductor's routes, shapes and
//! client quirks, bad input, and gRPC beside it on the same listener.

use crate::support;

use std::time::{Duration, Instant};

use crate::support::Server;
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// A client builder; the TLS crypto provider (unused over plain HTTP) must be chosen first.
fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
}

fn client() -> Client {
    client_builder().build().expect("client")
}

struct Api {
    base: String,
    http: Client,
}

struct Answer {
    status: StatusCode,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

impl Api {
    fn new(server: &Server) -> Api {
        Api {
            base: format!("http://{}/api", server.addr),
            http: client(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.expect("body");
        Answer {
            status,
            content_type,
            text,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(&body.to_string())).await
    }
    async fn put(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::PUT, path, Some(&body.to_string())).await
    }
    async fn delete(&self, path: &str, body: &Value) -> Answer {
        self.call(Method::DELETE, path, Some(&body.to_string()))
            .await
    }

    /// Asserts a 200 and returns the body as JSON.
    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let b = body.map(|b| b.to_string());
        let a = self.call(method.clone(), path, b.as_deref()).await;
        assert_eq!(a.status, StatusCode::OK, "{method} {path}: {}", a.text);
        if a.text.is_empty() {
            Value::Null
        } else {
            a.json()
        }
    }

    async fn workflow(&self, id: &str) -> Value {
        self.ok(Method::GET, &format!("/workflow/{id}"), None).await
    }

    async fn wait_status(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let w = self.workflow(id).await;
            if w["status"] == status {
                return w;
            }
            assert!(
                Instant::now() < deadline,
                "workflow {id} never became {status}: {w:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls one task of a type, waiting for it.
    async fn take(&self, task_type: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self
                .ok(
                    Method::GET,
                    &format!("/tasks/poll/batch/{task_type}?workerid=w1&count=1&timeout=500"),
                    None,
                )
                .await;
            if let Some(t) = got.as_array().and_then(|a| a.first()) {
                return t.clone();
            }
            assert!(Instant::now() < deadline, "no {task_type} task came");
        }
    }

    async fn complete(&self, task: &Value, output: Value) {
        let a = self
            .post(
                "/tasks",
                &json!({
                    "taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"],
                    "status": "COMPLETED", "outputData": output, "workerId": "w1"
                }),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.text, task["taskId"].as_str().unwrap());
        assert!(
            a.content_type.starts_with("text/plain"),
            "{}",
            a.content_type
        );
    }
}

async fn setup(api: &Api) {
    // Definitions as conductor-python writes them: no ownerEmail anywhere.
    api.ok(
        Method::POST,
        "/metadata/taskdefs",
        Some(json!([{"name": "h_work"}, {"name": "h_flaky", "retryCount": 1, "retryDelaySeconds": 0}])),
    )
    .await;
    let def = json!({
        "name": "h_flow", "version": 1,
        "tasks": [
            {"name": "h_work", "taskReferenceName": "first", "type": "SIMPLE",
             "inputParameters": {"x": "${workflow.input.x}"}},
            {"name": "h_work", "taskReferenceName": "second", "type": "SIMPLE"}
        ],
        "outputParameters": {"got": "${second.output.v}"}
    });
    api.ok(Method::POST, "/metadata/workflow", Some(def)).await;
}

#[tokio::test]
async fn http_and_grpc_share_one_listener() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;

    // Started over HTTP, read over gRPC; and the other way round.
    let a = api
        .post("/workflow", &json!({"name": "h_flow", "input": {"x": 1}}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let id = a.text.clone();
    let ch = server.channel().await;
    let w = support::get(&ch, &id).await;
    assert_eq!(w.workflow_name, "h_flow");
    let grpc_id = WorkflowServiceClient::new(ch.clone())
        .start_workflow(pb::StartWorkflowRequest {
            name: "h_flow".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .workflow_id;
    assert_eq!(api.workflow(&grpc_id).await["workflowName"], "h_flow");

    // Health on both protocols.
    let health = api
        .http
        .get(format!("http://{}/health", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), r#"{"healthy":true}"#);
    let mut h = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let s = h
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.status, 1, "SERVING");

    // HTTP/2 without TLS (prior knowledge) reaches the same routes.
    let h2 = client_builder().http2_prior_knowledge().build().unwrap();
    let r = h2
        .get(format!(
            "http://{}/api/workflow/{id}?includeTasks=false",
            server.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["workflowId"], id.as_str());
    assert_eq!(body["tasks"], json!([]));
}

#[tokio::test]
async fn a_worker_loop_over_http_runs_a_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;

    // A long poll waits for the task the start makes.
    let poller = {
        let base = api.base.clone();
        tokio::spawn(async move {
            let r = client()
                .get(format!(
                    "{base}/tasks/poll/batch/h_work?workerid=w1&count=4&timeout=10000"
                ))
                .send()
                .await
                .unwrap();
            let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            v
        })
    };
    // Empty queue: the poll is waiting, which the poll data shows.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pd = api
            .ok(Method::GET, "/tasks/queue/polldata?taskType=h_work", None)
            .await;
        if pd.as_array().is_some_and(|a| !a.is_empty()) {
            assert_eq!(pd[0]["queueName"], "h_work");
            assert_eq!(pd[0]["workerId"], "w1");
            assert!(pd[0]["lastPollTime"].as_i64().unwrap() > 1_600_000_000_000);
            break;
        }
        assert!(Instant::now() < deadline, "the poll never showed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id = api
        .post(
            "/workflow/h_flow?version=1&correlationId=order-7&priority=5",
            &json!({"x": 42}),
        )
        .await
        .text;
    let got = poller.await.unwrap();
    let t = &got[0];
    assert_eq!(t["status"], "IN_PROGRESS");
    assert_eq!(
        t["taskType"], "h_work",
        "a worker task shows its name as type"
    );
    assert_eq!(t["referenceTaskName"], "first");
    assert_eq!(t["inputData"], json!({"x": 42}));
    assert_eq!(t["workflowInstanceId"], id.as_str());
    assert_eq!(t["correlationId"], "order-7");
    assert_eq!(t["workflowPriority"], 5);
    assert_eq!(t["seq"], 1);
    assert_eq!(t["pollCount"], 1);

    // update-v2 answers the next task of the same type at once.
    let a = api
        .post(
            "/tasks/update-v2",
            &json!({"taskId": t["taskId"], "workflowInstanceId": id, "status": "COMPLETED",
                    "outputData": {"v": 1}, "workerId": "w1",
                    "logs": [{"log": "started", "createdTime": 1700000000}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let next = a.json();
    assert_eq!(next["referenceTaskName"], "second");
    // The log's time came in seconds and is kept in ms.
    let logs = api
        .ok(
            Method::GET,
            &format!("/tasks/{}/log", t["taskId"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(logs[0]["log"], "started");
    assert_eq!(logs[0]["createdTime"], 1_700_000_000_000i64);

    // Nothing left: 204.
    let a = api
        .post(
            "/tasks/update-v2",
            &json!({"taskId": next["taskId"], "workflowInstanceId": id, "status": "COMPLETED",
                    "outputData": {"v": 2}, "workerId": "w1"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let w = api.wait_status(&id, "COMPLETED").await;
    assert_eq!(w["output"], json!({"got": 2}));
    assert_eq!(w["correlationId"], "order-7");
    assert_eq!(w["priority"], 5);
    let tasks = w["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    for t in tasks {
        assert_eq!(t["taskType"], "h_work");
        assert_eq!(t["status"], "COMPLETED");
        assert!(t["startTime"].as_i64().unwrap() >= t["scheduledTime"].as_i64().unwrap());
        assert!(t["endTime"].as_i64().unwrap() >= t["startTime"].as_i64().unwrap());
        assert_eq!(t["workflowTask"]["name"], "h_work");
        assert_eq!(t["taskDefinition"]["name"], "h_work");
        assert_eq!(t["executed"], true);
    }
    // Nulls are left out: no reasonForIncompletion on a completed run.
    assert!(w.get("reasonForIncompletion").is_none(), "{w:#}");
    assert!(w.get("parentWorkflowId").is_none());
    assert_eq!(w["workflowDefinition"]["name"], "h_flow");
    assert!(w["endTime"].as_i64().unwrap() >= w["createTime"].as_i64().unwrap());

    // Queue figures.
    let sizes = api
        .ok(
            Method::GET,
            "/tasks/queue/sizes?taskType=h_work&taskType=other",
            None,
        )
        .await;
    assert_eq!(sizes, json!({"h_work": 0, "other": 0}));
    let single = api.get("/tasks/poll/h_work?workerid=w1").await;
    assert_eq!(single.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn conductor_client_quirks_are_understood() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;

    // overwrite=True replaces a version; without it, 409.
    let def = json!({"name": "h_flow", "version": 1, "description": "again",
                     "tasks": [{"name": "h_work", "taskReferenceName": "first", "type": "SIMPLE"}]});
    let a = api.post("/metadata/workflow", &def).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);
    assert_eq!(a.json()["status"], 409);
    api.ok(Method::POST, "/metadata/workflow?overwrite=True", Some(def))
        .await;
    let got = api
        .ok(Method::GET, "/metadata/workflow/h_flow?version=1", None)
        .await;
    assert_eq!(got["description"], "again");

    // A task definition by PUT (one) after POST (a list); PUT of an unknown one is 404.
    api.ok(
        Method::PUT,
        "/metadata/taskdefs",
        Some(json!({"name": "h_work", "retryCount": 2})),
    )
    .await;
    assert_eq!(
        api.ok(Method::GET, "/metadata/taskdefs/h_work", None).await["retryCount"],
        2
    );
    let a = api
        .put("/metadata/taskdefs", &json!({"name": "nobody"}))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);

    // `{}` bodies on PUT and DELETE, `True`/`False` booleans.
    let id = api.post("/workflow", &json!({"name": "h_flow"})).await.text;
    api.ok(
        Method::PUT,
        &format!("/workflow/{id}/pause"),
        Some(json!({})),
    )
    .await;
    assert_eq!(api.workflow(&id).await["status"], "PAUSED");
    api.ok(
        Method::PUT,
        &format!("/workflow/{id}/resume"),
        Some(json!({})),
    )
    .await;
    let w = api
        .ok(
            Method::GET,
            &format!("/workflow/{id}?includeTasks=False"),
            None,
        )
        .await;
    assert_eq!(w["tasks"], json!([]));
    let a = api.get(&format!("/workflow/{id}?includeTasks=maybe")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("includeTasks"), "{}", a.text);
    api.ok(
        Method::DELETE,
        &format!("/workflow/{id}?reason=enough"),
        Some(json!({})),
    )
    .await;
    let w = api.workflow(&id).await;
    assert_eq!(w["status"], "TERMINATED");
    assert_eq!(w["reasonForIncompletion"], "enough");

    // A raw log body, JSON escapes left in, is kept as it came; a JSON string is unquoted.
    let t = api.ok(Method::GET, &format!("/workflow/{id}"), None).await["tasks"][0].clone();
    let tid = t["taskId"].as_str().unwrap().to_string();
    let a = api
        .call(
            Method::POST,
            &format!("/tasks/{tid}/log"),
            Some(r#"line with \"quotes\""#),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    api.ok(
        Method::POST,
        &format!("/tasks/{tid}/log"),
        Some(json!("second")),
    )
    .await;
    let logs = api
        .ok(Method::GET, &format!("/tasks/{tid}/log"), None)
        .await;
    assert_eq!(logs[0]["log"], r#"line with \"quotes\""#);
    assert_eq!(logs[1]["log"], "second");

    // Orkes-only paths are a clean 404 in Conductor's error shape.
    for path in [
        format!("/workflow/{id}/status"),
        format!("/workflow/{id}/variables"),
    ] {
        let a = api.get(&path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{path}");
        let e = a.json();
        assert_eq!(e["status"], 404);
        assert!(e["message"].as_str().unwrap().contains("no such endpoint"));
    }
    // A search with a malformed query is a client error that says where.
    let a = api.get("/workflow/search?query=x").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("at character")
    );
}

#[tokio::test]
async fn bad_input_gets_conductors_error_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), "127.0.0.1:0", &["--max-payload-bytes", "2048"]);
    let api = Api::new(&server);
    setup(&api).await;

    let a = api.call(Method::POST, "/workflow", Some("{not json")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let e = a.json();
    assert_eq!(e["status"], 400);
    assert_eq!(e["retryable"], false);
    assert!(e["message"].as_str().unwrap().contains("not valid"), "{e}");

    let a = api
        .post("/workflow", &json!({"name": "h_flow", "priority": "high"}))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["validationErrors"][0]["path"], "priority");

    let a = api
        .post("/workflow", &json!({"name": "h_flow", "priority": 500}))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("priority"), "{}", a.text);

    let a = api
        .post("/workflow", &json!({"name": "no_such_flow"}))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text.contains("no_such_flow"), "{}", a.text);

    let a = api.post("/workflow", &json!({"input": {}})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["validationErrors"][0]["path"], "name");

    let a = api.get("/workflow/not-an-execution").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Wrong state: resuming a running execution.
    let id = api.post("/workflow", &json!({"name": "h_flow"})).await.text;
    let a = api.put(&format!("/workflow/{id}/resume"), &json!({})).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);

    // Results: a missing id, a status a worker may not report, an unknown task.
    let a = api
        .post(
            "/tasks",
            &json!({"workflowInstanceId": id, "status": "COMPLETED"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["validationErrors"][0]["path"], "taskId");
    let t = api.take("h_work").await;
    let a = api
        .post(
            "/tasks",
            &json!({"taskId": t["taskId"], "workflowInstanceId": id, "status": "SKIPPED"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("SKIPPED"));
    let a = api
        .post(
            "/tasks",
            &json!({"taskId": "nope", "workflowInstanceId": id, "status": "COMPLETED"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    // update-v2 never answers 404 for a task: clients would take it for a missing route.
    let a = api
        .post(
            "/tasks/update-v2",
            &json!({"taskId": "nope", "workflowInstanceId": id, "status": "COMPLETED"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("nope"));

    // Oversized: the output is over the limit, the body over the limit plus room.
    let big = "x".repeat(4096);
    let a = api
        .post(
            "/tasks",
            &json!({"taskId": t["taskId"], "workflowInstanceId": id, "status": "COMPLETED",
                    "outputData": {"big": big}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("limit"), "{}", a.text);
    let huge = "y".repeat(2 * 1024 * 1024);
    let a = api
        .post(
            "/workflow",
            &json!({"name": "h_flow", "input": {"huge": huge}}),
        )
        .await;
    assert_eq!(
        a.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &a.text[..a.text.len().min(200)]
    );
    // Nothing acknowledged was lost: the task is still held and can complete.
    api.complete(&t, json!({"v": 1})).await;
    let t2 = api.take("h_work").await;
    api.complete(&t2, json!({"v": 2})).await;
    api.wait_status(&id, "COMPLETED").await;
}

#[tokio::test]
async fn operators_steer_executions_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;
    api.ok(
        Method::POST,
        "/metadata/workflow",
        Some(json!({"name": "h_wait", "version": 1, "tasks": [
            {"name": "w", "taskReferenceName": "gate", "type": "WAIT"},
            {"name": "h_flaky", "taskReferenceName": "flaky", "type": "SIMPLE"}
        ]})),
    )
    .await;

    // Signal a WAIT by reference, synchronously.
    let id = api
        .post(
            "/workflow",
            &json!({"name": "h_wait", "correlationId": "c-9",
                                           "idempotencyKey": "k-1"}),
        )
        .await
        .text;
    let w = api
        .ok(
            Method::POST,
            &format!("/tasks/{id}/gate/COMPLETED/sync?workerid=op"),
            Some(json!({"ok": true})),
        )
        .await;
    assert_eq!(w["tasks"][0]["status"], "COMPLETED");
    assert_eq!(w["tasks"][0]["outputData"], json!({"ok": true}));
    // The idempotency key answers the same execution with RETURN_EXISTING, 409 with FAIL.
    let again = api
        .post(
            "/workflow",
            &json!({"name": "h_wait", "idempotencyKey": "k-1",
                                   "idempotencyStrategy": "RETURN_EXISTING"}),
        )
        .await;
    assert_eq!(again.text, id);
    let a = api
        .post(
            "/workflow",
            &json!({"name": "h_wait", "idempotencyKey": "k-1"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);

    // The flaky task fails terminally: the run fails, failed names are shown.
    let t = api.take("h_flaky").await;
    let a = api
        .post("/tasks", &json!({"taskId": t["taskId"], "workflowInstanceId": id,
                                "status": "FAILED_WITH_TERMINAL_ERROR", "reasonForIncompletion": "boom"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let w = api.wait_status(&id, "FAILED").await;
    assert_eq!(w["failedReferenceTaskNames"], json!(["flaky"]));
    assert_eq!(w["failedTaskNames"], json!(["h_flaky"]));

    // Retry, then rerun from the WAIT with new input, then restart.
    api.ok(
        Method::POST,
        &format!("/workflow/{id}/retry?resumeSubworkflowTasks=False"),
        Some(json!({})),
    )
    .await;
    let t = api.take("h_flaky").await;
    assert_eq!(
        t["retryCount"], 1,
        "a manual retry is the next attempt of the task"
    );
    api.complete(&t, json!({})).await;
    let w = api.wait_status(&id, "COMPLETED").await;
    let gate_id = w["tasks"][0]["taskId"].as_str().unwrap().to_string();
    let a = api
        .post(&format!("/workflow/{id}/rerun"),
              &json!({"reRunFromWorkflowId": id, "reRunFromTaskId": gate_id, "workflowInput": {"n": 2}}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.text, id);
    let w = api.wait_status(&id, "RUNNING").await;
    assert_eq!(w["input"], json!({"n": 2}));
    // Skip the WAIT now; the worker task follows.
    api.ok(
        Method::PUT,
        &format!("/workflow/{id}/skiptask/gate?skipTaskRequest=%7B%7D"),
        Some(json!({})),
    )
    .await;
    let t = api.take("h_flaky").await;
    api.complete(&t, json!({})).await;
    let w = api.wait_status(&id, "COMPLETED").await;
    assert!(
        w["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["status"] == "SKIPPED")
    );
    api.ok(
        Method::POST,
        &format!("/workflow/{id}/restart?useLatestDefinitions=true"),
        Some(json!({})),
    )
    .await;
    api.wait_status(&id, "RUNNING").await;

    // Correlated lookups and the running list.
    let list = api
        .ok(
            Method::GET,
            "/workflow/h_wait/correlated/c-9?includeClosed=true&includeTasks=false",
            None,
        )
        .await;
    assert_eq!(list[0]["workflowId"], id.as_str());
    let many = api
        .ok(
            Method::POST,
            "/workflow/h_wait/correlated?includeClosed=true",
            Some(json!(["c-9", "none"])),
        )
        .await;
    assert_eq!(many["c-9"][0]["workflowId"], id.as_str());
    assert_eq!(many["none"], json!([]));
    let running = api.ok(Method::GET, "/workflow/running/h_wait", None).await;
    assert_eq!(running, json!([id]));

    // Bulk: pause two, one of which does not exist.
    let other = api.post("/workflow", &json!({"name": "h_wait"})).await.text;
    let r = api
        .ok(
            Method::PUT,
            "/workflow/bulk/pause",
            Some(json!([id, other, "missing"])),
        )
        .await;
    assert_eq!(r["bulkSuccessfulResults"], json!([id, other]));
    assert!(
        r["bulkErrorResults"]["missing"]
            .as_str()
            .unwrap()
            .contains("missing")
    );
    let r = api
        .ok(
            Method::PUT,
            "/workflow/bulk/resume",
            Some(json!([id, other])),
        )
        .await;
    assert_eq!(r["bulkSuccessfulResults"].as_array().unwrap().len(), 2);
    let r = api
        .ok(
            Method::POST,
            "/workflow/bulk/terminate?reason=cleanup",
            Some(json!([other])),
        )
        .await;
    assert_eq!(r["bulkSuccessfulResults"], json!([other]));
    assert_eq!(
        api.workflow(&other).await["reasonForIncompletion"],
        "cleanup"
    );
    let r = api
        .ok(Method::POST, "/workflow/bulk/restart", Some(json!([other])))
        .await;
    assert_eq!(r["bulkSuccessfulResults"], json!([other]));
    let r = api
        .ok(
            Method::DELETE,
            "/workflow/bulk/terminate-remove",
            Some(json!([other, id])),
        )
        .await;
    assert_eq!(
        r["bulkSuccessfulResults"].as_array().unwrap().len(),
        2,
        "{r}"
    );
    assert_eq!(
        api.get(&format!("/workflow/{other}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Remove one.
    let gone = api.post("/workflow", &json!({"name": "h_wait"})).await.text;
    api.ok(
        Method::DELETE,
        &format!("/workflow/{gone}/remove?archiveWorkflow=False"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        api.get(&format!("/workflow/{gone}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn execute_test_runs_and_event_handlers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;

    // Execute synchronously: waits until the first task is done, with a worker answering.
    let worker = {
        let base = api.base.clone();
        tokio::spawn(async move {
            let api = Api {
                base,
                http: client(),
            };
            let t = api.take("h_work").await;
            api.complete(&t, json!({"v": 10})).await;
        })
    };
    let run = api
        .ok(
            Method::POST,
            "/workflow/execute/h_flow/0?requestId=r-1&waitUntilTaskRef=first&waitForSeconds=20",
            Some(json!({"input": {"x": 3}})),
        )
        .await;
    worker.await.unwrap();
    assert_eq!(run["requestId"], "r-1");
    assert_eq!(run["status"], "RUNNING");
    assert_eq!(run["tasks"][0]["status"], "COMPLETED");
    assert_eq!(run["input"], json!({"x": 3}));

    // A test run with mocked outputs, on an inline definition; the retried task takes the
    // next mock.
    let run = api
        .ok(
            Method::POST,
            "/workflow/test",
            Some(json!({
                "name": "inline_test",
                "workflowDef": {"name": "inline_test", "version": 1, "tasks": [
                    {"name": "h_flaky", "taskReferenceName": "a", "type": "SIMPLE"},
                    {"name": "h_work", "taskReferenceName": "b", "type": "SIMPLE"}
                ], "outputParameters": {"a": "${a.output.n}", "b": "${b.output.n}"}},
                "taskRefToMockOutput": {
                    "a": [{"status": "FAILED", "output": {"n": 0}}, {"status": "COMPLETED", "output": {"n": 1}}],
                    "b": [{"status": "COMPLETED", "output": {"n": 2}}]
                }
            })),
        )
        .await;
    assert_eq!(run["status"], "COMPLETED", "{run:#}");
    assert_eq!(run["output"], json!({"a": 1, "b": 2}));
    assert_eq!(run["tasks"].as_array().unwrap().len(), 3);
    // The inline definition was not registered.
    assert_eq!(
        api.get("/metadata/workflow/inline_test").await.status,
        StatusCode::NOT_FOUND
    );
    let a = api
        .post(
            "/workflow/test",
            &json!({"name": "h_flow", "taskRefToMockOutput": {"first": [{"status": "SKIPPED"}]}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.text.contains("taskRefToMockOutput.first[0].status"),
        "{}",
        a.text
    );

    // Event handlers.
    let h = json!({"name": "on_order", "event": "conductor:orders", "active": true,
                   "actions": [{"action": "start_workflow", "start_workflow": {"name": "h_flow"}}]});
    api.ok(Method::POST, "/event", Some(h.clone())).await;
    assert_eq!(api.post("/event", &h).await.status, StatusCode::CONFLICT);
    let mut inactive = h.clone();
    inactive["active"] = json!(false);
    api.ok(Method::PUT, "/event", Some(inactive)).await;
    assert_eq!(
        api.ok(Method::GET, "/event", None).await[0]["name"],
        "on_order"
    );
    assert_eq!(
        api.ok(Method::GET, "/event/conductor:orders?activeOnly=true", None)
            .await,
        json!([])
    );
    assert_eq!(
        api.ok(
            Method::GET,
            "/event/conductor:orders?activeOnly=false",
            None
        )
        .await[0]["active"],
        false
    );
    api.ok(Method::DELETE, "/event/on_order", Some(json!({})))
        .await;
    assert_eq!(
        api.delete("/event/on_order", &json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    // Metadata lists.
    let nv = api
        .ok(Method::GET, "/metadata/workflow/names-and-versions", None)
        .await;
    assert_eq!(nv["h_flow"][0]["version"], 1);
    let latest = api
        .ok(Method::GET, "/metadata/workflow/latest-versions", None)
        .await;
    assert!(
        latest
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "h_flow")
    );
    let a = api
        .post(
            "/metadata/workflow/validate",
            &json!({"name": "bad", "tasks": [{"type": "SIMPLE"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(!a.json()["validationErrors"].as_array().unwrap().is_empty());
    api.ok(Method::POST, "/metadata/workflow/validate",
           Some(json!({"name": "good", "tasks": [{"name": "x", "taskReferenceName": "x", "type": "SIMPLE"}]})))
        .await;

    // The OpenAPI document names every route served here.
    let doc = api.ok(Method::GET, "/openapi.json", None).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/api/workflow",
        "/api/tasks/update-v2",
        "/api/metadata/workflow",
        "/api/event",
        "/health",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the document"
        );
    }
    let page = api.get("/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/api/openapi.json"));
}

#[tokio::test]
async fn reads_name_operators_and_definitions_as_conductor_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;
    api.ok(
        Method::POST,
        "/metadata/workflow",
        Some(json!({"name": "h_ops", "version": 1, "tasks": [
            {"name": "f", "taskReferenceName": "fork", "type": "FORK_JOIN",
             "forkTasks": [[{"name": "n1", "taskReferenceName": "a", "type": "NOOP"}],
                           [{"name": "n2", "taskReferenceName": "b", "type": "NOOP"}]]},
            {"name": "j", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["a", "b"]},
            {"name": "s", "taskReferenceName": "sw", "type": "SWITCH", "evaluatorType": "value-param",
             "expression": "k", "inputParameters": {"k": "x"},
             "decisionCases": {"x": [{"name": "n3", "taskReferenceName": "c", "type": "NOOP"}]}}
        ]})),
    )
    .await;
    let id = api.post("/workflow", &json!({"name": "h_ops"})).await.text;
    let w = api.wait_status(&id, "COMPLETED").await;
    let find = |r: &str| {
        w["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["referenceTaskName"] == r)
            .cloned()
            .unwrap_or_else(|| panic!("no task {r}: {w:#}"))
    };
    assert_eq!(find("fork")["taskType"], "FORK");
    assert_eq!(find("fork")["taskDefName"], "FORK");
    assert_eq!(find("join")["taskType"], "JOIN");
    assert_eq!(find("join")["taskDefName"], "JOIN");
    assert_eq!(find("sw")["taskDefName"], "SWITCH");
    assert_eq!(find("a")["taskDefName"], "n1");

    // Without tasks, the execution still names its definition (clients read the name and
    // version from it), also in correlation lookups.
    let w = api
        .ok(
            Method::GET,
            &format!("/workflow/{id}?includeTasks=false"),
            None,
        )
        .await;
    assert_eq!(w["workflowDefinition"]["name"], "h_ops");
    assert_eq!(w["workflowDefinition"]["version"], 1);
}

/// Reads server-sent events off a response.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    /// The next event's name and data; None when the stream ended.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if name.is_empty() && data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, data));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.resp.chunk())
                .await
                .expect("no event within 20 s")
                .expect("stream read")?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads `workflow` events until one satisfies `want`.
    async fn until(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let (name, data) = self
                .next()
                .await
                .unwrap_or_else(|| panic!("the stream ended before {what}"));
            assert_eq!(name, "workflow", "{data}");
            let w: Value = serde_json::from_str(&data).expect("event data is JSON");
            if want(&w) {
                return w;
            }
        }
    }
}

#[tokio::test]
async fn an_execution_is_pushed_to_watchers_as_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::new(&server);
    setup(&api).await;
    let id = api.post("/workflow/h_flow", &json!({"x": 1})).await.text;
    let resp = api
        .http
        .get(format!("{}/workflow/{id}/watch", api.base))
        .send()
        .await
        .expect("watch");
    assert_eq!(resp.status(), StatusCode::OK);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let mut events = Events {
        resp,
        buf: String::new(),
    };
    // At once: the run as it stands, with its tasks.
    let w = events.until("the first event", |_| true).await;
    assert_eq!(w["workflowId"], id.as_str());
    assert_eq!(w["status"], "RUNNING");

    // A task completed by a worker is pushed.
    let t = api.take("h_work").await;
    api.complete(&t, json!({"v": 1})).await;
    events
        .until("the first task completed", |w| {
            w["tasks"][0]["status"] == "COMPLETED"
        })
        .await;

    // Terminated, then retried: the same stream shows both.
    let a = api
        .delete(&format!("/workflow/{id}?reason=enough"), &json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let w = events
        .until("TERMINATED", |w| w["status"] == "TERMINATED")
        .await;
    assert_eq!(w["reasonForIncompletion"], "enough");
    api.ok(
        Method::POST,
        &format!("/workflow/{id}/retry"),
        Some(json!({})),
    )
    .await;
    events
        .until("RUNNING again", |w| w["status"] == "RUNNING")
        .await;

    // Removed: a `removed` event, then the stream ends.
    api.ok(
        Method::DELETE,
        &format!("/workflow/{id}/remove?archiveWorkflow=False"),
        None,
    )
    .await;
    loop {
        match events.next().await {
            Some((name, _)) if name == "workflow" => continue,
            Some((name, data)) => {
                assert_eq!(name, "removed");
                assert_eq!(data, id);
                break;
            }
            None => panic!("the stream ended without a removed event"),
        }
    }
    assert!(events.next().await.is_none(), "the stream went on");

    // An unknown execution is a 404 with Conductor's error body.
    let a = api.get("/workflow/no-such-run/watch").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("no-such-run")
    );
}
