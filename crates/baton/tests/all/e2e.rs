//! End to end against the real `baton server` binary: the corpus workflow, retries,
//! response timeouts, worker loss, and bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::Code;

#[tokio::test]
async fn corpus_simple_workflow_completes_with_mapped_output() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let text = std::fs::read_to_string(
        corpus().join("test-harness/simple_workflow_1_integration_test.json"),
    )
    .expect("corpus file beside the project");
    let def: Value = serde_json::from_str(&text).unwrap();
    register_task_defs(
        &ch,
        json!([
            {"name": "integration_task_1", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 10, "timeoutSeconds": 120},
            {"name": "integration_task_2", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 10, "timeoutSeconds": 120}
        ]),
    )
    .await;
    register_workflow(&ch, &def).await;

    let handler: Handler = Arc::new(|t: &pb::TaskAssignment| {
        let input = input_of(t);
        match t.reference_task_name.as_str() {
            "t1" => Action::Complete(
                json!({"op": format!("t1 saw {}", input["p1"].as_str().unwrap_or("?"))}),
            ),
            _ => Action::Complete(json!({"uuid": "u-123", "echo": input})),
        }
    });
    let (_w, seen) = spawn_worker(
        ch.clone(),
        &["integration_task_1", "integration_task_2"],
        4,
        handler,
    );
    let id = start(
        &ch,
        "integration_test_wf",
        json!({"param1": "p1 value", "param2": "p2 value"}),
    )
    .await;
    let wf = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&wf), pb::WorkflowStatus::Completed, "{wf:#?}");
    assert_eq!(
        output(&wf),
        json!({"o1": "p1 value", "o2": "u-123", "o3": "t1 saw p1 value"})
    );
    // Inputs were mapped: t2 saw t1's output and its own task id.
    let seen = seen.lock().unwrap();
    let t1 = seen
        .tasks
        .iter()
        .find(|t| t.reference_task_name == "t1")
        .unwrap();
    let t2 = seen
        .tasks
        .iter()
        .find(|t| t.reference_task_name == "t2")
        .unwrap();
    let t1_in = input_of(t1);
    assert_eq!(t1_in["p2"], json!("p2 value"));
    assert_eq!(t1_in["p3"], json!(t1.task_id));
    assert_eq!(t1_in["someNullKey"], Value::Null);
    let t2_in = input_of(t2);
    assert_eq!(t2_in["tp2"], json!("t1 saw p1 value"));
    assert_eq!(t2_in["tp3"], json!(t2.task_id));
    assert_eq!(wf.tasks.len(), 2);
    assert!(
        wf.tasks
            .iter()
            .all(|t| task_status(t) == pb::TaskStatus::Completed)
    );
    // As in Conductor, a SIMPLE task instance's type is its task's name.
    let types: Vec<_> = wf
        .tasks
        .iter()
        .map(|t| (t.task_type.as_str(), t.task_def_name.as_str()))
        .collect();
    assert_eq!(
        types,
        [
            ("integration_task_1", "integration_task_1"),
            ("integration_task_2", "integration_task_2")
        ]
    );
}

async fn one_task_workflow(ch: &tonic::transport::Channel, wf: &str, task: &str, task_def: Value) {
    register_task_defs(ch, task_def).await;
    register_workflow(
        ch,
        &json!({"name": wf, "version": 1, "schemaVersion": 2, "tasks": [
            {"name": task, "taskReferenceName": "only", "type": "SIMPLE", "inputParameters": {"x": "${workflow.input.x}"}}
        ]}),
    )
    .await;
}

