//! The runtime: executors that own partitions of the workflows (mailboxes, batching, group
//! commit), timers, the jobs system tasks ask for, recovery after a restart, and the
//! definition registry. It speaks domain types only; the service layer above it offers
//! the operations, and protocol adapters sit above that.

pub mod alerts;
mod cache;
pub mod commit;
pub(crate) mod executor;
pub mod indexer;
pub mod ingress;
pub mod jobs;
pub(crate) mod msg;
mod recovery;
pub mod registry;
pub mod retention;
mod schedule_io;
pub mod scheduler;
pub mod timers;
pub mod waiters;

use std::sync::Arc;
use std::thread::JoinHandle;

use baton_store::Store;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::clock::{SharedClock, SystemClock};
use crate::error::EngineError;
use crate::history::MetricsHistory;
use crate::matching::Dispatcher;
use crate::spans::SpanSink;
use crate::stats::Stats;
use commit::GroupCommit;
use executor::{Executor, Parts};
use indexer::Indexer;
use ingress::Ingress;
use jobs::{JobLimits, JobRunner};
use msg::Router;
use registry::Registry;
use retention::{Retention, RetentionConfig};
use scheduler::Scheduler;
use timers::Timers;
use waiters::Waiters;

/// Tunables of the engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// Number of executor partitions (threads).
    pub partitions: usize,
    /// Largest accepted input, output or definition, in bytes of JSON.
    pub max_payload_bytes: usize,
    /// Mailbox backlog above which new starts are refused with RESOURCE_EXHAUSTED.
    pub max_backlog: usize,
    /// Limits of the scripts, jq queries and HTTP calls system tasks run.
    pub jobs: JobLimits,
    /// Where the runtime reads the time.
    pub clock: SharedClock,
    /// Runs before every decision, on the executor, inside the same guard as the decider:
    /// tests use it to make a decision fail (a panic here is handled as a panic of the
    /// decider would be). None in production.
    pub before_decide: Option<DecideHook>,
    /// Bytes of executions kept in memory, over all partitions; the least recently used
    /// are dropped beyond it and loaded again when an event needs them.
    pub cache_bytes: usize,
    /// How far ahead of now stored timers are held in memory (ms); later ones are read
    /// from the store as time reaches them.
    pub timer_horizon_ms: i64,
    /// Directory of the search index; None keeps it in memory (rebuilt at every start).
    pub search_dir: Option<std::path::PathBuf>,
    /// How long finished executions are kept, and where they are archived.
    pub retention: RetentionConfig,
    /// Where the executors report ended tasks and workflows once they are durable (for
    /// tracing); None gathers nothing.
    pub spans: Option<Arc<dyn SpanSink>>,
}

/// Reads an execution from outside its executor (the indexer, retention). Its records are
/// read one after the other while the executor may write: one removed in between reads as
/// a workflow without its definition snapshot, which, once the workflow record is gone too,
/// is simply an execution that no longer exists.
pub(crate) fn load_present(
    store: &dyn Store,
    workflow_id: &str,
) -> Result<Option<baton_core::Execution>, EngineError> {
    match store.load_execution(workflow_id) {
        Ok(loaded) => Ok(loaded),
        Err(baton_store::StoreError::Corrupt { .. })
            if store.load_workflow(workflow_id)?.is_none() =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A function run before each decision, with the workflow id and the event.
pub type DecideHook = Arc<dyn Fn(&str, &baton_core::Event) + Send + Sync>;

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("partitions", &self.partitions)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("max_backlog", &self.max_backlog)
            .field("jobs", &self.jobs)
            .field("cache_bytes", &self.cache_bytes)
            .field("spans", &self.spans.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            partitions: 2,
            max_payload_bytes: 4 * 1024 * 1024,
            max_backlog: 200_000,
            jobs: JobLimits::default(),
            clock: Arc::new(SystemClock),
            before_decide: None,
            cache_bytes: 256 * 1024 * 1024,
            timer_horizon_ms: 60_000,
            search_dir: None,
            retention: RetentionConfig::default(),
            spans: None,
        }
    }
}

/// The running engine: executors, dispatcher, timers, jobs, registry.
pub struct Runtime {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) router: Router,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) timers: Arc<Timers>,
    pub(crate) waiters: Arc<Waiters>,
    pub(crate) registry: Arc<Registry>,
    pub(crate) ingress: Arc<Ingress>,
    pub(crate) clock: SharedClock,
    pub(crate) config: EngineConfig,
    commit: Arc<GroupCommit>,
    pub(crate) indexer: Arc<Indexer>,
    pub(crate) retention: Arc<Retention>,
    pub(crate) scheduler: Arc<Scheduler>,
    pub(crate) stats: Arc<Stats>,
    /// The last hour of key figures.
    pub(crate) history: Arc<MetricsHistory>,
    /// When the runtime was opened (epoch ms).
    pub(crate) started_at: i64,
    threads: Mutex<Vec<JoinHandle<()>>>,
    ready: watch::Sender<bool>,
}

