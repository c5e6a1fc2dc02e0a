//! MonitorService: the overview a live view reads every second.

use baton_proto::v1 as pb;
use baton_proto::v1::monitor_service_server::MonitorService;
use baton_server::Service;
use baton_server::service::{MetricsHistoryView, Overview};
use baton_server::stats::Quantiles;
use tonic::{Request, Response, Status};

use crate::convert::ts;
use crate::status;
use crate::views::{queue_info_to_pb, worker_info_to_pb, workflow_status};

/// The MonitorService implementation.
pub struct Monitor {
    svc: Service,
}

impl Monitor {
    /// Answers from `svc`.
    pub fn new(svc: Service) -> Self {
        Self { svc }
    }
}

#[tonic::async_trait]
impl MonitorService for Monitor {
    async fn get_overview(
        &self,
        req: Request<pb::GetOverviewRequest>,
    ) -> Result<Response<pb::GetOverviewResponse>, Status> {
        let n = req.get_ref().recent_failures;
        if n < 0 {
            return Err(Status::invalid_argument(format!(
                "recent_failures: must not be negative, got {n}"
            )));
        }
        let o = self.svc.overview(n as usize).await.map_err(status)?;
        Ok(Response::new(overview_to_pb(o)))
    }

    async fn get_metrics_history(
        &self,
        req: Request<pb::GetMetricsHistoryRequest>,
    ) -> Result<Response<pb::GetMetricsHistoryResponse>, Status> {
        let m = req.get_ref().minutes;
        let minutes = u32::try_from(m).map_err(|_| {
            Status::invalid_argument(format!("minutes: must not be negative, got {m}"))
        })?;
        let h = self.svc.metrics_history(minutes).map_err(status)?;
        Ok(Response::new(history_to_pb(h)))
    }
}

/// The metrics history on the wire.
pub fn history_to_pb(h: MetricsHistoryView) -> pb::GetMetricsHistoryResponse {
    pb::GetMetricsHistoryResponse {
        server_time: Some(ts(h.server_time)),
        sample_every_ms: h.sample_every_ms,
        samples: h
            .samples
            .into_iter()
            .map(|s| pb::MetricsSample {
                at: Some(ts(s.at_ms)),
                interval_ms: s.interval_ms,
                workflows_started: s.workflows_started as i64,
                workflows_completed: s.workflows_completed as i64,
                workflows_failed: s.workflows_failed as i64,
                workflows_terminated: s.workflows_terminated as i64,
                tasks_completed: s.tasks_completed as i64,
                tasks_failed: s.tasks_failed as i64,
                queue_wait: Some(quantiles(s.queue_wait)),
                run_time: Some(quantiles(s.run_time)),
                queue_depth: s.queue_depth as i64,
                workers: s.workers as i64,
            })
            .collect(),
    }
}

fn quantiles(q: Quantiles) -> pb::LatencyQuantiles {
    pb::LatencyQuantiles {
        count: q.count as i64,
        p50_ms: q.p50_ms as i64,
        p99_ms: q.p99_ms as i64,
        max_ms: q.max_ms as i64,
    }
}

fn counts(v: Vec<(String, u64)>) -> Vec<pb::StatusCount> {
    v.into_iter()
        .map(|(status, count)| pb::StatusCount {
            status,
            count: count as i64,
        })
        .collect()
}

/// The overview on the wire.
pub fn overview_to_pb(o: Overview) -> pb::GetOverviewResponse {
    pb::GetOverviewResponse {
        server_time: Some(ts(o.server_time)),
        start_time: Some(ts(o.start_time)),
        workflows_started: o.stats.workflows_started as i64,
        workflows_ended: counts(o.stats.workflows_ended),
        tasks_ended: counts(o.stats.tasks_ended),
        latencies: o
            .stats
            .latencies
            .into_iter()
            .map(|l| pb::TaskTypeLatency {
                task_type: l.task_type,
                schedule_to_start: Some(quantiles(l.schedule_to_start)),
                start_to_end: Some(quantiles(l.start_to_end)),
            })
            .collect(),
        queues: o.queues.into_iter().map(queue_info_to_pb).collect(),
        workers: o.workers.into_iter().map(worker_info_to_pb).collect(),
        recent_failures: o
            .recent_failures
            .into_iter()
            .map(|f| pb::RecentFailure {
                workflow_id: f.workflow_id,
                workflow_type: f.workflow_type,
                version: f.version,
                status: workflow_status(f.status) as i32,
                end_time: f.end_time.map(ts),
                reason: f.reason.unwrap_or_default(),
            })
            .collect(),
        recent_failures_available: o.failures_available,
    }
}