#[tokio::test]
async fn failed_task_is_retried_as_new_instances_then_completes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    one_task_workflow(&ch, "retry_wf", "flaky", json!({"name": "flaky", "retryCount": 2, "retryDelaySeconds": 0, "responseTimeoutSeconds": 10})).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler: Handler = Arc::new(move |_t| {
        if c.fetch_add(1, Ordering::SeqCst) < 2 {
            Action::Fail("not yet".into())
        } else {
            Action::Complete(json!({"done": true}))
        }
    });
    let (_w, _seen) = spawn_worker(ch.clone(), &["flaky"], 2, handler);
    let id = start(&ch, "retry_wf", json!({"x": 1})).await;
    let wf = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&wf), pb::WorkflowStatus::Completed, "{wf:#?}");
    assert_eq!(wf.tasks.len(), 3);
    let st: Vec<_> = wf.tasks.iter().map(task_status).collect();
    assert_eq!(
        st,
        vec![
            pb::TaskStatus::Failed,
            pb::TaskStatus::Failed,
            pb::TaskStatus::Completed
        ]
    );
    assert_eq!(wf.tasks[1].retried_task_id, wf.tasks[0].task_id);
    assert_eq!(wf.tasks[2].retried_task_id, wf.tasks[1].task_id);
    assert_eq!(
        wf.tasks.iter().map(|t| t.retry_count).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_ne!(wf.tasks[0].task_id, wf.tasks[2].task_id);
}

#[tokio::test]
async fn retries_used_up_fail_the_workflow_and_terminal_errors_do_not_retry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    one_task_workflow(
        &ch,
        "fails_wf",
        "always_fails",
        json!({"name": "always_fails", "retryCount": 1, "retryDelaySeconds": 0}),
    )
    .await;
    one_task_workflow(
        &ch,
        "terminal_wf",
        "terminal",
        json!({"name": "terminal", "retryCount": 3, "retryDelaySeconds": 0}),
    )
    .await;
    let (_w1, _) = spawn_worker(
        ch.clone(),
        &["always_fails"],
        2,
        Arc::new(|_| Action::Fail("boom".into())),
    );
    let (_w2, _) = spawn_worker(
        ch.clone(),
        &["terminal"],
        2,
        Arc::new(|_| Action::FailTerminal("bad input".into())),
    );
    let a = start(&ch, "fails_wf", json!({})).await;
    let b = start(&ch, "terminal_wf", json!({})).await;
    let wa = wait_terminal(&ch, &a, 20).await;
    assert_eq!(status(&wa), pb::WorkflowStatus::Failed);
    assert_eq!(wa.tasks.len(), 2, "one retry then give up");
    assert!(
        wa.reason_for_incompletion.contains("boom"),
        "{}",
        wa.reason_for_incompletion
    );
    let wb = wait_terminal(&ch, &b, 20).await;
    assert_eq!(status(&wb), pb::WorkflowStatus::Failed);
    assert_eq!(wb.tasks.len(), 1, "terminal errors are not retried");
    assert_eq!(
        task_status(&wb.tasks[0]),
        pb::TaskStatus::FailedWithTerminalError
    );
}

#[tokio::test]
async fn stalled_worker_hits_response_timeout_and_task_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    one_task_workflow(&ch, "stall_wf", "slowpoke", json!({"name": "slowpoke", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 1})).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler: Handler = Arc::new(move |_t| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Action::Stall
        } else {
            Action::Complete(json!({"second": "try"}))
        }
    });
    let (_w, _) = spawn_worker(ch.clone(), &["slowpoke"], 2, handler);
    let t0 = Instant::now();
    let id = start(&ch, "stall_wf", json!({})).await;
    let wf = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&wf), pb::WorkflowStatus::Completed, "{wf:#?}");
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "the lease had to run out first"
    );
    assert_eq!(wf.tasks.len(), 2);
    assert_eq!(task_status(&wf.tasks[0]), pb::TaskStatus::TimedOut);
    assert_eq!(task_status(&wf.tasks[1]), pb::TaskStatus::Completed);
}

