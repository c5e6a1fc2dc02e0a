//! OpenTelemetry traces over OTLP/gRPC, built from what the engine reports as ended.
//!
//! The executors call [`SpanSink`] once a batch is durable. Each report becomes one span
//! with the times stored on the record (so a span never straddles a restart) and ids
//! derived from the engine's own ids:
//!
//! - a workflow execution is one trace: trace id = hash of the workflow id;
//! - a workflow run is a span: span id = hash of the workflow id and the run's start time
//!   (a retried or restarted workflow gets a span per run, in the same trace);
//! - a task instance (every attempt) is a span, child of the run it ended in: span id =
//!   hash of the task id;
//! - a sub-workflow is a trace of its own whose run span links to the parent's
//!   SUB_WORKFLOW task span.
//!
//! Since the ids are computed, a task reported before its workflow ends (or before a
//! restart) still lands under the right parent. The sink only builds the span and offers
//! it to a bounded queue; a full queue drops the span and counts it. One task drains the
//! queue in batches into the OTLP exporter, and [`Traces::shutdown`] flushes what is left.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use baton_core::{TaskInstance, TaskStatus, WorkflowInstance, WorkflowStatus};
use baton_server::SpanSink;
use baton_server::telemetry::{self, SpanOutcome};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use tokio::sync::{mpsc, oneshot};

/// Spans held for export at most; beyond this they are dropped (and counted).
const QUEUE: usize = 16_384;
/// Spans per export request at most.
const BATCH: usize = 512;
/// How long a span may wait for others to share its export request.
const LINGER: Duration = Duration::from_millis(200);
/// How long a shutdown waits for the last export.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The running exporter: the sink to give the engine, and the task that exports.
pub(crate) struct Traces {
    sink: Arc<OtlpSink>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Traces {
    /// Builds the OTLP/gRPC exporter for `endpoint` (such as `http://collector:4317`) and
    /// starts the export task. `service` names the service in the spans' resource.
    pub(crate) fn start(endpoint: &str, service: &str) -> anyhow::Result<Self> {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .with_timeout(Duration::from_secs(10))
            .build()
            .with_context(|| format!("cannot build the OTLP exporter for {endpoint}"))?;
        exporter.set_resource(
            &opentelemetry_sdk::Resource::builder()
                .with_service_name(service.to_string())
                .with_attribute(KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION").to_string(),
                ))
                .build(),
        );
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(export(exporter, rx, stopped));
        let sink = Arc::new(OtlpSink {
            tx,
            scope: InstrumentationScope::builder("baton")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        });
        tracing::info!(endpoint, service, "exporting traces over OTLP");
        Ok(Self { sink, stop, task })
    }

    /// The sink the engine reports to.
    pub(crate) fn sink(&self) -> Arc<dyn SpanSink> {
        self.sink.clone()
    }

    /// Exports what is queued and stops (waits at most a few seconds for the collector).
    /// Call once the engine has stopped: reports made after this are dropped.
    pub(crate) async fn shutdown(self) {
        let _ = self.stop.send(());
        if tokio::time::timeout(SHUTDOWN_WAIT, self.task)
            .await
            .is_err()
        {
            tracing::warn!("the last spans were not exported in time");
        }
    }
}

/// Drains the queue into the exporter until told to stop, then exports what is left.
async fn export(
    exporter: opentelemetry_otlp::SpanExporter,
    mut rx: mpsc::Receiver<SpanData>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(BATCH);
    let mut stopping = false;
    let mut failing = false;
    while !stopping {
        tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
            }
            _ = &mut stop => stopping = true,
        }
        // Let a first span wait a moment for company, unless stopping.
        if !stopping && batch.len() < BATCH {
            let deadline = tokio::time::Instant::now() + LINGER;
            while batch.len() < BATCH {
                let room = BATCH - batch.len();
                tokio::select! {
                    n = rx.recv_many(&mut batch, room) => {
                        if n == 0 {
                            break;
                        }
                    }
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = &mut stop => {
                        stopping = true;
                        break;
                    }
                }
            }
        }
        if stopping {
            while batch.len() < BATCH * 64 {
                match rx.try_recv() {
                    Ok(s) => batch.push(s),
                    Err(_) => break,
                }
            }
        }
        while !batch.is_empty() {
            let take = batch.len().min(BATCH);
            let chunk: Vec<SpanData> = batch.drain(..take).collect();
            send(&exporter, chunk, &mut failing).await;
        }
    }
    if let Err(e) = exporter.shutdown() {
        tracing::debug!(error = %e, "OTLP exporter shutdown");
    }
}

