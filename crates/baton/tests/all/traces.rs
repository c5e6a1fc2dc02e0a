//! Traces against the real binary: an OTLP/gRPC receiver in the test takes what
//! `baton server --otlp-endpoint` exports while a worker runs workflows (a task that fails
//! once and is retried, a sub-workflow, a restart between two tasks), and without the flag
//! nothing is sent at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use baton_proto::v1 as pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use serde_json::json;

/// What the receiver was sent.
#[derive(Default)]
struct Received {
    /// Export requests, however many spans each held.
    requests: usize,
    /// Every span, with the `service.name` of its resource.
    spans: Vec<(String, Span)>,
}

/// An OTLP trace receiver on a free port. It serves on the test's runtime, so tests that
/// block a thread (waiting for the server to exit) run on more than one.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Received>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut got = self.got.lock().unwrap();
        got.requests += 1;
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| {
                    r.attributes
                        .iter()
                        .find(|a| a.key == "service.name")
                        .and_then(|a| a.value.as_ref())
                        .and_then(|v| match &v.value {
                            Some(AnyValue::StringValue(s)) => Some(s.clone()),
                            _ => None,
                        })
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    got.spans.push((service.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    /// Serves on a free port; returns the endpoint to give baton.
    async fn start(&self) -> String {
        self.start_on("127.0.0.1:0").await
    }

    /// Serves on `addr`, or on a free port if that is taken; returns the endpoint.
    async fn start_on(&self, addr: &str) -> String {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let addr = listener.local_addr().unwrap();
        let svc = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        format!("http://{addr}")
    }

    fn requests(&self) -> usize {
        self.got.lock().unwrap().requests
    }

    fn spans(&self) -> Vec<Span> {
        self.got
            .lock()
            .unwrap()
            .spans
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Waits (20 s at most) until a span holds `key` = `value` for each of `values`, and
    /// returns every span received.
    async fn wait_for(&self, key: &str, values: &[&str]) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans = self.spans();
            if values
                .iter()
                .all(|v| spans.iter().any(|s| attr(s, key).as_deref() == Some(*v)))
            {
                return spans;
            }
            if Instant::now() > deadline {
                panic!(
                    "no span with {key} in {values:?} after 20 s; got {:#?}",
                    spans.iter().map(|s| &s.name).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An attribute as text (integers printed).
fn attr(s: &Span, key: &str) -> Option<String> {
    let v = s.attributes.iter().find(|a| a.key == key)?.value.as_ref()?;
    match v.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn ms(ts: &Option<prost_types::Timestamp>) -> u64 {
    let t = ts.as_ref().expect("a time");
    t.seconds as u64 * 1000 + t.nanos as u64 / 1_000_000
}

fn code(s: &Span) -> StatusCode {
    StatusCode::try_from(s.status.as_ref().map(|s| s.code).unwrap_or(0)).unwrap()
}

/// The spans whose attribute `key` is `value`.
fn with<'a>(spans: &'a [Span], key: &str, value: &str) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| attr(s, key).as_deref() == Some(value))
        .collect()
}

/// The workflow run span of `id` (exactly one).
fn run_span<'a>(spans: &'a [Span], id: &str) -> &'a Span {
    let runs: Vec<&Span> = with(spans, "baton.workflow.id", id)
        .into_iter()
        .filter(|s| attr(s, "baton.task.id").is_none())
        .collect();
    assert_eq!(runs.len(), 1, "one run span for {id}: {runs:#?}");
    runs[0]
}

/// Checks the task spans of `w` against its run span: one per task instance, in the
/// run's trace with the run as parent, ids and times as stored.
fn check_tasks(spans: &[Span], w: &pb::Workflow) {
    let run = run_span(spans, &w.workflow_id);
    assert_eq!(run.parent_span_id, Vec::<u8>::new(), "a run span is a root");
    let (run_start, run_end) = (run.start_time_unix_nano, run.end_time_unix_nano);
    assert!(run_start <= run_end);
    let tasks: Vec<&Span> = with(spans, "baton.workflow.id", &w.workflow_id)
        .into_iter()
        .filter(|s| attr(s, "baton.task.id").is_some())
        .collect();
    assert_eq!(tasks.len(), w.tasks.len(), "one span per task instance");
    for t in &w.tasks {
        let found = with(spans, "baton.task.id", &t.task_id);
        assert_eq!(found.len(), 1, "one span for task {}", t.task_id);
        let s = found[0];
        assert_eq!(
            s.trace_id, run.trace_id,
            "task {} in the run's trace",
            t.task_id
        );
        assert_eq!(
            s.parent_span_id, run.span_id,
            "task {} under the run",
            t.task_id
        );
        assert_ne!(s.span_id, run.span_id);
        assert_eq!(
            attr(s, "baton.task.reference_name").as_deref(),
            Some(t.reference_task_name.as_str())
        );
        assert_eq!(
            attr(s, "baton.task.retry_count"),
            Some(t.retry_count.to_string())
        );
        assert_eq!(
            attr(s, "baton.task.status").as_deref(),
            Some(
                task_status(t)
                    .as_str_name()
                    .trim_start_matches("TASK_STATUS_")
            )
        );
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{s:#?}");
        assert!(
            run_start <= s.start_time_unix_nano && s.end_time_unix_nano <= run_end,
            "task {} inside its run: {s:#?} vs {run:#?}",
            t.reference_task_name
        );
        // The stored times, to the millisecond.
        assert_eq!(
            s.start_time_unix_nano / 1_000_000,
            ms(&t.scheduled_time),
            "starts when scheduled"
        );
        assert_eq!(s.end_time_unix_nano / 1_000_000, ms(&t.end_time));
    }
    assert_eq!(run_start / 1_000_000, ms(&w.start_time));
    assert_eq!(run_end / 1_000_000, ms(&w.end_time));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_per_workflow_run_and_task_attempt_linked() {
    let receiver = Receiver::default();
    let endpoint = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        "127.0.0.1:0",
        &[
            "--otlp-endpoint",
            &endpoint,
            "--otel-service-name",
            "baton-test",
        ],
    );
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "tr_flaky", "retryCount": 2, "retryLogic": "FIXED",
                "retryDelaySeconds": 0, "responseTimeoutSeconds": 30},
               {"name": "tr_ok", "retryCount": 0, "responseTimeoutSeconds": 30}]),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "tr_child", "version": 1, "tasks": [
            {"name": "tr_ok", "taskReferenceName": "inner"}]}),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "tr_parent", "version": 3, "tasks": [
            {"name": "tr_flaky", "taskReferenceName": "flaky"},
            {"name": "sub", "taskReferenceName": "sub", "type": "SUB_WORKFLOW",
             "subWorkflowParam": {"name": "tr_child", "version": 1}},
            {"name": "tr_ok", "taskReferenceName": "last"}]}),
    )
    .await;
    let failed_once = Arc::new(AtomicBool::new(false));
    let f = failed_once.clone();
    let (_w, _seen) = spawn_worker(
        ch.clone(),
        &["tr_flaky", "tr_ok"],
        4,
        Arc::new(move |t| {
            if t.task_def_name == "tr_flaky" && !f.swap(true, Ordering::SeqCst) {
                Action::Fail("first attempt fails".into())
            } else {
                Action::Complete(json!({"ok": true}))
            }
        }),
    );
    let id = {
        let mut c =
            baton_proto::v1::workflow_service_client::WorkflowServiceClient::new(ch.clone());
        c.start_workflow(pb::StartWorkflowRequest {
            name: "tr_parent".into(),
            correlation_id: "corr-7".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .workflow_id
    };
    let parent = wait_terminal(&ch, &id, 30).await;
    assert_eq!(
        status(&parent),
        pb::WorkflowStatus::Completed,
        "{parent:#?}"
    );
    let sub = parent
        .tasks
        .iter()
        .find(|t| t.reference_task_name == "sub")
        .expect("sub task");
    let child_id = sub.task_id.clone(); // a child takes its parent task's id
    let child = wait_terminal(&ch, &child_id, 10).await;
    assert_eq!(child.parent_workflow_id, id);

    let spans = receiver
        .wait_for("baton.workflow.id", &[id.as_str(), child_id.as_str()])
        .await;
    let task_ids: Vec<&str> = parent
        .tasks
        .iter()
        .chain(&child.tasks)
        .map(|t| t.task_id.as_str())
        .collect();
    let spans = {
        // Every task span, then both run spans.
        receiver.wait_for("baton.task.id", &task_ids).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = receiver.spans();
            let runs = s
                .iter()
                .filter(|s| attr(s, "baton.task.id").is_none())
                .count();
            if runs >= 2 {
                break s;
            }
            assert!(Instant::now() < deadline, "run spans missing: {spans:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // Nothing more than one span per run and per task instance.
    assert_eq!(
        parent.tasks.len(),
        4,
        "two attempts, the sub-workflow, the last"
    );
    assert_eq!(spans.len(), parent.tasks.len() + child.tasks.len() + 2);
    check_tasks(&spans, &parent);
    check_tasks(&spans, &child);

    // The run: named after the workflow, with its attributes and an OK status.
    let run = run_span(&spans, &id);
    assert_eq!(run.name, "tr_parent");
    assert_eq!(attr(run, "baton.workflow.version").as_deref(), Some("3"));
    assert_eq!(
        attr(run, "baton.workflow.status").as_deref(),
        Some("COMPLETED")
    );
    assert_eq!(
        attr(run, "baton.workflow.correlation_id").as_deref(),
        Some("corr-7")
    );
    assert_eq!(code(run), StatusCode::Ok);
    assert_eq!(run.trace_id.len(), 16);
    assert_eq!(run.span_id.len(), 8);

    // The failed attempt is a span of its own, with an error status and the reason; the
    // retry that completed points back at it.
    let attempts: Vec<&pb::Task> = parent
        .tasks
        .iter()
        .filter(|t| t.reference_task_name == "flaky")
        .collect();
    assert_eq!(attempts.len(), 2);
    let first = with(&spans, "baton.task.id", &attempts[0].task_id)[0];
    let second = with(&spans, "baton.task.id", &attempts[1].task_id)[0];
    assert_eq!(first.name, "tr_flaky");
    assert_eq!(attr(first, "baton.task.status").as_deref(), Some("FAILED"));
    assert_eq!(code(first), StatusCode::Error);
    assert_eq!(
        first.status.as_ref().unwrap().message,
        "first attempt fails"
    );
    assert_eq!(
        attr(first, "baton.task.reason").as_deref(),
        Some("first attempt fails")
    );
    assert_eq!(attr(second, "baton.task.retry_count").as_deref(), Some("1"));
    assert_eq!(
        attr(second, "baton.task.retried_task_id").as_deref(),
        Some(attempts[0].task_id.as_str())
    );
    assert_eq!(code(second), StatusCode::Ok);
    assert!(first.end_time_unix_nano <= second.start_time_unix_nano);
    for s in [first, second] {
        assert_eq!(
            attr(s, "baton.task.worker_id").as_deref(),
            Some("rust-test-worker")
        );
        assert_eq!(attr(s, "baton.task.poll_count").as_deref(), Some("1"));
        assert_eq!(
            attr(s, "baton.workflow.correlation_id").as_deref(),
            Some("corr-7")
        );
        // When the worker took it.
        let started = s
            .events
            .iter()
            .find(|e| e.name == "started")
            .expect("started");
        assert!(
            s.start_time_unix_nano <= started.time_unix_nano
                && started.time_unix_nano <= s.end_time_unix_nano
        );
    }

    // The child is a trace of its own, its run linked to the parent's SUB_WORKFLOW span.
    let sub_span = with(&spans, "baton.task.id", &sub.task_id)[0];
    assert_eq!(
        attr(sub_span, "baton.task.type").as_deref(),
        Some("SUB_WORKFLOW")
    );
    let child_run = run_span(&spans, &child_id);
    assert_ne!(child_run.trace_id, run.trace_id);
    assert_eq!(child_run.links.len(), 1, "{child_run:#?}");
    assert_eq!(child_run.links[0].trace_id, run.trace_id);
    assert_eq!(child_run.links[0].span_id, sub_span.span_id);
    assert_eq!(
        attr(child_run, "baton.workflow.parent_id").as_deref(),
        Some(id.as_str())
    );
    assert!(
        sub_span.start_time_unix_nano <= child_run.start_time_unix_nano
            && child_run.end_time_unix_nano <= sub_span.end_time_unix_nano
    );

    // Every span names the service.
    let services: Vec<String> = receiver
        .got
        .lock()
        .unwrap()
        .spans
        .iter()
        .map(|(s, _)| s.clone())
        .collect();
    assert!(services.iter().all(|s| s == "baton-test"), "{services:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_stay_linked_across_a_restart_and_are_flushed_on_shutdown() {
    let receiver = Receiver::default();
    let endpoint = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--otlp-endpoint", endpoint.as_str()];
    let mut server = Server::start_with(dir.path(), "127.0.0.1:0", &flags);
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "rs_a", "retryCount": 0, "responseTimeoutSeconds": 300},
               {"name": "rs_b", "retryCount": 0, "responseTimeoutSeconds": 300}]),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "rs_wf", "version": 1, "tasks": [
            {"name": "rs_a", "taskReferenceName": "a"},
            {"name": "rs_b", "taskReferenceName": "b"}]}),
    )
    .await;
    let (w, _) = spawn_worker(
        ch.clone(),
        &["rs_a"],
        1,
        Arc::new(|_| Action::Complete(json!({}))),
    );
    let id = start(&ch, "rs_wf", json!({})).await;
    let before = wait_until(&ch, &id, 20, "a completed", |w| {
        w.tasks
            .iter()
            .any(|t| t.reference_task_name == "a" && task_status(t) == pb::TaskStatus::Completed)
    })
    .await;
    w.abort();
    // A clean stop exports what was queued: the span of `a`, though its run goes on.
    assert!(server.terminate().success());
    let a_id = &before.tasks[0].task_id;
    let spans = receiver.wait_for("baton.task.id", &[a_id.as_str()]).await;
    assert_eq!(spans.len(), 1, "only `a` has ended: {spans:#?}");

    // Configured through the environment this time.
    let server = Server::start_with_env(
        dir.path(),
        "127.0.0.1:0",
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    );
    let ch = server.channel().await;
    let (_w, _) = spawn_worker(
        ch.clone(),
        &["rs_b"],
        1,
        Arc::new(|_| Action::Complete(json!({}))),
    );
    let done = wait_terminal(&ch, &id, 30).await;
    assert_eq!(status(&done), pb::WorkflowStatus::Completed);
    receiver
        .wait_for("baton.task.id", &[done.tasks[1].task_id.as_str()])
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let s = receiver.spans();
        if s.len() >= 3 {
            break s;
        }
        assert!(Instant::now() < deadline, "run span missing: {s:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(spans.len(), 3);
    // Reported by two processes, yet one trace under one run.
    check_tasks(&spans, &done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_without_an_endpoint() {
    // On OTLP/gRPC's usual port if it is free, where an exporter without an endpoint
    // would send.
    let receiver = Receiver::default();
    let endpoint = receiver.start_on("127.0.0.1:4317").await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "off_task", "retryCount": 0, "responseTimeoutSeconds": 30}]),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "off_wf", "version": 1, "tasks": [
            {"name": "off_task", "taskReferenceName": "t"}]}),
    )
    .await;
    let (_w, _) = spawn_worker(
        ch.clone(),
        &["off_task"],
        1,
        Arc::new(|_| Action::Complete(json!({}))),
    );
    let id = start(&ch, "off_wf", json!({})).await;
    let w = wait_terminal(&ch, &id, 20).await;
    assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    // No span was counted either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let metrics = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("baton_workflow_ends_total"), "{metrics}");
    assert!(!metrics.contains("baton_trace_spans_total{"), "{metrics}");
    // Stopped cleanly: had anything been queued for export, the stop would have sent it.
    assert!(server.terminate().success());
    assert_eq!(receiver.requests(), 0, "on {endpoint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_holds_up_neither_work_nor_shutdown() {
    // A port nobody listens on.
    let endpoint = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), "127.0.0.1:0", &["--otlp-endpoint", &endpoint]);
    let ch = server.channel().await;
    register_task_defs(
        &ch,
        json!([{"name": "dead_task", "retryCount": 0, "responseTimeoutSeconds": 30}]),
    )
    .await;
    register_workflow(
        &ch,
        &json!({"name": "dead_wf", "version": 1, "tasks": [
            {"name": "dead_task", "taskReferenceName": "t"}]}),
    )
    .await;
    let (_w, _) = spawn_worker(
        ch.clone(),
        &["dead_task"],
        4,
        Arc::new(|_| Action::Complete(json!({}))),
    );
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(start(&ch, "dead_wf", json!({})).await);
    }
    for id in &ids {
        let w = wait_terminal(&ch, id, 20).await;
        assert_eq!(status(&w), pb::WorkflowStatus::Completed);
    }
    // The spans are counted as failed once the exporter gives up on them.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = reqwest::get(format!("{}/metrics", server.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("baton_trace_spans_total{outcome=\"failed\"}") {
            assert!(!metrics.contains("outcome=\"exported\""), "{metrics}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed spans counted: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A clean stop gives up on the collector within seconds.
    let stopping = Instant::now();
    assert!(server.terminate().success());
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "stopped in {:?}",
        stopping.elapsed()
    );
}