#[tokio::test]
async fn task_of_a_disconnected_worker_goes_to_another_worker_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    // An hour-long lease: redelivery must not wait for it.
    one_task_workflow(
        &ch,
        "handoff_wf",
        "handoff",
        json!({"name": "handoff", "retryCount": 0, "responseTimeoutSeconds": 3600}),
    )
    .await;
    let id = start(&ch, "handoff_wf", json!({"x": 7})).await;
    let seen_a = Arc::new(std::sync::Mutex::new(Seen::default()));
    run_worker(
        ch.clone(),
        &["handoff"],
        1,
        Arc::new(|_| Action::Disconnect),
        seen_a.clone(),
    )
    .await;
    assert_eq!(
        seen_a.lock().unwrap().tasks.len(),
        1,
        "worker A took the task"
    );
    let t0 = Instant::now();
    let (_wb, seen_b) = spawn_worker(
        ch.clone(),
        &["handoff"],
        1,
        Arc::new(|t| Action::Complete(json!({"x": input_of(t)["x"]}))),
    );
    let wf = wait_terminal(&ch, &id, 10).await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(status(&wf), pb::WorkflowStatus::Completed);
    assert_eq!(wf.tasks.len(), 1, "returned, not retried");
    assert_eq!(wf.tasks[0].poll_count, 2);
    let a_token = seen_a.lock().unwrap().tasks[0].token.clone();
    let b_token = seen_b.lock().unwrap().tasks[0].token.clone();
    assert_ne!(a_token, b_token);
}

