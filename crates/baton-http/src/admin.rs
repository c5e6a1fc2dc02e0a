//! `/api/admin/overview`: one compact reading of the server for a live view;
//! `/api/admin/metrics`: the last hour of key figures, for charts.

use axum::Json;
use axum::extract::State;
use baton_server::Service;
use baton_server::stats::Quantiles;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Q, int};
use crate::model::{
    ErrorBody, LatencyQuantiles, MetricsHistory, MetricsSample, Overview, QueueInfo, RecentFailure,
    TaskTypeLatency,
};
use crate::views;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(metrics_history))
}

/// Query of the overview.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct OverviewQuery {
    /// Failed executions to list (at most 100; absent or 0 lists 10).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 100)]
    recent_failures: Option<String>,
}

fn quantiles(q: Quantiles) -> LatencyQuantiles {
    LatencyQuantiles {
        count: q.count as i64,
        p50_ms: q.p50_ms as i64,
        p99_ms: q.p99_ms as i64,
        max_ms: q.max_ms as i64,
    }
}

/// One reading of the server: workflows started and ended (by status) and tasks ended
/// (by status) since it started, recent latencies by task type, every ready queue, the
/// workers, and the latest failed, timed-out or terminated executions. Rates come from
/// the difference of two readings.
#[utoipa::path(
    get, path = "/api/admin/overview", tag = "admin",
    params(OverviewQuery),
    responses(
        (status = 200, description = "The overview", body = Overview),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn overview(
    State(svc): State<Service>,
    Q(q): Q<OverviewQuery>,
) -> Result<Json<Overview>, ApiError> {
    let n: Option<usize> = int(q.recent_failures.as_deref(), "recentFailures")?;
    let o = svc.overview(n.unwrap_or(0)).await?;
    let counts = |v: Vec<(String, u64)>| v.into_iter().map(|(k, n)| (k, n as i64)).collect();
    Ok(Json(Overview {
        server_time: o.server_time,
        start_time: o.start_time,
        workflows_started: o.stats.workflows_started as i64,
        workflows_ended: counts(o.stats.workflows_ended),
        tasks_ended: counts(o.stats.tasks_ended),
        latencies: o
            .stats
            .latencies
            .into_iter()
            .map(|l| TaskTypeLatency {
                task_type: l.task_type,
                schedule_to_start: quantiles(l.schedule_to_start),
                start_to_end: quantiles(l.start_to_end),
            })
            .collect(),
        queues: o
            .queues
            .into_iter()
            .map(|d| QueueInfo {
                task_type: d.queue.task_type,
                domain: d.queue.domain,
                depth: d.depth as i64,
                subscribers: d.subscribers as i64,
            })
            .collect(),
        workers: o.workers.into_iter().map(views::worker_info).collect(),
        recent_failures: o
            .recent_failures
            .into_iter()
            .map(|f| RecentFailure {
                workflow_id: f.workflow_id,
                workflow_type: f.workflow_type,
                version: f.version,
                status: f.status.as_str().to_string(),
                end_time: f.end_time,
                reason: f.reason,
            })
            .collect(),
        recent_failures_available: o.failures_available,
    }))
}

/// Query of the metrics history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Minutes to answer (at most 60; absent or 0 answers the whole hour kept).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 60)]
    minutes: Option<String>,
}

/// The last minutes of key figures, one sample every ten seconds: workflows started and
/// ended, tasks ended, queue waits and run times over each interval, and the queues and
/// workers at its end. Kept in memory for an hour; a restart begins a new one.
#[utoipa::path(
    get, path = "/api/admin/metrics", tag = "admin",
    params(HistoryQuery),
    responses(
        (status = 200, description = "The samples, oldest first", body = MetricsHistory),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn metrics_history(
    State(svc): State<Service>,
    Q(q): Q<HistoryQuery>,
) -> Result<Json<MetricsHistory>, ApiError> {
    let minutes: Option<u32> = int(q.minutes.as_deref(), "minutes")?;
    let h = svc.metrics_history(minutes.unwrap_or(0))?;
    Ok(Json(MetricsHistory {
        server_time: h.server_time,
        sample_every_ms: h.sample_every_ms,
        samples: h
            .samples
            .into_iter()
            .map(|s| MetricsSample {
                at: s.at_ms,
                interval_ms: s.interval_ms,
                workflows_started: s.workflows_started as i64,
                workflows_completed: s.workflows_completed as i64,
                workflows_failed: s.workflows_failed as i64,
                workflows_terminated: s.workflows_terminated as i64,
                tasks_completed: s.tasks_completed as i64,
                tasks_failed: s.tasks_failed as i64,
                queue_wait: quantiles(s.queue_wait),
                run_time: quantiles(s.run_time),
                queue_depth: s.queue_depth as i64,
                workers: s.workers as i64,
            })
            .collect(),
    }))
}
