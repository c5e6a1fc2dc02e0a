//! Operations on executions over gRPC against the real server: execute until a task,
//! rerun, skip, reset callbacks, decide, paged tasks, bulk operations, updates by reference
//! name, running ids, correlation-id lookups and task logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use baton_grpc::convert::{object_to_struct, struct_to_object, ts};
use baton_proto::v1 as pb;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::Code;
use tonic::transport::Channel;

fn obj(v: Value) -> prost_types::Struct {
    object_to_struct(v.as_object().expect("object"))
}

fn value(s: &Option<prost_types::Struct>) -> Value {
    Value::Object(s.as_ref().map(struct_to_object).unwrap_or_default())
}

fn wf_client(ch: &Channel) -> WorkflowServiceClient<Channel> {
    WorkflowServiceClient::new(ch.clone())
}

fn task_client(ch: &Channel) -> TaskServiceClient<Channel> {
    TaskServiceClient::new(ch.clone())
}

/// Asserts a refusal: its code, and that its message names each of `words`.
fn refused<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, words: &[&str]) {
    let e = r.expect_err("the call must be refused");
    assert_eq!(e.code(), code, "{e:?}");
    for w in words {
        assert!(e.message().contains(w), "{:?} lacks {w:?}", e.message());
    }
}

/// Registers a1 -> b1 -> c1 (task types a, b, c; no retries).
async fn register_chain(ch: &Channel, name: &str) {
    register_task_defs(
        ch,
        json!([
            {"name": "a", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "b", "retryCount": 0, "responseTimeoutSeconds": 30},
            {"name": "c", "retryCount": 0, "responseTimeoutSeconds": 30}
        ]),
    )
    .await;
    register_workflow(
        ch,
        &json!({
            "name": name, "version": 1,
            "tasks": [
                {"name": "a", "taskReferenceName": "a1", "inputParameters": {"x": "${workflow.input.x}"}},
                {"name": "b", "taskReferenceName": "b1", "inputParameters": {"y": "${a1.output.y}"}},
                {"name": "c", "taskReferenceName": "c1", "inputParameters": {"z": "${b1.output.z}"}}
            ],
            "outputParameters": {"z": "${c1.output.z}"}
        }),
    )
    .await;
}

fn task_of<'a>(w: &'a pb::Workflow, reference: &str) -> &'a pb::Task {
    w.tasks
        .iter()
        .rev()
        .find(|t| t.reference_task_name == reference)
        .unwrap_or_else(|| panic!("no task {reference} in {w:#?}"))
}

/// Polls `task_type` once (waiting up to `ms`).
async fn poll(ch: &Channel, task_type: &str, ms: i32) -> Option<pb::TaskAssignment> {
    task_client(ch)
        .poll(pb::PollRequest {
            task_type: task_type.into(),
            worker_id: "op-test".into(),
            timeout_ms: ms,
            ..Default::default()
        })
        .await
        .expect("poll")
        .into_inner()
        .task
}