/// Exports one request's worth of spans. A failure is logged as a warning when exports
/// start failing and at debug level while they go on failing (the counter has them all).
async fn send(
    exporter: &opentelemetry_otlp::SpanExporter,
    chunk: Vec<SpanData>,
    failing: &mut bool,
) {
    let n = chunk.len() as u64;
    match exporter.export(chunk).await {
        Ok(()) => {
            telemetry::spans(SpanOutcome::Exported, n);
            if std::mem::take(failing) {
                tracing::info!("OTLP export works again");
            }
        }
        Err(e) => {
            telemetry::spans(SpanOutcome::Failed, n);
            if std::mem::replace(failing, true) {
                tracing::debug!(error = %e, spans = n, "OTLP export failed; spans lost");
            } else {
                tracing::warn!(error = %e, spans = n, "OTLP export failed; spans lost");
            }
        }
    }
}

/// Builds spans from the engine's records and offers them to the export queue.
struct OtlpSink {
    tx: mpsc::Sender<SpanData>,
    scope: InstrumentationScope,
}

impl OtlpSink {
    fn offer(&self, span: SpanData) {
        if self.tx.try_send(span).is_err() {
            telemetry::spans(SpanOutcome::Dropped, 1);
        }
    }

    fn span(&self, context: SpanContext, parent: SpanId, name: String) -> SpanData {
        SpanData {
            span_context: context,
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Owned(name),
            start_time: UNIX_EPOCH,
            end_time: UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: self.scope.clone(),
        }
    }
}

impl SpanSink for OtlpSink {
    fn task_ended(&self, workflow: &WorkflowInstance, task: &TaskInstance) {
        let context = sampled(trace_id(&workflow.workflow_id), task_span_id(&task.task_id));
        let mut s = self.span(
            context,
            run_span_id(&workflow.workflow_id, workflow.start_time),
            task.reported_def_name().to_string(),
        );
        let end = task.end_time.unwrap_or(task.update_time);
        s.start_time = time(task.scheduled_time.min(end));
        s.end_time = time(end);
        let mut a = vec![
            KeyValue::new("baton.workflow.id", workflow.workflow_id.clone()),
            KeyValue::new("baton.workflow.name", workflow.workflow_name.clone()),
            KeyValue::new("baton.task.id", task.task_id.clone()),
            KeyValue::new(
                "baton.task.reference_name",
                task.reference_task_name.clone(),
            ),
            KeyValue::new("baton.task.type", task.reported_type().to_string()),
            KeyValue::new("baton.task.def_name", task.task_def_name.clone()),
            KeyValue::new("baton.task.status", task.status.as_str()),
            KeyValue::new("baton.task.seq", i64::from(task.seq)),
            KeyValue::new("baton.task.retry_count", i64::from(task.retry_count)),
            KeyValue::new("baton.task.poll_count", i64::from(task.poll_count)),
        ];
        if let Some(w) = &task.worker_id {
            a.push(KeyValue::new("baton.task.worker_id", w.clone()));
        }
        if let Some(r) = &task.reason_for_incompletion {
            a.push(KeyValue::new("baton.task.reason", r.clone()));
        }
        if let Some(r) = &task.retried_task_id {
            a.push(KeyValue::new("baton.task.retried_task_id", r.clone()));
        }
        if let Some(d) = &task.domain {
            a.push(KeyValue::new("baton.task.domain", d.clone()));
        }
        if task.iteration > 0 {
            a.push(KeyValue::new(
                "baton.task.iteration",
                i64::from(task.iteration),
            ));
        }
        if let Some(c) = &workflow.correlation_id {
            a.push(KeyValue::new("baton.workflow.correlation_id", c.clone()));
        }
        s.attributes = a;
        // When a worker (or the engine) took it up, if after it was scheduled.
        if let Some(started) = task.start_time {
            s.events.events.push(Event::new(
                "started",
                time(started.clamp(task.scheduled_time, end)),
                Vec::new(),
                0,
            ));
        }
        s.status = match task.status {
            TaskStatus::Completed => Status::Ok,
            TaskStatus::Skipped | TaskStatus::Scheduled | TaskStatus::InProgress => Status::Unset,
            other => Status::error(
                task.reason_for_incompletion
                    .clone()
                    .unwrap_or_else(|| other.as_str().to_string()),
            ),
        };
        self.offer(s);
    }

