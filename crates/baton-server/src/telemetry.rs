//! The engine's metrics, through the `metrics` facade: names, descriptions and the few
//! helpers that record them. Nothing here exports anything; whoever serves `/metrics`
//! installs a recorder (without one every call is a no-op, as in the in-process tests).
//!
//! Counts come from where a decision is durably applied: the executor records them when
//! it releases a batch's outcomes, after the batch was stored and flushed, so a batch that
//! failed to store counts nothing. Gauges (queue depths, workers, credits, last polls) are
//! read from matching when `/metrics` is scraped, see [`observe_matching`].

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use crate::matching::Dispatcher;
use crate::stats::Stats;

/// Workflows started, by workflow name.
pub const WORKFLOW_STARTS: &str = "baton_workflow_starts_total";
/// Workflows that ended, by workflow name and final status.
pub const WORKFLOW_ENDS: &str = "baton_workflow_ends_total";
/// Worker tasks: from ready in their queue to handed out, by task type.
pub const TASK_SCHEDULE_TO_START: &str = "baton_task_schedule_to_start_seconds";
/// Tasks: from started to ended, by task type.
pub const TASK_START_TO_END: &str = "baton_task_start_to_end_seconds";
/// Tasks that ended after starting, by task type and status.
pub const TASK_ENDS: &str = "baton_task_ends_total";
/// Tasks waiting in a ready queue, by task type and domain.
pub const QUEUE_DEPTH: &str = "baton_queue_depth";
/// Stream workers subscribed to a queue, by task type and domain.
pub const WORKERS_CONNECTED: &str = "baton_workers_connected";
/// Credit left to those stream workers, by task type and domain.
pub const WORKER_CREDITS: &str = "baton_worker_credits";
/// When a queue was last polled or subscribed to, by task type and domain.
pub const LAST_POLL: &str = "baton_queue_last_poll_timestamp_seconds";
/// Records written per storage batch.
pub const STORE_BATCH_WRITES: &str = "baton_store_batch_writes";
/// Time to apply one storage batch.
pub const STORE_APPLY: &str = "baton_store_apply_seconds";
/// Time of one store flush (the fsync a group commit waits for).
pub const STORE_FLUSH: &str = "baton_store_flush_seconds";
/// Time an executor waits for its batch to be flushed (its share of a group commit).
pub const STORE_COMMIT_WAIT: &str = "baton_store_commit_wait_seconds";
/// Time of a system task's job, by kind (script, jq, http, event) and outcome.
pub const JOB_DURATION: &str = "baton_job_duration_seconds";
/// gRPC requests by method and status code.
pub const GRPC_REQUEST: &str = "baton_grpc_request_duration_seconds";
/// HTTP requests by method, route and status.
pub const HTTP_REQUEST: &str = "baton_http_request_duration_seconds";
/// Trace spans by outcome: exported, dropped (the export queue was full) or failed (the
/// collector did not take them).
pub const TRACE_SPANS: &str = "baton_trace_spans_total";

/// Finished executions removed by retention, by workflow name.
pub const RETENTION_REMOVED: &str = "baton_retention_removed_total";
/// Finished executions written to an archive before removal.
pub const RETENTION_ARCHIVED: &str = "baton_retention_archived_total";

/// What became of schedule slots and runs, by schedule and outcome (`STARTED`, `MISSED`,
/// `SKIPPED_BY_OVERLAP`, `BUFFERED`, `FAILED_TO_START`, ...).
pub const SCHEDULE_OUTCOMES: &str = "baton_schedule_outcomes_total";
/// Alerts raised by schedules, by schedule and kind.
pub const SCHEDULE_ALERTS: &str = "baton_schedule_alerts_total";
/// Attempts to post schedule alerts to their webhooks, by schedule and outcome.
pub const SCHEDULE_ALERT_DELIVERIES: &str = "baton_schedule_alert_deliveries_total";
/// Scheduled slots: from the slot plus its jitter to the start of its run (no labels, so
/// that many schedules make one series).
pub const SCHEDULE_FIRE_LAG: &str = "baton_schedule_fire_lag_seconds";

/// The domain label of the default queues.
pub const NO_DOMAIN: &str = "NO_DOMAIN";

/// Describes every series to the installed recorder (help text and unit).
pub fn describe() {
    describe_counter!(WORKFLOW_STARTS, "Workflows started, by workflow name");
    describe_counter!(
        WORKFLOW_ENDS,
        "Workflows that ended, by workflow name and final status"
    );
    describe_histogram!(
        TASK_SCHEDULE_TO_START,
        Unit::Seconds,
        "Worker tasks: from ready in their queue to handed out, by task type"
    );
    describe_histogram!(
        TASK_START_TO_END,
        Unit::Seconds,
        "Tasks: from started to ended, by task type"
    );
    describe_counter!(
        TASK_ENDS,
        "Tasks that ended after starting, by task type and status"
    );
    describe_gauge!(QUEUE_DEPTH, "Tasks waiting in a ready queue");
    describe_gauge!(WORKERS_CONNECTED, "Stream workers subscribed to a queue");
    describe_gauge!(
        WORKER_CREDITS,
        "Credit left to the stream workers of a queue"
    );
    describe_gauge!(
        LAST_POLL,
        Unit::Seconds,
        "When a queue was last polled or subscribed to (epoch seconds)"
    );
    describe_histogram!(STORE_BATCH_WRITES, "Records written per storage batch");
    describe_histogram!(
        STORE_APPLY,
        Unit::Seconds,
        "Time to apply one storage batch"
    );
    describe_histogram!(
        STORE_FLUSH,
        Unit::Seconds,
        "Time of one store flush (fsync)"
    );
    describe_histogram!(
        STORE_COMMIT_WAIT,
        Unit::Seconds,
        "Time an executor waits for its batch's group commit"
    );
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "Time of a system task's job, by kind and outcome"
    );
    describe_counter!(
        RETENTION_REMOVED,
        "Finished executions removed by retention, by workflow name"
    );
    describe_counter!(
        RETENTION_ARCHIVED,
        "Finished executions written to an archive before removal"
    );
    describe_counter!(
        SCHEDULE_OUTCOMES,
        "What became of schedule slots and runs, by schedule and outcome"
    );
    describe_counter!(
        SCHEDULE_ALERTS,
        "Alerts raised by schedules, by schedule and kind"
    );
    describe_counter!(
        SCHEDULE_ALERT_DELIVERIES,
        "Attempts to post schedule alerts to their webhooks, by schedule and outcome"
    );
    describe_histogram!(
        SCHEDULE_FIRE_LAG,
        Unit::Seconds,
        "Scheduled slots: from the slot plus its jitter to the start of its run"
    );
    describe_histogram!(
        GRPC_REQUEST,
        Unit::Seconds,
        "gRPC requests, by method and status code (streams: until they end)"
    );
    describe_histogram!(
        HTTP_REQUEST,
        Unit::Seconds,
        "HTTP requests, by method, route and status (until the response head)"
    );
    describe_counter!(
        TRACE_SPANS,
        "Trace spans, by outcome: exported, dropped (export queue full) or failed (export error)"
    );
}