impl Runtime {
    /// Opens the runtime on a store: loads definitions and starts the executors and the
    /// timer service. Executions that were running are not yet adopted: call
    /// [`Runtime::recover`] (the runtime serves meanwhile; an execution asked for before
    /// its turn is adopted on the spot). Must be called within a tokio runtime.
    pub fn open(store: Arc<dyn Store>, config: EngineConfig) -> Result<Arc<Self>, EngineError> {
        let clock = config.clock.clone();
        let epoch = store.next_epoch()?;
        let partitions = config.partitions.max(1);
        let (router, receivers) = Router::new(partitions);
        let registry = Arc::new(Registry::load(store.clone(), clock.clone())?);
        let task_defs = registry.task_def_map().clone();
        let dispatcher = Arc::new(Dispatcher::new(
            epoch,
            router.clone(),
            task_defs.clone(),
            clock.clone(),
        ));
        // Until recovery has run, tasks out with workers before the restart are not counted.
        dispatcher.await_recovery(partitions);
        let timers = Timers::new(
            router.clone(),
            clock.clone(),
            store.clone(),
            config.timer_horizon_ms,
        );
        let waiters = Arc::new(Waiters::default());
        let commit = GroupCommit::start(store.clone());
        let indexer = Indexer::start(store.clone(), config.search_dir.as_deref())?;
        let ingress = Arc::new(Ingress::new(
            router.clone(),
            registry.clone(),
            store.clone(),
            config.max_payload_bytes,
            config.max_backlog,
        ));
        let jobs = Arc::new(JobRunner::new(ingress.clone(), config.jobs.clone())?);
        let handle = tokio::runtime::Handle::current();
        let stats = Arc::new(Stats::new());
        let started_at = clock.now_ms();

        let mut threads = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let ex = Executor::new(
                i,
                Parts {
                    store: store.clone(),
                    commit: commit.clone(),
                    dispatcher: dispatcher.clone(),
                    timers: timers.clone(),
                    waiters: waiters.clone(),
                    task_defs: task_defs.clone(),
                    router: router.clone(),
                    jobs: jobs.clone(),
                    clock: clock.clone(),
                    runtime: handle.clone(),
                    before_decide: config.before_decide.clone(),
                    spans: config.spans.clone(),
                    cache_bytes: config.cache_bytes / partitions.max(1),
                    stats: stats.clone(),
                },
            );
            threads.push(
                std::thread::Builder::new()
                    .name(format!("baton-exec-{i}"))
                    .spawn(move || ex.run(rx))
                    .map_err(|e| EngineError::Storage(format!("cannot start executor: {e}")))?,
            );
        }
        tokio::spawn(timers.clone().run());
        let history = Arc::new(MetricsHistory::new(started_at));
        tokio::spawn(
            history
                .clone()
                .run(clock.clone(), stats.clone(), dispatcher.clone()),
        );
        let retention = Retention::new(config.retention.clone());
        let scheduler = Scheduler::new(
            store.clone(),
            ingress.clone(),
            waiters.clone(),
            clock.clone(),
        )?;
        let (ready, _) = watch::channel(false);
        tracing::info!(epoch, partitions, "runtime open");
        Ok(Arc::new(Self {
            store,
            router,
            dispatcher,
            timers,
            waiters,
            registry,
            ingress,
            clock,
            config,
            commit,
            indexer,
            retention,
            scheduler,
            stats,
            history,
            started_at,
            threads: Mutex::new(threads),
            ready,
        }))
    }

    /// Adopts every execution that was running or paused and re-arms stored timers, off
    /// the async threads; waits until every partition has adopted what it was handed
    /// (its ready tasks queued again, its held slots counted); then marks the runtime
    /// ready.
    pub async fn recover(self: &Arc<Self>) -> Result<(), EngineError> {
        let me = self.clone();
        let started = std::time::Instant::now();
        let counts = tokio::task::spawn_blocking(move || recovery::run(&me))
            .await
            .map_err(|e| EngineError::Storage(format!("recovery failed: {e}")))??;
        // Ready once every partition has adopted what it was handed (and its adopted ready
        // tasks are queued again), not merely once everything was handed over.
        self.dispatcher.recovered().await;
        tracing::info!(
            executions = counts.executions,
            ms = started.elapsed().as_millis() as u64,
            "engine recovered"
        );
        self.ready.send_replace(true);
        // Retention starts once every open execution is adopted again.
        tokio::spawn(self.retention.clone().run(
            self.store.clone(),
            self.registry.clone(),
            self.ingress.clone(),
            self.clock.clone(),
        ));
        // So does the scheduler: the runs it watches and starts meet adopted executions.
        tokio::spawn(self.scheduler.clone().run());
        Ok(())
    }

    /// Whether recovery has finished.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Waits until recovery has finished.
    pub async fn ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Stops the executors after the work already queued, and flushes.
    pub fn shutdown(&self) {
        self.retention.stop();
        self.scheduler.stop();
        self.history.stop();
        self.router.stop_all();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        if let Err(e) = self.store.flush() {
            tracing::error!(error = %e, "final flush failed");
        }
        self.commit.stop();
        self.timers.stop();
        self.indexer.stop();
    }

    /// Number of armed timers (durable and lease timers).
    pub fn armed_timers(&self) -> usize {
        self.timers.len()
    }

    /// The dispatcher (ready queues and workers).
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    /// The search indexer (and the index it keeps).
    pub fn indexer(&self) -> &Arc<Indexer> {
        &self.indexer
    }

    /// Retention (its settings and counts).
    pub fn retention(&self) -> &Arc<Retention> {
        &self.retention
    }

    /// The scheduler (its counts and its wake-up).
    pub fn scheduler(&self) -> &Arc<Scheduler> {
        &self.scheduler
    }

    /// The definition registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The way into the executors.
    pub fn ingress(&self) -> &Arc<Ingress> {
        &self.ingress
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Registers interest in an execution's end.
    pub fn wait_end(
        &self,
        workflow_id: &str,
    ) -> tokio::sync::oneshot::Receiver<baton_core::WorkflowStatus> {
        self.waiters.wait(workflow_id)
    }

    /// Watches an execution's stored changes (see [`waiters::Watch`]).
    pub fn watch(&self, workflow_id: &str) -> waiters::Watch {
        self.waiters.watch(workflow_id)
    }

    /// Drops waiters of an execution that gave up.
    pub fn prune_waiters(&self, workflow_id: &str) {
        self.waiters.prune(workflow_id);
    }
}
