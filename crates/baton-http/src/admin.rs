//! `/api/admin/overview`: one compact reading of the server for a live view.

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
    ErrorBody, LatencyQuantiles, Overview, QueueInfo, RecentFailure, TaskTypeLatency,
};
use crate::views;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new().routes(routes!(overview))
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