/// What became of trace spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanOutcome {
    /// The collector took them.
    Exported,
    /// The export queue was full: they were never sent.
    Dropped,
    /// The export failed: they are lost.
    Failed,
}

impl SpanOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanOutcome::Exported => "exported",
            SpanOutcome::Dropped => "dropped",
            SpanOutcome::Failed => "failed",
        }
    }
}

/// Counts `n` trace spans with what became of them.
pub fn spans(outcome: SpanOutcome, n: u64) {
    counter!(TRACE_SPANS, "outcome" => outcome.as_str()).increment(n);
}

/// The domain label of a queue.
pub fn domain_label(domain: Option<&str>) -> String {
    domain.unwrap_or(NO_DOMAIN).to_string()
}

/// What a durably applied decision is counted as.
#[derive(Debug)]
pub(crate) enum Observation {
    /// A workflow started.
    Started { workflow: String },
    /// A workflow ended.
    Ended {
        workflow: String,
        status: &'static str,
    },
    /// A worker task was handed out after waiting this long since it became ready.
    HandedOut { task_type: String, waited_ms: i64 },
    /// A task ended after running this long.
    TaskEnded {
        task_type: String,
        status: &'static str,
        ran_ms: i64,
    },
}

impl Observation {
    /// Records the observation as metrics and in the server's own `stats`.
    pub(crate) fn record(self, stats: &Stats) {
        match self {
            Observation::Started { workflow } => {
                stats.workflow_started();
                counter!(WORKFLOW_STARTS, "workflow" => workflow).increment(1)
            }
            Observation::Ended { workflow, status } => {
                stats.workflow_ended(status);
                counter!(WORKFLOW_ENDS, "workflow" => workflow, "status" => status).increment(1)
            }
            Observation::HandedOut {
                task_type,
                waited_ms,
            } => {
                stats.handed_out(&task_type, waited_ms);
                histogram!(TASK_SCHEDULE_TO_START, "task_type" => task_type)
                    .record(ms_to_secs(waited_ms))
            }
            Observation::TaskEnded {
                task_type,
                status,
                ran_ms,
            } => {
                stats.task_ended(&task_type, status, ran_ms);
                counter!(TASK_ENDS, "task_type" => task_type.clone(), "status" => status)
                    .increment(1);
                histogram!(TASK_START_TO_END, "task_type" => task_type).record(ms_to_secs(ran_ms));
            }
        }
    }
}

fn ms_to_secs(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

/// Records a storage batch: its size and the time to apply it.
pub(crate) fn store_batch(writes: usize, apply: Duration) {
    histogram!(STORE_BATCH_WRITES).record(writes as f64);
    histogram!(STORE_APPLY).record(apply.as_secs_f64());
}

/// Records one store flush.
pub(crate) fn store_flush(took: Duration) {
    histogram!(STORE_FLUSH).record(took.as_secs_f64());
}

/// Records an executor's wait for its group commit.
pub(crate) fn commit_wait(took: Duration) {
    histogram!(STORE_COMMIT_WAIT).record(took.as_secs_f64());
}

/// Records a job's time.
pub(crate) fn job(kind: &'static str, status: &'static str, took: Duration) {
    histogram!(JOB_DURATION, "kind" => kind, "status" => status).record(took.as_secs_f64());
}

/// Sets the matching gauges from what matching holds now: per queue, the tasks waiting,
/// the stream workers subscribed and their credit left, and the last poll. Queues are
/// never forgotten by matching, so a queue whose workers left reads 0 rather than
/// vanishing.
pub fn observe_matching(dispatcher: &Dispatcher) {
    for d in dispatcher.depths() {
        let labels = [
            ("task_type", d.queue.task_type.clone()),
            ("domain", domain_label(d.queue.domain.as_deref())),
        ];
        gauge!(QUEUE_DEPTH, &labels).set(d.depth as f64);
        gauge!(WORKERS_CONNECTED, &labels).set(d.subscribers as f64);
        gauge!(WORKER_CREDITS, &labels).set(d.credits as f64);
    }
    for p in dispatcher.poll_data() {
        let labels = [
            ("task_type", p.queue.task_type.clone()),
            ("domain", domain_label(p.queue.domain.as_deref())),
        ];
        gauge!(LAST_POLL, &labels).set(p.last_poll_time as f64 / 1000.0);
    }
}
