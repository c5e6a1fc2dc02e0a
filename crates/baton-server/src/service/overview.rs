//! The overview: one small reading of what the server is doing, for a live view. Counters
//! since start (a client turns two readings into rates), recent latencies by task type,
//! queue depths, workers and the latest failed executions. And the history: the last hour
//! of key figures, sampled.

use baton_core::WorkflowStatus;

use super::{SearchParams, Service};
use crate::error::EngineError;
use crate::history::{MetricsSample, SAMPLE_EVERY_MS};
use crate::matching::{QueueDepth, WorkerInfo};
use crate::stats::StatsSnapshot;

/// Failed executions an overview lists when not told otherwise.
pub const DEFAULT_RECENT_FAILURES: usize = 10;
/// Most failed executions an overview lists.
pub const MAX_RECENT_FAILURES: usize = 100;

/// The final statuses an overview lists as failures.
pub const FAILURE_STATUSES: [WorkflowStatus; 3] = [
    WorkflowStatus::Failed,
    WorkflowStatus::TimedOut,
    WorkflowStatus::Terminated,
];

/// An execution that ended unsuccessfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentFailure {
    /// Execution id.
    pub workflow_id: String,
    /// Definition name.
    pub workflow_type: String,
    /// Definition version.
    pub version: i32,
    /// FAILED, TIMED_OUT or TERMINATED.
    pub status: WorkflowStatus,
    /// When it ended (epoch ms).
    pub end_time: Option<i64>,
    /// Why it did not complete.
    pub reason: Option<String>,
}

/// What the server is doing now.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The server's clock when read (epoch ms).
    pub server_time: i64,
    /// When the server started (epoch ms).
    pub start_time: i64,
    /// Counters since start and recent latencies.
    pub stats: StatsSnapshot,
    /// Every ready queue, by task type then domain.
    pub queues: Vec<QueueDepth>,
    /// Connected stream workers and recent pollers.
    pub workers: Vec<WorkerInfo>,
    /// The latest failed, timed-out or terminated executions, most recent first.
    pub recent_failures: Vec<RecentFailure>,
    /// Whether the recent failures could be read (false while the search index is being
    /// rebuilt or cannot answer; the list is then empty).
    pub failures_available: bool,
}

impl Service {
    /// Reads the overview, listing up to `failures` recent failures (0 means
    /// [`DEFAULT_RECENT_FAILURES`]; at most [`MAX_RECENT_FAILURES`]).
    pub async fn overview(&self, failures: usize) -> Result<Overview, EngineError> {
        if failures > MAX_RECENT_FAILURES {
            return Err(EngineError::InvalidArgument(format!(
                "failures: at most {MAX_RECENT_FAILURES}, got {failures}"
            )));
        }
        let size = if failures == 0 {
            DEFAULT_RECENT_FAILURES
        } else {
            failures
        };
        let statuses: Vec<&str> = FAILURE_STATUSES.iter().map(|s| s.as_str()).collect();
        let params = SearchParams {
            query: format!("status IN ({})", statuses.join(",")),
            sort: vec!["endTime:DESC".into()],
            size,
            ..Default::default()
        };
        let (recent_failures, failures_available) = match self.search_workflows(params).await {
            Ok(hits) => (
                hits.results
                    .into_iter()
                    .map(|w| RecentFailure {
                        workflow_id: w.workflow_id,
                        workflow_type: w.workflow_type,
                        version: w.version,
                        status: w.status,
                        end_time: w.end_time,
                        reason: w.reason_for_incompletion,
                    })
                    .collect(),
                true,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "overview: cannot read recent failures");
                (Vec::new(), false)
            }
        };
        Ok(Overview {
            server_time: self.rt.clock.now_ms(),
            start_time: self.rt.started_at,
            stats: self.rt.stats.snapshot(),
            queues: self.rt.dispatcher.depths(),
            workers: self.rt.dispatcher.workers(),
            recent_failures,
            failures_available,
        })
    }
}

/// The samples of the last minutes, as [`Service::metrics_history`] answers.
#[derive(Debug, Clone)]
pub struct MetricsHistoryView {
    /// The server's clock when read (epoch ms).
    pub server_time: i64,
    /// Length of each sample's interval (ms).
    pub sample_every_ms: i64,
    /// The samples, oldest first.
    pub samples: Vec<MetricsSample>,
}

/// Most minutes of samples kept and answered.
pub const MAX_HISTORY_MINUTES: u32 = 60;

impl Service {
    /// Samples of the key figures over the last `minutes` (0 means all of the kept hour),
    /// one per [`crate::history::SAMPLE_EVERY_MS`].
    pub fn metrics_history(&self, minutes: u32) -> Result<MetricsHistoryView, EngineError> {
        if minutes > MAX_HISTORY_MINUTES {
            return Err(EngineError::InvalidArgument(format!(
                "minutes: at most {MAX_HISTORY_MINUTES} (the history kept), got {minutes}"
            )));
        }
        let minutes = if minutes == 0 {
            MAX_HISTORY_MINUTES
        } else {
            minutes
        };
        let now = self.rt.clock.now_ms();
        Ok(MetricsHistoryView {
            server_time: now,
            sample_every_ms: SAMPLE_EVERY_MS,
            samples: self.rt.history.since(now - i64::from(minutes) * 60_000),
        })
    }
}
