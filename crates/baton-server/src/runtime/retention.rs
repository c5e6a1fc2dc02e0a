//! Retention: removes finished executions that have been kept long enough, in the
//! background and at a bounded rate, archiving them first when an archive directory is set.
//!
//! Once a second a pass walks the store's index of finished executions, name by name and
//! oldest first, and asks the rules of [`baton_core::retention`] which have expired under
//! the policy of their name (the server's default, overridden by the latest definition's
//! `retention` settings). The pass removes at most the rate's worth, each through the
//! executor that owns the execution and only if it is still finished and ended when it was
//! chosen, so a retry or restart meanwhile keeps it. Removal queues the execution for the
//! search index, which then drops its documents. A sub-workflow is kept while its parent
//! is still open, so a retry of the parent can still reach into it.
//!
//! With an archive directory, the chosen executions are appended to an archive file and
//! the file synced before any of them is removed (see [`crate::archive`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use baton_core::retention::{Finished, Policy, expired_prefix};
use baton_store::Store;
use metrics::counter;
use tokio::sync::Notify;

use crate::archive::{ArchiveWriter, encode_line};
use crate::clock::SharedClock;
use crate::error::EngineError;
use crate::runtime::ingress::Ingress;
use crate::runtime::registry::Registry;
use crate::telemetry;

/// How often a pass runs.
const PASS_EVERY: Duration = Duration::from_secs(1);
/// Index entries read per page.
const PAGE: usize = 500;

/// What retention keeps and how fast it removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// The policy of every workflow name whose definition sets none. The default keeps
    /// every finished execution.
    pub default: Policy,
    /// Most executions removed per second.
    pub max_removals_per_sec: u32,
    /// Where expired executions are archived before removal; None removes them outright.
    pub archive_dir: Option<PathBuf>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            default: Policy::KEEP_ALL,
            max_removals_per_sec: 1_000,
            archive_dir: None,
        }
    }
}

/// Counts since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionStats {
    /// Passes run.
    pub passes: u64,
    /// Executions removed.
    pub removed: u64,
    /// Executions written to an archive.
    pub archived: u64,
    /// Executions chosen but kept because they changed meanwhile (retried, restarted).
    pub changed: u64,
    /// Sub-workflows kept because their parent was still open.
    pub held_by_parent: u64,
    /// Passes that failed (store or archive errors).
    pub failures: u64,
}

#[derive(Default)]
struct Counters {
    passes: AtomicU64,
    removed: AtomicU64,
    archived: AtomicU64,
    changed: AtomicU64,
    held_by_parent: AtomicU64,
    failures: AtomicU64,
}

/// The retention task's handle.
pub struct Retention {
    config: RetentionConfig,
    counters: Counters,
    wake: Notify,
    stopped: AtomicBool,
}

/// What one pass chose.
struct Chosen {
    runs: Vec<(String, Finished)>,
    held_by_parent: u64,
}