    fn workflow_ended(&self, workflow: &WorkflowInstance) {
        let id = &workflow.workflow_id;
        let context = sampled(trace_id(id), run_span_id(id, workflow.start_time));
        let mut s = self.span(context, SpanId::INVALID, workflow.workflow_name.clone());
        let end = workflow.end_time.unwrap_or(workflow.update_time);
        s.start_time = time(workflow.start_time.min(end));
        s.end_time = time(end);
        let mut a = vec![
            KeyValue::new("baton.workflow.id", id.clone()),
            KeyValue::new("baton.workflow.name", workflow.workflow_name.clone()),
            KeyValue::new(
                "baton.workflow.version",
                i64::from(workflow.workflow_version),
            ),
            KeyValue::new("baton.workflow.status", workflow.status.as_str()),
        ];
        if let Some(c) = &workflow.correlation_id {
            a.push(KeyValue::new("baton.workflow.correlation_id", c.clone()));
        }
        if let Some(r) = &workflow.reason_for_incompletion {
            a.push(KeyValue::new("baton.workflow.reason", r.clone()));
        }
        if let Some(r) = &workflow.failed_reference_task_name {
            a.push(KeyValue::new("baton.workflow.failed_task", r.clone()));
        }
        if let (Some(parent), Some(task)) = (
            &workflow.parent_workflow_id,
            &workflow.parent_workflow_task_id,
        ) {
            a.push(KeyValue::new("baton.workflow.parent_id", parent.clone()));
            a.push(KeyValue::new("baton.workflow.parent_task_id", task.clone()));
            s.links.links.push(Link::with_context(SpanContext::new(
                trace_id(parent),
                task_span_id(task),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            )));
        }
        s.attributes = a;
        s.status = match workflow.status {
            WorkflowStatus::Completed => Status::Ok,
            WorkflowStatus::Running | WorkflowStatus::Paused => Status::Unset,
            other => Status::error(
                workflow
                    .reason_for_incompletion
                    .clone()
                    .unwrap_or_else(|| other.as_str().to_string()),
            ),
        };
        self.offer(s);
    }
}

fn sampled(trace: TraceId, span: SpanId) -> SpanContext {
    SpanContext::new(trace, span, TraceFlags::SAMPLED, false, TraceState::NONE)
}

/// Epoch milliseconds as a time.
fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

/// The trace of a workflow execution.
pub(crate) fn trace_id(workflow_id: &str) -> TraceId {
    TraceId::from(nonzero(fnv1a_128(&[b"trace", workflow_id.as_bytes()])))
}

/// The span of one run of a workflow (runs are told apart by their start time).
pub(crate) fn run_span_id(workflow_id: &str, start_time: i64) -> SpanId {
    let start = start_time.to_be_bytes();
    SpanId::from(nonzero(fnv1a_128(&[b"run", workflow_id.as_bytes(), &start])) as u64)
}

/// The span of a task instance.
pub(crate) fn task_span_id(task_id: &str) -> SpanId {
    SpanId::from(nonzero(fnv1a_128(&[b"task", task_id.as_bytes()])) as u64)
}

/// FNV-1a over 128 bits of the parts, each followed by a zero byte: stable across
/// processes and versions, which is all the ids need (they are not secrets).
fn fnv1a_128(parts: &[&[u8]]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    let mut h = OFFSET;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0u8)) {
            h ^= u128::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// A hash whose low 64 bits are not all zero (an id of zeros is invalid).
fn nonzero(h: u128) -> u128 {
    if h as u64 == 0 { h | 1 } else { h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(trace_id("a"), trace_id("a"));
        assert_ne!(trace_id("a"), trace_id("b"));
        assert_ne!(run_span_id("a", 1), run_span_id("a", 2));
        assert_ne!(task_span_id("a"), SpanId::from(0u64));
        // The parts are separated: "ab" + "" differs from "a" + "b".
        assert_ne!(fnv1a_128(&[b"ab", b""]), fnv1a_128(&[b"a", b"b"]),);
        // Pinned, so a change of the hash (which would break links across an upgrade)
        // does not go unnoticed.
        assert_eq!(
            trace_id("wf-1").to_string(),
            "091eecf5ec2d3e6e5c394dc8fb924a83"
        );
    }
}