#[tokio::test]
async fn execute_returns_once_the_named_task_finished() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "exec_until").await;
    // Only a1 has a worker: the workflow stays RUNNING at b1.
    let _a = spawn_worker(
        ch.clone(),
        &["a"],
        4,
        Arc::new(|_t| Action::Complete(json!({"y": 1}))),
    );
    let start = pb::StartWorkflowRequest {
        name: "exec_until".into(),
        input: Some(obj(json!({"x": 1}))),
        ..Default::default()
    };
    let began = Instant::now();
    let r = wf_client(&ch)
        .execute_workflow(pb::ExecuteWorkflowRequest {
            start: Some(start.clone()),
            wait_seconds: 20,
            wait_until_task_ref: "a1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(began.elapsed() < Duration::from_secs(5), "returned late");
    assert!(r.task_ref_finished && !r.finished, "{r:?}");
    let w = r.workflow.unwrap();
    assert_eq!(status(&w), pb::WorkflowStatus::Running);
    assert_eq!(task_status(task_of(&w, "a1")), pb::TaskStatus::Completed);

    // Without a task reference it waits for the end, which does not come in time.
    let r = wf_client(&ch)
        .execute_workflow(pb::ExecuteWorkflowRequest {
            start: Some(start.clone()),
            wait_seconds: 1,
            wait_until_task_ref: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.finished && !r.task_ref_finished);

    refused(
        wf_client(&ch)
            .execute_workflow(pb::ExecuteWorkflowRequest {
                start: Some(start),
                wait_seconds: 1,
                wait_until_task_ref: "no_such_ref".into(),
            })
            .await,
        Code::NotFound,
        &["no_such_ref", "exec_until"],
    );
}

#[tokio::test]
async fn wait_follows_an_execution_started_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "wait_wf").await;
    let id = start(&ch, "wait_wf", json!({"x": 1})).await;
    let wait = |workflow_id: &str, secs: i32, task_ref: &str| pb::WaitWorkflowRequest {
        workflow_id: workflow_id.into(),
        wait_seconds: secs,
        wait_until_task_ref: task_ref.into(),
    };
    // No worker yet: the wait runs out and says so.
    let r = wf_client(&ch)
        .wait_workflow(wait(&id, 1, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(!r.finished && !r.task_ref_finished, "{r:?}");
    assert_eq!(
        status(r.workflow.as_ref().unwrap()),
        pb::WorkflowStatus::Running
    );

    // A wait for a1 asked before the worker comes returns when a1 has finished.
    let waiting = {
        let mut c = wf_client(&ch);
        let req = wait(&id, 30, "a1");
        tokio::spawn(async move { c.wait_workflow(req).await })
    };
    let _a = spawn_worker(
        ch.clone(),
        &["a"],
        4,
        Arc::new(|_t| Action::Complete(json!({"y": 1}))),
    );
    let r = waiting.await.unwrap().unwrap().into_inner();
    assert!(r.task_ref_finished && !r.finished, "{r:?}");
    let w = r.workflow.unwrap();
    assert_eq!(task_status(task_of(&w, "a1")), pb::TaskStatus::Completed);

    // Over HTTP and the CLI the same wait, with what each says when it runs out.
    let http = http_client();
    let body: Value = http
        .get(format!(
            "{}/api/workflow/{id}/wait?waitForSeconds=1&requestId=r-7",
            server.url()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(body["status"], "RUNNING", "{body}");
    assert_eq!(body["requestId"], "r-7", "{body}");
    let (ok, _, err) = cli(&server, &["workflow", "wait", &id, "--wait", "1"]);
    assert!(
        !ok && err.contains("did not finish within 1 seconds"),
        "{err}"
    );

    // Bad input: no such execution, a reference the definition lacks, a wait too long.
    refused(
        wf_client(&ch)
            .wait_workflow(wait("no-such-id", 1, ""))
            .await,
        Code::NotFound,
        &["no-such-id"],
    );
    refused(
        wf_client(&ch).wait_workflow(wait(&id, 1, "zz9")).await,
        Code::NotFound,
        &["zz9", "wait_wf"],
    );
    refused(
        wf_client(&ch).wait_workflow(wait(&id, 301, "")).await,
        Code::InvalidArgument,
        &["wait_seconds", "301"],
    );
    let resp = http
        .get(format!(
            "{}/api/workflow/{id}/wait?waitUntilTaskRef=zz9",
            server.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // Workers for the rest: the wait sees the end, on every surface.
    let _bc = spawn_worker(
        ch.clone(),
        &["b", "c"],
        4,
        Arc::new(|_t| Action::Complete(json!({"z": 2}))),
    );
    let r = wf_client(&ch)
        .wait_workflow(wait(&id, 30, ""))
        .await
        .unwrap()
        .into_inner();
    assert!(r.finished, "{r:?}");
    assert_eq!(
        status(r.workflow.as_ref().unwrap()),
        pb::WorkflowStatus::Completed
    );
    let body: Value = http
        .get(format!("{}/api/workflow/{id}/wait", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(body["status"], "COMPLETED", "{body}");
    let (ok, out, err) = cli(&server, &["workflow", "wait", &id, "--json"]);
    assert!(ok, "{err}");
    assert!(out.contains("COMPLETED"), "{out}");
}

#[tokio::test]
async fn a_batching_worker_takes_tasks_and_acknowledgements_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "batch_wf").await;
    register_workflow(
        &ch,
        &json!({"name": "batch_one", "version": 1,
                "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    )
    .await;
    // Tasks queue up before the worker comes, so they are handed out together.
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(start(&ch, "batch_one", json!({"i": i})).await);
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<pb::WorkRequest>();
    let send = |kind| tx.send(pb::WorkRequest { kind: Some(kind) }).unwrap();
    send(pb::work_request::Kind::Subscribe(pb::Subscribe {
        task_types: vec!["a".into()],
        worker_id: "batcher".into(),
        credits: 100,
        batch: true,
        ..Default::default()
    }));
    let response = task_client(&ch)
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .unwrap();
    // The server tells the worker the largest message it reads: the payload limit
    // (4 MiB by default) and 1 MiB for the rest.
    assert_eq!(
        response
            .metadata()
            .get("baton-max-message-bytes")
            .and_then(|v| v.to_str().ok()),
        Some("5242880")
    );
    let mut inbound = response.into_inner();
    let (mut tasks_seen, mut biggest_task_batch) = (0usize, 0usize);
    let (mut acks_ok, mut ack_batches) = (0usize, 0usize);
    while acks_ok < 200 {
        let msg = tokio::time::timeout(Duration::from_secs(30), inbound.message())
            .await
            .expect("the worker stream went quiet")
            .unwrap()
            .expect("the stream ended");
        let tasks = match msg.kind {
            Some(pb::work_response::Kind::Task(t)) => vec![t],
            Some(pb::work_response::Kind::Tasks(b)) => b.tasks,
            Some(pb::work_response::Kind::ResultAck(a)) => {
                assert!(a.ok, "{a:?}");
                acks_ok += 1;
                continue;
            }
            Some(pb::work_response::Kind::ResultAcks(b)) => {
                ack_batches += 1;
                assert!(b.acks.iter().all(|a| a.ok), "{b:?}");
                acks_ok += b.acks.len();
                continue;
            }
            other => panic!("unexpected {other:?}"),
        };
        tasks_seen += tasks.len();
        biggest_task_batch = biggest_task_batch.max(tasks.len());
        let n = tasks.len() as i32;
        // Every task of the message answered in one ResultBatch, then credit for as many.
        send(pb::work_request::Kind::Results(pb::ResultBatch {
            results: tasks
                .iter()
                .map(|t| pb::TaskResult {
                    task_id: t.task_id.clone(),
                    token: t.token.clone(),
                    workflow_id: t.workflow_id.clone(),
                    status: pb::TaskStatus::Completed as i32,
                    output: Some(obj(json!({"done": input_of(t)["i"]}))),
                    ..Default::default()
                })
                .collect(),
        }));
        send(pb::work_request::Kind::Credits(pb::GrantCredits {
            credits: n,
        }));
    }
    assert_eq!(tasks_seen, 200);
    assert!(biggest_task_batch > 1, "no TaskBatch came");
    assert!(ack_batches > 0, "no AckBatch came");
    for id in &ids {
        let w = wait_terminal(&ch, id, 20).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    }

    // A batch over the limit is refused and ends the stream, naming the limit.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<pb::WorkRequest>();
    for kind in [
        pb::work_request::Kind::Subscribe(pb::Subscribe {
            task_types: vec!["a".into()],
            credits: 1,
            batch: true,
            ..Default::default()
        }),
        pb::work_request::Kind::Results(pb::ResultBatch {
            results: vec![pb::TaskResult::default(); 1001],
        }),
    ] {
        tx.send(pb::WorkRequest { kind: Some(kind) }).unwrap();
    }
    let mut inbound = task_client(&ch)
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let e = loop {
        match inbound.message().await {
            Err(e) => break e,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without a refusal"),
        }
    };
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("at most 1000"), "{e:?}");
}

#[tokio::test]
async fn rerun_runs_a_failed_workflow_again_from_a_task() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "rerun_wf").await;
    let (_a, _) = spawn_worker(
        ch.clone(),
        &["a", "c"],
        4,
        Arc::new(|t| Action::Complete(json!({"y": 2, "z": t.task_def_name}))),
    );
    // b fails unless its input was fixed.
    let (_b, seen_b) = spawn_worker(
        ch.clone(),
        &["b"],
        4,
        Arc::new(|t| {
            if input_of(t)["fixed"] == json!(true) {
                Action::Complete(json!({"z": "fixed"}))
            } else {
                Action::FailTerminal("bad input".into())
            }
        }),
    );
    let id = start(&ch, "rerun_wf", json!({"x": 1})).await;
    let w = wait_terminal(&ch, &id, 10).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    let failed_b = task_of(&w, "b1").task_id.clone();

    wf_client(&ch)
        .rerun_workflow(pb::RerunWorkflowRequest {
            workflow_id: id.clone(),
            task_id: failed_b.clone(),
            task_input: Some(obj(json!({"fixed": true}))),
            workflow_input: Some(obj(json!({"x": 9}))),
        })
        .await
        .unwrap();
    let w = wait_terminal(&ch, &id, 10).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed, "{w:#?}");
    assert_eq!(output(&w), json!({"z": "c"}));
    assert_eq!(value(&w.input), json!({"x": 9}));
    assert!(w.tasks.iter().all(|t| t.task_id != failed_b), "removed");
    assert_eq!(w.tasks.len(), 3);
    assert_eq!(value(&task_of(&w, "b1").input), json!({"fixed": true}));
    assert_eq!(seen_b.lock().unwrap().tasks.len(), 2);

    // Refusals.
    let a1 = task_of(&w, "a1").task_id.clone();
    refused(
        wf_client(&ch)
            .rerun_workflow(pb::RerunWorkflowRequest {
                workflow_id: id.clone(),
                task_id: "no-such-task".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["no-such-task"],
    );
    refused(
        wf_client(&ch)
            .rerun_workflow(pb::RerunWorkflowRequest {
                workflow_id: "no-such-workflow".into(),
                task_id: a1.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["no-such-workflow"],
    );
    refused(
        wf_client(&ch)
            .rerun_workflow(pb::RerunWorkflowRequest {
                workflow_id: id.clone(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        &["task_id"],
    );
    // A paused workflow is refused, naming its status.
    register_task_defs(&ch, json!([{"name": "idle", "retryCount": 0}])).await;
    register_workflow(
        &ch,
        &json!({"name": "idle_wf", "version": 1,
                "tasks": [{"name": "idle", "taskReferenceName": "i1"}]}),
    )
    .await;
    let other = start(&ch, "idle_wf", json!({})).await;
    wf_client(&ch)
        .pause_workflow(pb::PauseWorkflowRequest {
            workflow_id: other.clone(),
        })
        .await
        .unwrap();
    let i1 = get(&ch, &other).await.tasks[0].task_id.clone();
    refused(
        wf_client(&ch)
            .rerun_workflow(pb::RerunWorkflowRequest {
                workflow_id: other.clone(),
                task_id: i1,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        &["PAUSED"],
    );
}

#[tokio::test]
async fn skip_ends_a_queued_task_and_refuses_finished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "skip_wf").await;
    let id = start(&ch, "skip_wf", json!({"x": 1})).await;

    let r = wf_client(&ch)
        .skip_task(pb::SkipTaskRequest {
            workflow_id: id.clone(),
            task_ref_name: "a1".into(),
            task_input: None,
            task_output: Some(obj(json!({"y": "skipped"}))),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.skipped_now);
    let w = get(&ch, &id).await;
    assert_eq!(task_status(task_of(&w, "a1")), pb::TaskStatus::Skipped);
    assert_eq!(value(&task_of(&w, "b1").input), json!({"y": "skipped"}));
    // a1 left its queue: nobody gets it.
    assert!(poll(&ch, "a", 0).await.is_none());

    refused(
        wf_client(&ch)
            .skip_task(pb::SkipTaskRequest {
                workflow_id: id.clone(),
                task_ref_name: "a1".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        &["a1", "SKIPPED"],
    );
    refused(
        wf_client(&ch)
            .skip_task(pb::SkipTaskRequest {
                workflow_id: id.clone(),
                task_ref_name: "zz".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["zz"],
    );
    refused(
        wf_client(&ch)
            .skip_task(pb::SkipTaskRequest {
                workflow_id: id.clone(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        &["task_ref_name"],
    );
    wf_client(&ch)
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    refused(
        wf_client(&ch)
            .skip_task(pb::SkipTaskRequest {
                workflow_id: id.clone(),
                task_ref_name: "c1".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        &["TERMINATED"],
    );
}

#[tokio::test]
async fn a_skip_recorded_ahead_survives_a_restart_and_applies_when_reached() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "skip_later").await;
    let id = start(&ch, "skip_later", json!({"x": 1})).await;
    let r = wf_client(&ch)
        .skip_task(pb::SkipTaskRequest {
            workflow_id: id.clone(),
            task_ref_name: "b1".into(),
            task_input: None,
            task_output: Some(obj(json!({"z": "from skip"}))),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.skipped_now);
    server.kill9();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let t = poll(&ch, "a", 5_000).await.expect("a1 is queued again");
    task_client(&ch)
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: t.task_id,
                token: t.token,
                status: pb::TaskStatus::Completed as i32,
                output: Some(obj(json!({"y": 2}))),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let w = get(&ch, &id).await;
    assert_eq!(task_status(task_of(&w, "b1")), pb::TaskStatus::Skipped);
    assert_eq!(value(&task_of(&w, "c1").input), json!({"z": "from skip"}));
    assert!(poll(&ch, "b", 0).await.is_none(), "b1 was never queued");
}

#[tokio::test]
async fn reset_callbacks_hands_a_hidden_task_out_again_now() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "callback_wf").await;
    let id = start(&ch, "callback_wf", json!({"x": 1})).await;
    let t = poll(&ch, "a", 5_000).await.expect("a1");
    task_client(&ch)
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: t.task_id.clone(),
                token: t.token.clone(),
                status: pb::TaskStatus::InProgress as i32,
                callback_after_seconds: 3600,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    assert!(poll(&ch, "a", 200).await.is_none(), "hidden for an hour");
    wf_client(&ch)
        .reset_callbacks(pb::ResetCallbacksRequest {
            workflow_id: id.clone(),
        })
        .await
        .unwrap();
    let again = poll(&ch, "a", 5_000).await.expect("ready again");
    assert_eq!(again.task_id, t.task_id);
    assert_eq!(again.poll_count, 2);

    refused(
        wf_client(&ch)
            .reset_callbacks(pb::ResetCallbacksRequest {
                workflow_id: "nope".into(),
            })
            .await,
        Code::NotFound,
        &["nope"],
    );
    wf_client(&ch)
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    refused(
        wf_client(&ch)
            .reset_callbacks(pb::ResetCallbacksRequest {
                workflow_id: id.clone(),
            })
            .await,
        Code::FailedPrecondition,
        &["TERMINATED"],
    );
}

#[tokio::test]
async fn decide_is_harmless_and_names_unknown_workflows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "decide_wf").await;
    let id = start(&ch, "decide_wf", json!({"x": 1})).await;
    let before = get(&ch, &id).await;
    wf_client(&ch)
        .decide_workflow(pb::DecideWorkflowRequest {
            workflow_id: id.clone(),
        })
        .await
        .unwrap();
    let after = get(&ch, &id).await;
    assert_eq!(before.tasks, after.tasks);
    assert_eq!(before.update_time, after.update_time);
    refused(
        wf_client(&ch)
            .decide_workflow(pb::DecideWorkflowRequest {
                workflow_id: "missing-wf".into(),
            })
            .await,
        Code::NotFound,
        &["missing-wf"],
    );
    refused(
        wf_client(&ch)
            .decide_workflow(pb::DecideWorkflowRequest {
                workflow_id: String::new(),
            })
            .await,
        Code::InvalidArgument,
        &["workflow_id"],
    );
}

#[tokio::test]
async fn tasks_of_a_workflow_come_in_pages_filtered_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(&ch, json!([{"name": "p", "retryCount": 0}])).await;
    let branches: Vec<Value> = (1..=5)
        .map(|i| json!([{"name": "p", "taskReferenceName": format!("p{i}")}]))
        .collect();
    register_workflow(
        &ch,
        &json!({
            "name": "paged", "version": 1,
            "tasks": [
                {"name": "f", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": branches},
                {"name": "j", "taskReferenceName": "join", "type": "JOIN",
                 "joinOn": ["p1", "p2", "p3", "p4", "p5"]}
            ]
        }),
    )
    .await;
    let id = start(&ch, "paged", json!({})).await;
    let list = |statuses: Vec<pb::TaskStatus>, offset: i32, limit: i32| {
        let ch = ch.clone();
        let id = id.clone();
        async move {
            wf_client(&ch)
                .list_workflow_tasks(pb::ListWorkflowTasksRequest {
                    workflow_id: id,
                    statuses: statuses.into_iter().map(|s| s as i32).collect(),
                    offset,
                    limit,
                })
                .await
        }
    };
    let page = list(vec![], 0, 3).await.unwrap().into_inner();
    assert_eq!((page.tasks.len(), page.total, page.next_offset), (3, 7, 3));
    assert_eq!(page.tasks[0].reference_task_name, "fork");
    let rest = list(vec![], 3, 10).await.unwrap().into_inner();
    assert_eq!((rest.tasks.len(), rest.total, rest.next_offset), (4, 7, 0));
    let seqs: Vec<i32> = page
        .tasks
        .iter()
        .chain(&rest.tasks)
        .map(|t| t.seq)
        .collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());

    let scheduled = list(vec![pb::TaskStatus::Scheduled], 0, 0)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(scheduled.total, 5);
    assert!(
        scheduled
            .tasks
            .iter()
            .all(|t| task_status(t) == pb::TaskStatus::Scheduled)
    );
    let two = list(
        vec![pb::TaskStatus::Completed, pb::TaskStatus::InProgress],
        0,
        0,
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(two.total, 2, "the fork and the waiting join");

    refused(
        list(vec![], 0, 1001).await,
        Code::InvalidArgument,
        &["limit"],
    );
    refused(
        list(vec![], -1, 1).await,
        Code::InvalidArgument,
        &["offset"],
    );
    refused(
        wf_client(&ch)
            .list_workflow_tasks(pb::ListWorkflowTasksRequest {
                workflow_id: "ghost".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["ghost"],
    );
}

#[tokio::test]
async fn bulk_operations_report_each_execution() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "bulk_wf").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(start(&ch, "bulk_wf", json!({"x": i})).await);
    }
    let bulk = |op: pb::BulkOperation, ids: Vec<String>, reason: &str| {
        let ch = ch.clone();
        let reason = reason.to_string();
        async move {
            wf_client(&ch)
                .run_bulk_operation(pb::RunBulkOperationRequest {
                    operation: op as i32,
                    workflow_ids: ids,
                    reason,
                    use_latest_definitions: false,
                })
                .await
        }
    };
    let with_missing = |ids: &[String]| {
        let mut v = ids.to_vec();
        v.insert(1, "missing-id".into());
        v
    };
    let r = bulk(pb::BulkOperation::Pause, with_missing(&ids), "")
        .await
        .unwrap()
        .into_inner();
    let oks: Vec<bool> = r.results.iter().map(|b| b.ok).collect();
    assert_eq!(oks, [true, false, true, true]);
    assert_eq!(r.results[1].workflow_id, "missing-id");
    assert_eq!(r.results[1].code, "NOT_FOUND");
    assert!(r.results[1].message.contains("missing-id"));
    for id in &ids {
        assert_eq!(status(&get(&ch, id).await), pb::WorkflowStatus::Paused);
    }
    // Pausing again: each refused, naming the status.
    let r = bulk(pb::BulkOperation::Pause, ids.clone(), "")
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.results
            .iter()
            .all(|b| !b.ok && b.code == "FAILED_PRECONDITION")
    );
    assert!(r.results[0].message.contains("PAUSED"), "{r:?}");

    let r = bulk(pb::BulkOperation::Resume, ids.clone(), "")
        .await
        .unwrap()
        .into_inner();
    assert!(r.results.iter().all(|b| b.ok), "{r:?}");
    let r = bulk(pb::BulkOperation::Terminate, ids.clone(), "cleanup")
        .await
        .unwrap()
        .into_inner();
    assert!(r.results.iter().all(|b| b.ok), "{r:?}");
    let w = get(&ch, &ids[0]).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Terminated);
    assert_eq!(w.reason_for_incompletion, "cleanup");
    let r = bulk(pb::BulkOperation::Retry, vec![ids[0].clone()], "")
        .await
        .unwrap()
        .into_inner();
    assert!(r.results[0].ok, "{r:?}");
    let r = bulk(pb::BulkOperation::Restart, ids[1..].to_vec(), "")
        .await
        .unwrap()
        .into_inner();
    assert!(r.results.iter().all(|b| b.ok), "{r:?}");
    for id in &ids {
        assert_eq!(status(&get(&ch, id).await), pb::WorkflowStatus::Running);
    }
    let r = bulk(pb::BulkOperation::Remove, ids.clone(), "")
        .await
        .unwrap()
        .into_inner();
    assert!(r.results.iter().all(|b| b.ok), "{r:?}");
    for id in &ids {
        refused(
            wf_client(&ch)
                .get_workflow(pb::GetWorkflowRequest {
                    workflow_id: id.clone(),
                    include_tasks: false,
                })
                .await,
            Code::NotFound,
            &[id],
        );
    }

    let too_many: Vec<String> = (0..1001).map(|i| format!("id-{i}")).collect();
    refused(
        bulk(pb::BulkOperation::Pause, too_many, "").await,
        Code::InvalidArgument,
        &["1001", "1000"],
    );
    refused(
        bulk(pb::BulkOperation::Pause, vec![], "").await,
        Code::InvalidArgument,
        &["workflow_ids"],
    );
    refused(
        bulk(pb::BulkOperation::Unspecified, vec!["x".into()], "").await,
        Code::InvalidArgument,
        &["operation"],
    );
}

#[tokio::test]
async fn update_by_reference_completes_the_latest_instance() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "by_ref").await;
    let id = start(&ch, "by_ref", json!({"x": 1})).await;
    let update = |reference: &str, st: pb::TaskStatus, out: Value| {
        let ch = ch.clone();
        let (id, reference) = (id.clone(), reference.to_string());
        async move {
            task_client(&ch)
                .update_task_by_ref(pb::UpdateTaskByRefRequest {
                    workflow_id: id,
                    task_ref_name: reference,
                    status: st as i32,
                    output: Some(obj(out)),
                    reason_for_incompletion: String::new(),
                    logs: vec![pb::TaskLog {
                        message: "by hand".into(),
                        time: None,
                    }],
                    worker_id: "operator".into(),
                })
                .await
        }
    };
    let r = update("a1", pb::TaskStatus::Completed, json!({"y": 5}))
        .await
        .unwrap()
        .into_inner();
    let w = get(&ch, &id).await;
    let a1 = task_of(&w, "a1");
    assert_eq!(r.task_id, a1.task_id);
    assert_eq!(task_status(a1), pb::TaskStatus::Completed);
    assert_eq!(a1.worker_id, "operator");
    assert_eq!(value(&task_of(&w, "b1").input), json!({"y": 5}));
    let logs = task_client(&ch)
        .get_task_logs(pb::GetTaskLogsRequest {
            task_id: r.task_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .logs;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].message, "by hand");
    // a1 left its queue.
    assert!(poll(&ch, "a", 0).await.is_none());

    refused(
        update("a1", pb::TaskStatus::Failed, json!({})).await,
        Code::FailedPrecondition,
        &["COMPLETED"],
    );
    refused(
        update("c1", pb::TaskStatus::Completed, json!({})).await,
        Code::FailedPrecondition,
        &["c1", "not been scheduled"],
    );
    refused(
        update("nope", pb::TaskStatus::Completed, json!({})).await,
        Code::NotFound,
        &["nope"],
    );
    refused(
        update("b1", pb::TaskStatus::Skipped, json!({})).await,
        Code::InvalidArgument,
        &["SKIPPED"],
    );
    refused(
        task_client(&ch)
            .update_task_by_ref(pb::UpdateTaskByRefRequest {
                workflow_id: "ghost".into(),
                task_ref_name: "a1".into(),
                status: pb::TaskStatus::Completed as i32,
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["ghost"],
    );
    // The rest of the way by reference: the workflow completes.
    update("b1", pb::TaskStatus::Completed, json!({"z": 1}))
        .await
        .unwrap();
    update("c1", pb::TaskStatus::Completed, json!({"z": "end"}))
        .await
        .unwrap();
    let w = wait_terminal(&ch, &id, 5).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    assert_eq!(output(&w), json!({"z": "end"}));
}

#[tokio::test]
async fn running_ids_by_name_version_and_creation_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "runs").await;
    register_workflow(
        &ch,
        &json!({"name": "runs", "version": 2,
                "tasks": [{"name": "a", "taskReferenceName": "a1"}]}),
    )
    .await;
    let start_v = |version: i32| {
        let ch = ch.clone();
        async move {
            wf_client(&ch)
                .start_workflow(pb::StartWorkflowRequest {
                    name: "runs".into(),
                    version: Some(version),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .workflow_id
        }
    };
    let v1a = start_v(1).await;
    let v1b = start_v(1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = baton_server::now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let v2 = start_v(2).await;
    let done = start_v(1).await;
    wf_client(&ch)
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: done.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    wf_client(&ch)
        .pause_workflow(pb::PauseWorkflowRequest {
            workflow_id: v1b.clone(),
        })
        .await
        .unwrap();
    let running = |version: Option<i32>, after: Option<i64>, before: Option<i64>| {
        let ch = ch.clone();
        async move {
            wf_client(&ch)
                .get_running_workflows(pb::GetRunningWorkflowsRequest {
                    name: "runs".into(),
                    version,
                    created_after: after.map(ts),
                    created_before: before.map(ts),
                })
                .await
        }
    };
    let ids = |r: Result<tonic::Response<pb::GetRunningWorkflowsResponse>, tonic::Status>| {
        r.unwrap().into_inner().workflow_ids
    };
    assert_eq!(
        ids(running(None, None, None).await),
        [v1a.clone(), v1b.clone(), v2.clone()]
    );
    assert_eq!(ids(running(Some(2), None, None).await), [v2.as_str()]);
    assert_eq!(
        ids(running(Some(1), None, None).await),
        [v1a.clone(), v1b.clone()]
    );
    assert_eq!(ids(running(None, Some(between), None).await), [v2.as_str()]);
    assert_eq!(
        ids(running(None, None, Some(between)).await),
        [v1a.clone(), v1b.clone()]
    );
    refused(
        running(None, Some(between + 1), Some(between)).await,
        Code::InvalidArgument,
        &["created_after"],
    );
    refused(
        wf_client(&ch)
            .get_running_workflows(pb::GetRunningWorkflowsRequest {
                name: "never_registered".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["never_registered"],
    );
    refused(
        running(Some(7), None, None).await,
        Code::NotFound,
        &["version 7"],
    );
}

#[tokio::test]
async fn workflows_by_several_correlation_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "corr_wf").await;
    let start_c = |corr: &str| {
        let ch = ch.clone();
        let corr = corr.to_string();
        async move {
            wf_client(&ch)
                .start_workflow(pb::StartWorkflowRequest {
                    name: "corr_wf".into(),
                    correlation_id: corr,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .workflow_id
        }
    };
    let x1 = start_c("order-x").await;
    let x2 = start_c("order-x").await;
    let y = start_c("order-y").await;
    wf_client(&ch)
        .terminate_workflow(pb::TerminateWorkflowRequest {
            workflow_id: x2.clone(),
            reason: String::new(),
        })
        .await
        .unwrap();
    let lookup = |ids: &[&str], include_closed: bool, include_tasks: bool| {
        let ch = ch.clone();
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        async move {
            wf_client(&ch)
                .get_workflows_by_correlation_ids(pb::GetWorkflowsByCorrelationIdsRequest {
                    name: "corr_wf".into(),
                    correlation_ids: ids,
                    include_closed,
                    include_tasks,
                })
                .await
        }
    };
    let r = lookup(&["order-x", "order-y", "order-z", "order-x"], false, false)
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(String, Vec<String>)> = r
        .results
        .iter()
        .map(|g| {
            (
                g.correlation_id.clone(),
                g.workflows.iter().map(|w| w.workflow_id.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("order-x".to_string(), vec![x1.clone()]),
            ("order-y".to_string(), vec![y.clone()]),
            ("order-z".to_string(), vec![]),
        ]
    );
    assert!(r.results[0].workflows[0].tasks.is_empty());
    let r = lookup(&["order-x"], true, true).await.unwrap().into_inner();
    let ids: Vec<&str> = r.results[0]
        .workflows
        .iter()
        .map(|w| w.workflow_id.as_str())
        .collect();
    assert_eq!(ids, [x1.as_str(), x2.as_str()]);
    assert!(!r.results[0].workflows[0].tasks.is_empty());

    refused(
        lookup(&[], false, false).await,
        Code::InvalidArgument,
        &["correlation_ids"],
    );
    let many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    refused(
        lookup(&many, false, false).await,
        Code::InvalidArgument,
        &["1000"],
    );
}

#[tokio::test]
async fn task_logs_are_added_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    register_chain(&ch, "logs_wf").await;
    let id = start(&ch, "logs_wf", json!({})).await;
    let task_id = get(&ch, &id).await.tasks[0].task_id.clone();
    task_client(&ch)
        .add_task_logs(pb::AddTaskLogsRequest {
            task_id: task_id.clone(),
            logs: vec![
                pb::TaskLog {
                    message: "first".into(),
                    time: Some(ts(1_000)),
                },
                pb::TaskLog {
                    message: "second".into(),
                    time: None,
                },
            ],
        })
        .await
        .unwrap();
    server.kill9();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let logs = task_client(&ch)
        .get_task_logs(pb::GetTaskLogsRequest {
            task_id: task_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .logs;
    let messages: Vec<&str> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["first", "second"]);
    assert_eq!(logs[0].time, Some(ts(1_000)));
    assert!(logs[1].time.as_ref().is_some_and(|t| t.seconds > 1_000_000));

    refused(
        task_client(&ch)
            .add_task_logs(pb::AddTaskLogsRequest {
                task_id: "no-task".into(),
                logs: vec![pb::TaskLog {
                    message: "x".into(),
                    time: None,
                }],
            })
            .await,
        Code::NotFound,
        &["no-task"],
    );
    refused(
        task_client(&ch)
            .add_task_logs(pb::AddTaskLogsRequest {
                task_id: task_id.clone(),
                logs: vec![],
            })
            .await,
        Code::InvalidArgument,
        &["logs"],
    );
}

#[tokio::test]
async fn update_by_reference_signals_a_waiting_human_task() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(
        &ch,
        &json!({"name": "approval_wf", "version": 1,
                "tasks": [{"name": "approve", "taskReferenceName": "approval", "type": "HUMAN"}],
                "outputParameters": {"approved": "${approval.output.approved}"}}),
    )
    .await;
    let id = start(&ch, "approval_wf", json!({})).await;
    let w = get(&ch, &id).await;
    assert_eq!(
        task_status(task_of(&w, "approval")),
        pb::TaskStatus::InProgress
    );
    let signal = || pb::UpdateTaskByRefRequest {
        workflow_id: id.clone(),
        task_ref_name: "approval".into(),
        status: pb::TaskStatus::Completed as i32,
        output: Some(obj(json!({"approved": true}))),
        ..Default::default()
    };
    let first = task_client(&ch)
        .update_task_by_ref(signal())
        .await
        .unwrap()
        .into_inner();
    let w = wait_terminal(&ch, &id, 5).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    assert_eq!(output(&w), json!({"approved": true}));
    assert_eq!(first.task_id, task_of(&w, "approval").task_id);
}