impl Retention {
    /// The handle; the task runs once [`Retention::run`] is spawned.
    pub(crate) fn new(config: RetentionConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            counters: Counters::default(),
            wake: Notify::new(),
            stopped: AtomicBool::new(false),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RetentionConfig {
        &self.config
    }

    /// Counts since the server started.
    pub fn stats(&self) -> RetentionStats {
        let c = &self.counters;
        RetentionStats {
            passes: c.passes.load(Ordering::Relaxed),
            removed: c.removed.load(Ordering::Relaxed),
            archived: c.archived.load(Ordering::Relaxed),
            changed: c.changed.load(Ordering::Relaxed),
            held_by_parent: c.held_by_parent.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
        }
    }

    /// Ends the task after the pass under way.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Runs passes until stopped.
    pub(crate) async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        ingress: Arc<Ingress>,
        clock: SharedClock,
    ) {
        let mut archive = None;
        while !self.stopped.load(Ordering::SeqCst) {
            // Passes start a second apart (or at once when the last took longer), so that
            // the rate holds however long removals take.
            let began = tokio::time::Instant::now();
            if let Err(e) = self
                .pass(&store, &registry, &ingress, &clock, &mut archive)
                .await
            {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "retention pass failed; trying again at the next");
            }
            self.counters.passes.fetch_add(1, Ordering::Relaxed);
            let jumped = async {
                match clock.jumps() {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(began + PASS_EVERY) => {}
                _ = jumped => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    async fn pass(
        &self,
        store: &Arc<dyn Store>,
        registry: &Arc<Registry>,
        ingress: &Arc<Ingress>,
        clock: &SharedClock,
        archive: &mut Option<ArchiveWriter>,
    ) -> Result<(), EngineError> {
        let now = clock.now_ms();
        let budget = self.config.max_removals_per_sec.max(1) as usize;
        let policies: HashMap<String, Policy> = {
            let default = self.config.default;
            let store = store.clone();
            let registry = registry.clone();
            blocking(move || {
                let mut out = HashMap::new();
                for name in store.finished_names()? {
                    let settings = registry.workflow_def(&name, None);
                    let policy = match Policy::for_definition(
                        default,
                        settings.as_deref().and_then(|d| d.retention.as_ref()),
                    ) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(workflow = %name, error = %e,
                                "retention settings refused; using the default");
                            default
                        }
                    };
                    if policy.is_bounded() {
                        out.insert(name, policy);
                    }
                }
                Ok(out)
            })
            .await?
        };
        if policies.is_empty() {
            return Ok(());
        }
        let chosen = {
            let store = store.clone();
            blocking(move || choose(store.as_ref(), &policies, now, budget)).await?
        };
        self.counters
            .held_by_parent
            .fetch_add(chosen.held_by_parent, Ordering::Relaxed);
        if chosen.runs.is_empty() {
            return Ok(());
        }
        if let Some(dir) = &self.config.archive_dir {
            let writer = match archive.take() {
                Some(w) => w,
                None => ArchiveWriter::new(dir.clone())
                    .map_err(|e| EngineError::Storage(e.to_string()))?,
            };
            let store = store.clone();
            let ids: Vec<String> = chosen
                .runs
                .iter()
                .map(|(_, f)| f.workflow_id.clone())
                .collect();
            let (writer, result) = blocking(move || {
                let mut writer = writer;
                let result = archive_runs(store.as_ref(), &mut writer, &ids, now);
                Ok((writer, result))
            })
            .await?;
            *archive = Some(writer);
            let n = result?;
            self.counters.archived.fetch_add(n, Ordering::Relaxed);
            counter!(telemetry::RETENTION_ARCHIVED).increment(n);
        }
        let mut replies = tokio::task::JoinSet::new();
        for (name, f) in chosen.runs {
            let ingress = ingress.clone();
            replies.spawn(async move {
                let r = ingress.remove_finished(&f.workflow_id, f.end_time).await;
                (name, r)
            });
        }
        while let Some(joined) = replies.join_next().await {
            let Ok((name, r)) = joined else { continue };
            match r {
                Ok(()) => {
                    self.counters.removed.fetch_add(1, Ordering::Relaxed);
                    counter!(telemetry::RETENTION_REMOVED, "workflow" => name).increment(1);
                }
                Err(EngineError::FailedPrecondition(_) | EngineError::NotFound(_)) => {
                    self.counters.changed.fetch_add(1, Ordering::Relaxed);
                }
                Err(EngineError::ShuttingDown) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Picks up to `budget` expired executions over every name, oldest first within a name.
/// Runs kept for their open parent are stepped over (and looked at again next pass).
fn choose(
    store: &dyn Store,
    policies: &HashMap<String, Policy>,
    now: i64,
    mut budget: usize,
) -> Result<Chosen, EngineError> {
    let mut chosen = Chosen {
        runs: Vec::new(),
        held_by_parent: 0,
    };
    let mut names: Vec<&String> = policies.keys().collect();
    names.sort();
    for name in names {
        if budget == 0 {
            break;
        }
        let policy = &policies[name];
        let oldest_kept = match policy.keep_last {
            Some(n) => store.nth_newest_finished(name, n)?,
            None => None,
        };
        let mut after: Option<Finished> = None;
        loop {
            let page = store.finished_runs(name, after.as_ref(), PAGE)?;
            let expired = expired_prefix(policy, now, &page, oldest_kept.as_ref());
            for f in &page[..expired] {
                if budget == 0 {
                    break;
                }
                if parent_is_open(store, &f.workflow_id)? {
                    chosen.held_by_parent += 1;
                    continue;
                }
                chosen.runs.push((name.clone(), f.clone()));
                budget -= 1;
            }
            // Stop at the first run still kept, at the end of the runs, or out of budget.
            if budget == 0 || expired < page.len() || page.len() < PAGE {
                break;
            }
            after = page.last().cloned();
        }
    }
    Ok(chosen)
}

/// Whether a sub-workflow's parent is still open (or cannot be read).
fn parent_is_open(store: &dyn Store, workflow_id: &str) -> Result<bool, EngineError> {
    let Some(wf) = store.load_workflow(workflow_id)? else {
        return Ok(false);
    };
    let Some(parent) = wf.parent_workflow_id.as_deref() else {
        return Ok(false);
    };
    Ok(store
        .load_workflow(parent)?
        .is_some_and(|p| !p.status.is_terminal()))
}

/// Writes the executions to the archive (one synced frame); returns how many.
fn archive_runs(
    store: &dyn Store,
    writer: &mut ArchiveWriter,
    ids: &[String],
    now: i64,
) -> Result<u64, EngineError> {
    let mut lines = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(exec) = super::load_present(store, id)? {
            lines.push(encode_line(&exec).map_err(|e| EngineError::Storage(e.to_string()))?);
        }
    }
    if lines.is_empty() {
        return Ok(0);
    }
    writer
        .append(&lines, now)
        .map_err(|e| EngineError::Storage(format!("archiving expired executions: {e}")))?;
    Ok(lines.len() as u64)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Storage(format!("retention pass panicked: {e}")))?
}