#[tokio::test]
async fn stale_and_duplicate_results_and_unary_poll() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    one_task_workflow(
        &ch,
        "fence_wf",
        "fenced",
        json!({"name": "fenced", "retryCount": 0, "responseTimeoutSeconds": 1}),
    )
    .await;
    let id = start(&ch, "fence_wf", json!({"x": 1})).await;
    let mut tasks = TaskServiceClient::new(ch.clone());
    let first = tasks
        .poll(pb::PollRequest {
            task_type: "fenced".into(),
            worker_id: "w1".into(),
            timeout_ms: 5000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .task
        .expect("a task");
    // Let the lease run out: with retryCount 0 the workflow fails with TIMED_OUT.
    let wf = wait_terminal(&ch, &id, 10).await;
    assert_eq!(status(&wf), pb::WorkflowStatus::TimedOut, "{wf:#?}");
    let late = tasks
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: first.task_id.clone(),
                token: first.token.clone(),
                status: pb::TaskStatus::Completed as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition, "{late:?}");

    // A second run: complete once, then send the same result again (idempotent) and a forged token.
    let id2 = start(&ch, "fence_wf", json!({"x": 2})).await;
    let t = tasks
        .batch_poll(pb::BatchPollRequest {
            task_type: "fenced".into(),
            worker_id: "w1".into(),
            count: 5,
            timeout_ms: 5000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tasks
        .pop()
        .expect("a task");
    let result = pb::TaskResult {
        task_id: t.task_id.clone(),
        token: t.token.clone(),
        workflow_id: t.workflow_id.clone(),
        status: pb::TaskStatus::Completed as i32,
        ..Default::default()
    };
    tasks
        .update_task(pb::UpdateTaskRequest {
            result: Some(result.clone()),
        })
        .await
        .unwrap();
    tasks
        .update_task(pb::UpdateTaskRequest {
            result: Some(result.clone()),
        })
        .await
        .expect("duplicate is acknowledged");
    let forged = tasks
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                token: "ffff.1".into(),
                ..result
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::FailedPrecondition);
    assert_eq!(
        status(&wait_terminal(&ch, &id2, 10).await),
        pb::WorkflowStatus::Completed
    );
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let mut meta = MetadataServiceClient::new(ch.clone());
    let mut wfs = WorkflowServiceClient::new(ch.clone());
    let mut tasks = TaskServiceClient::new(ch.clone());

    let e = meta
        .register_workflow_def(pb::RegisterWorkflowDefRequest {
            definition: Some(text_def_raw("{\"name\": \"x\", \"tasks\": [")),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("not valid JSON"), "{}", e.message());

    let dup = json!({"name": "dup", "tasks": [
        {"name": "a", "taskReferenceName": "same"},
        {"name": "b", "taskReferenceName": "same"}
    ]});
    let e = meta
        .register_workflow_def(pb::RegisterWorkflowDefRequest {
            definition: Some(text_def(&dup)),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("$.tasks[1].taskReferenceName"),
        "{}",
        e.message()
    );

    let e = wfs
        .start_workflow(pb::StartWorkflowRequest {
            name: "no_such_workflow".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("no_such_workflow"));

    let e = tasks
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: "no-such-task".into(),
                status: pb::TaskStatus::Completed as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    let e = tasks
        .update_task(pb::UpdateTaskRequest {
            result: Some(pb::TaskResult {
                task_id: "x".into(),
                status: pb::TaskStatus::Skipped as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // A stream whose first message is not Subscribe.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tx.send(pb::WorkRequest {
        kind: Some(pb::work_request::Kind::Credits(pb::GrantCredits {
            credits: 1,
        })),
    })
    .unwrap();
    let e = tasks
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("Subscribe"));

    // An oversized input (the default limit is 4 MiB).
    register_workflow(
        &ch,
        &json!({"name": "big", "tasks": [{"name": "t", "taskReferenceName": "t"}]}),
    )
    .await;
    let big = "x".repeat(5 * 1024 * 1024);
    let e = wfs
        .start_workflow(pb::StartWorkflowRequest {
            name: "big".into(),
            input: Some(baton_grpc::convert::object_to_struct(
                json!({"blob": big}).as_object().unwrap(),
            )),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.code(),
            Code::InvalidArgument | Code::OutOfRange | Code::ResourceExhausted
        ),
        "{e:?}"
    );

    // Wrong state: pausing a finished workflow.
    let id = start(&ch, "big", json!({})).await;
    wfs.terminate_workflow(pb::TerminateWorkflowRequest {
        workflow_id: id.clone(),
        reason: "test".into(),
    })
    .await
    .unwrap();
    let e = wfs
        .pause_workflow(pb::PauseWorkflowRequest {
            workflow_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);

    // Still serving.
    let w = get(&ch, &id).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Terminated);
    assert_eq!(w.reason_for_incompletion, "test");
}

fn text_def_raw(s: &str) -> pb::Definition {
    pb::Definition {
        body: Some(pb::definition::Body::JsonText(s.to_string())),
    }
}

#[tokio::test]
async fn operator_commands_pause_resume_restart_retry_remove() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "op_a", "retryCount": 0}, {"name": "op_b", "retryCount": 0}]),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "ops", "tasks": [
            {"name": "op_a", "taskReferenceName": "a"},
            {"name": "op_b", "taskReferenceName": "b"}
        ]}),
    )
    .await;
    let mut wfs = WorkflowServiceClient::new(ch.clone());
    let mut tasks = TaskServiceClient::new(ch.clone());
    let poll = |tasks: &mut TaskServiceClient<tonic::transport::Channel>, ty: &str| {
        let mut t = tasks.clone();
        let ty = ty.to_string();
        let _ = tasks;
        async move {
            t.poll(pb::PollRequest {
                task_type: ty,
                timeout_ms: 3000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .task
        }
    };
    let complete = |tasks: &mut TaskServiceClient<tonic::transport::Channel>,
                    t: pb::TaskAssignment,
                    st: pb::TaskStatus| {
        let mut c = tasks.clone();
        async move {
            c.update_task(pb::UpdateTaskRequest {
                result: Some(pb::TaskResult {
                    task_id: t.task_id,
                    token: t.token,
                    workflow_id: t.workflow_id,
                    status: st as i32,
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        }
    };
    let id = start(&ch, "ops", json!({})).await;
    wfs.pause_workflow(pb::PauseWorkflowRequest {
        workflow_id: id.clone(),
    })
    .await
    .unwrap();
    let a = poll(&mut tasks, "op_a")
        .await
        .expect("a was scheduled before the pause");
    complete(&mut tasks, a, pb::TaskStatus::Completed).await;
    // Paused: b must not be scheduled.
    let none = tasks
        .clone()
        .poll(pb::PollRequest {
            task_type: "op_b".into(),
            timeout_ms: 300,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .task;
    assert!(none.is_none(), "b must not be scheduled while paused");
    let w = get(&ch, &id).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Paused);
    assert_eq!(w.tasks.len(), 1, "nothing new while paused: {w:#?}");
    wfs.resume_workflow(pb::ResumeWorkflowRequest {
        workflow_id: id.clone(),
    })
    .await
    .unwrap();
    let b = poll(&mut tasks, "op_b").await.expect("b after resume");
    complete(&mut tasks, b, pb::TaskStatus::Failed).await;
    let w = wait_terminal(&ch, &id, 10).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Failed);
    // Retry resumes from the failed task.
    wfs.retry_workflow(pb::RetryWorkflowRequest {
        workflow_id: id.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let b2 = poll(&mut tasks, "op_b").await.expect("b retried");
    complete(&mut tasks, b2, pb::TaskStatus::Completed).await;
    let w = wait_terminal(&ch, &id, 10).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    assert_eq!(w.tasks.len(), 3);
    // Restart runs it again from scratch under the same id.
    wfs.restart_workflow(pb::RestartWorkflowRequest {
        workflow_id: id.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let w = get(&ch, &id).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Running);
    assert_eq!(w.tasks.len(), 1);
    let a = poll(&mut tasks, "op_a").await.expect("a again");
    complete(&mut tasks, a, pb::TaskStatus::Completed).await;
    let b = poll(&mut tasks, "op_b").await.expect("b again");
    complete(&mut tasks, b, pb::TaskStatus::Completed).await;
    assert_eq!(
        status(&wait_terminal(&ch, &id, 10).await),
        pb::WorkflowStatus::Completed
    );
    // Remove deletes it.
    wfs.remove_workflow(pb::RemoveWorkflowRequest {
        workflow_id: id.clone(),
    })
    .await
    .unwrap();
    let e = wfs
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: id.clone(),
            include_tasks: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_with_a_connected_worker() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    one_task_workflow(&ch, "t_wf", "t_task", json!({"name": "t_task"})).await;
    let (worker, _) = spawn_worker(ch.clone(), &["t_task"], 1, Arc::new(|_| Action::Stall));
    let id = start(&ch, "t_wf", json!({})).await;
    wait_until(&ch, &id, 10, "the worker holds its task", |w| {
        w.tasks
            .last()
            .is_some_and(|t| task_status(t) == pb::TaskStatus::InProgress)
    })
    .await;
    let t0 = Instant::now();
    let st = tokio::task::spawn_blocking(move || {
        let st = server.terminate();
        (st, server)
    })
    .await
    .unwrap();
    assert!(st.0.success(), "clean exit: {:?}", st.0);
    assert!(t0.elapsed() < Duration::from_secs(10));
    let _ = tokio::time::timeout(Duration::from_secs(5), worker).await;
    // The data is intact on restart.
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    let w = get(&ch, &id).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Running);
}

#[tokio::test]
async fn a_connection_may_have_a_bounded_number_of_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let _ = server.channel().await;
    // Speak HTTP/2 directly and read the server's SETTINGS: a client may not open more
    // streams than this at once, so an overloaded server holds a bounded number of them.
    let tcp = tokio::net::TcpStream::connect(server.url().trim_start_matches("http://"))
        .await
        .unwrap();
    let (_client, mut conn) = h2::client::handshake(tcp).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while conn.max_concurrent_send_streams() != baton_grpc::MAX_STREAMS_PER_CONNECTION as usize {
        assert!(
            Instant::now() < deadline,
            "the server allows {} streams",
            conn.max_concurrent_send_streams()
        );
        // Drive the connection so that the server's SETTINGS frame is read.
        let _ = tokio::time::timeout(Duration::from_millis(20), &mut conn).await;
    }
}
