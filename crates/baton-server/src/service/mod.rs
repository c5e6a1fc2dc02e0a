//! The service layer: every operation Baton offers, in domain terms, shared by every API.
//! Protocol adapters (gRPC today; HTTP, the scheduler and the UI next) decode a request,
//! call one operation here and encode its answer; the checks, paging, bulk fan-out and
//! waits live here once.

mod metadata;
mod overview;
mod schedules;
mod search;
mod tasks;
mod workflows;

use std::sync::Arc;

use crate::runtime::Runtime;
use crate::runtime::registry::blocking;

pub use baton_search::Hits;
pub use overview::{
    DEFAULT_RECENT_FAILURES, FAILURE_STATUSES, MAX_HISTORY_MINUTES, MAX_RECENT_FAILURES,
    MetricsHistoryView, Overview, RecentFailure,
};
pub use schedules::{MAX_HISTORY, MAX_LIST, PreviewOf, ScheduleEvent, ScheduleView};
pub use search::{MAX_TASK_HITS_FOR_WORKFLOWS, SearchParams};
pub use tasks::{WorkerSession, WorkerSpec, check_poll_wait};
pub use workflows::{
    BulkOp, ExecuteOutcome, ExecuteRequest, ImportSummary, MAX_IMPORT, Page, RetentionView, View,
};

/// Most executions one bulk operation or correlation-id lookup may name.
pub const MAX_BULK: usize = 1000;

/// The operations of one engine.
#[derive(Clone)]
pub struct Service {
    rt: Arc<Runtime>,
    auth: Option<Arc<crate::auth::Auth>>,
}

impl Service {
    /// The service over a runtime, with authentication off and no audit log.
    pub fn new(rt: Arc<Runtime>) -> Self {
        Self { rt, auth: None }
    }

    /// The same service guarded by `auth`.
    pub fn with_auth(mut self, auth: Arc<crate::auth::Auth>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Authentication and the audit log, when set up.
    pub fn auth(&self) -> Option<&Arc<crate::auth::Auth>> {
        self.auth.as_ref()
    }

    /// The runtime underneath.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.rt
    }

    /// Sets the gauges read from matching (queue depths, stream workers and their credit,
    /// last polls) to what it holds now; called before the metrics are rendered.
    pub fn observe_metrics(&self) {
        crate::telemetry::observe_matching(&self.rt.dispatcher);
    }

    /// The largest accepted payload, in bytes of JSON.
    pub fn max_payload_bytes(&self) -> usize {
        self.rt.ingress.max_payload_bytes()
    }

    /// Runs a store read off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn baton_store::Store) -> Result<T, baton_store::StoreError> + Send + 'static,
    ) -> Result<T, crate::EngineError> {
        let store = self.rt.store.clone();
        blocking(move || f(store.as_ref())).await
    }
}
