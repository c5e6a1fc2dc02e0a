//! Executions: start, execute and wait, read, steer, bulk operations and paging.

use std::collections::HashSet;
use std::time::Duration;

use baton_core::decider::{definition_reference, has_reference, reference_matches};
use baton_core::{
    Event, Execution, Object, Reply, TaskInstance, TaskStatus, WorkflowInstance, WorkflowStatus,
};

use super::{MAX_BULK, Service};
use crate::error::EngineError;
use crate::runtime::ingress::StartRequest;
use crate::runtime::registry::not_found_def;

/// An execution as read: the workflow and, when asked for, its tasks.
pub type View = (WorkflowInstance, Vec<TaskInstance>);

/// A start that waits for the execution to end (or a task of it to finish).
#[derive(Debug, Clone, Default)]
pub struct ExecuteRequest {
    /// What to start.
    pub start: StartRequest,
    /// Seconds to wait, 1-300; 0 means 10.
    pub wait_seconds: i32,
    /// Return as soon as this task reference has finished (empty: wait for the end).
    pub wait_until_task_ref: String,
}

/// What an execute-and-wait saw.
#[derive(Debug, Clone)]
pub struct ExecuteOutcome {
    /// The execution with its tasks, as it stood when the wait ended.
    pub view: View,
    /// Whether the execution had ended.
    pub finished: bool,
    /// Whether the task waited for had finished.
    pub task_ref_finished: bool,
}

/// An operation applied to many executions at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOp {
    /// Pause.
    Pause,
    /// Resume.
    Resume,
    /// Restart from the beginning.
    Restart,
    /// Retry the last failed task.
    Retry,
    /// Terminate.
    Terminate,
    /// Delete.
    Remove,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items of the page.
    pub items: Vec<T>,
    /// Items in the whole list.
    pub total: usize,
    /// Offset of the next page; None on the last one.
    pub next_offset: Option<usize>,
}

/// The wait a caller asked for: 1-300 seconds, 0 meaning 10.
fn wait_limit(wait_seconds: i32) -> Result<Duration, EngineError> {
    match wait_seconds {
        0 => Ok(Duration::from_secs(10)),
        n if (1..=300).contains(&n) => Ok(Duration::from_secs(n as u64)),
        n => Err(EngineError::InvalidArgument(format!(
            "wait_seconds: {n} is outside 1-300"
        ))),
    }
}

/// Refuses a task reference to wait for that the definition does not have.
fn check_wait_ref(def: &baton_core::WorkflowDef, wait_ref: &str) -> Result<(), EngineError> {
    if has_reference(def, definition_reference(wait_ref)) {
        return Ok(());
    }
    Err(EngineError::NotFound(format!(
        "wait_until_task_ref: task reference {wait_ref} is not part of workflow definition {} \
         version {}",
        def.name, def.version
    )))
}

impl Service {
    /// Starts an execution; returns its id once the start is durable.
    pub async fn start_workflow(&self, req: StartRequest) -> Result<String, EngineError> {
        self.rt.ingress.start(req).await
    }

    /// Starts an execution and waits until it ends, the task `wait_until_task_ref` has
    /// finished, or the wait passes; answers the execution as it then stands.
    pub async fn execute_workflow(
        &self,
        req: ExecuteRequest,
    ) -> Result<ExecuteOutcome, EngineError> {
        let wait = wait_limit(req.wait_seconds)?;
        let wait_ref = req.wait_until_task_ref.trim().to_string();
        if !wait_ref.is_empty()
            && let Some(def) = self
                .rt
                .registry
                .workflow_def(&req.start.name, req.start.version.filter(|v| *v > 0))
        {
            check_wait_ref(&def, &wait_ref)?;
        }
        let id = self.start_workflow(req.start).await?;
        self.wait_outcome(&id, &wait_ref, wait).await
    }

    /// Waits for an execution that exists already to end, or for its task `wait_until_task_ref`
    /// to finish, for at most `wait_seconds` (1-300; 0 means 10); answers the execution as it
    /// then stands. Nothing is started.
    pub async fn wait_workflow(
        &self,
        workflow_id: &str,
        wait_seconds: i32,
        wait_until_task_ref: &str,
    ) -> Result<ExecuteOutcome, EngineError> {
        let wait = wait_limit(wait_seconds)?;
        let wait_ref = wait_until_task_ref.trim();
        if !wait_ref.is_empty() {
            let exec = self.execution(workflow_id).await?;
            check_wait_ref(&exec.def, wait_ref)?;
        }
        self.wait_outcome(workflow_id, wait_ref, wait).await
    }

    /// Waits as [`Service::execute_workflow`] and [`Service::wait_workflow`] do, then reads
    /// the execution with its tasks.
    async fn wait_outcome(
        &self,
        id: &str,
        wait_ref: &str,
        wait: Duration,
    ) -> Result<ExecuteOutcome, EngineError> {
        let (status, task_ref_finished) = if wait_ref.is_empty() {
            (self.wait_closed(id, wait).await?, false)
        } else {
            self.wait_for_tasks(id, &[wait_ref], wait).await?
        };
        let view = self.workflow(id, true).await?;
        Ok(ExecuteOutcome {
            finished: status.is_terminal() || view.0.status.is_terminal(),
            view,
            task_ref_finished,
        })
    }

    /// Reads an execution, with its tasks when asked.
    pub async fn workflow(
        &self,
        workflow_id: &str,
        include_tasks: bool,
    ) -> Result<View, EngineError> {
        if workflow_id.is_empty() {
            return Err(EngineError::InvalidArgument(
                "workflow_id is required".into(),
            ));
        }
        let id = workflow_id.to_string();
        let found = self
            .read(move |s| {
                if include_tasks {
                    Ok(s.load_execution(&id)?.map(|e| (e.workflow, e.tasks)))
                } else {
                    Ok(s.load_workflow(&id)?.map(|w| (w, Vec::new())))
                }
            })
            .await?;
        found.ok_or_else(|| EngineError::NotFound(format!("workflow {workflow_id} does not exist")))
    }

    /// Reads a whole execution: the workflow, its tasks and the definition it runs.
    pub async fn execution(&self, workflow_id: &str) -> Result<Execution, EngineError> {
        if workflow_id.is_empty() {
            return Err(EngineError::InvalidArgument(
                "workflow_id is required".into(),
            ));
        }
        let id = workflow_id.to_string();
        self.read(move |s| s.load_execution(&id))
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("workflow {workflow_id} does not exist")))
    }

    /// Waits until an execution is terminal or `wait` passes; returns its status then.
    pub async fn wait_closed(
        &self,
        workflow_id: &str,
        wait: Duration,
    ) -> Result<WorkflowStatus, EngineError> {
        let rx = self.rt.wait_end(workflow_id);
        // It may have ended before the waiter was registered.
        let (wf, _) = self.workflow(workflow_id, false).await?;
        if wf.status.is_terminal() {
            self.rt.prune_waiters(workflow_id);
            return Ok(wf.status);
        }
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(status)) => Ok(status),
            _ => {
                self.rt.prune_waiters(workflow_id);
                Ok(self.workflow(workflow_id, false).await?.0.status)
            }
        }
    }

    /// Waits until one of the tasks `references` of an execution has finished (its latest
    /// instance is terminal; for a definition reference inside a loop, that of its latest
    /// iteration), the execution is terminal, or `wait` passes. Returns the execution's
    /// status then and whether such a task had finished.
    pub async fn wait_for_tasks(
        &self,
        workflow_id: &str,
        references: &[&str],
        wait: Duration,
    ) -> Result<(WorkflowStatus, bool), EngineError> {
        let deadline = tokio::time::Instant::now() + wait;
        // Watched before the first read, so no change between the two goes unseen.
        let mut watch = self.rt.watch(workflow_id);
        loop {
            let (wf, tasks) = self.workflow(workflow_id, true).await?;
            let finished = references.iter().any(|r| {
                tasks
                    .iter()
                    .rev()
                    .find(|t| reference_matches(&t.reference_task_name, r))
                    .is_some_and(|t| t.status.is_terminal())
            });
            if finished || wf.status.is_terminal() || tokio::time::Instant::now() >= deadline {
                return Ok((wf.status, finished));
            }
            // Read again after the next stored change, or once more when the wait is over.
            // A watch that ended (the execution ended and was reopened since) is renewed.
            if let Ok(false) = tokio::time::timeout_at(deadline, watch.changed()).await {
                watch = self.rt.watch(workflow_id);
            }
        }
    }

    /// Watches an execution: the watch wakes at each stored change of it, and ends after
    /// the change that ends the execution (or removes it).
    pub fn watch_workflow(&self, workflow_id: &str) -> crate::runtime::waiters::Watch {
        self.rt.watch(workflow_id)
    }

    /// The executions of `name` with a correlation id, oldest first; closed ones only when
    /// asked.
    pub async fn workflows_by_correlation_id(
        &self,
        name: &str,
        correlation_id: &str,
        include_closed: bool,
        include_tasks: bool,
    ) -> Result<Vec<View>, EngineError> {
        if name.is_empty() || correlation_id.is_empty() {
            return Err(EngineError::InvalidArgument(
                "name and correlation_id are required".into(),
            ));
        }
        let (n, c) = (name.to_string(), correlation_id.to_string());
        let ids = self
            .read(move |s| s.workflow_ids_by_correlation(&n, &c))
            .await?;
        let mut out = Vec::new();
        for id in ids {
            let Ok(view) = self.workflow(&id, include_tasks).await else {
                continue;
            };
            if include_closed || !view.0.status.is_terminal() {
                out.push(view);
            }
        }
        Ok(out)
    }

    /// The executions of `name` for each of several correlation ids (each id once).
    pub async fn workflows_by_correlation_ids(
        &self,
        name: &str,
        correlation_ids: &[String],
        include_closed: bool,
        include_tasks: bool,
    ) -> Result<Vec<(String, Vec<View>)>, EngineError> {
        if name.is_empty() {
            return Err(EngineError::InvalidArgument("name is required".into()));
        }
        if correlation_ids.is_empty() {
            return Err(EngineError::InvalidArgument(
                "correlation_ids: at least one is required".into(),
            ));
        }
        if correlation_ids.len() > MAX_BULK {
            return Err(EngineError::InvalidArgument(format!(
                "correlation_ids: {} given; at most {MAX_BULK} per call",
                correlation_ids.len()
            )));
        }
        if let Some(i) = correlation_ids.iter().position(String::is_empty) {
            return Err(EngineError::InvalidArgument(format!(
                "correlation_ids[{i}] is empty"
            )));
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for corr in correlation_ids {
            if !seen.insert(corr.as_str()) {
                continue;
            }
            let views = self
                .workflows_by_correlation_id(name, corr, include_closed, include_tasks)
                .await?;
            out.push((corr.clone(), views));
        }
        Ok(out)
    }

    /// Ids of the RUNNING and PAUSED executions of `name`, oldest first; only `version`
    /// when given, only those created within `[created_from, created_to]` (epoch ms).
    pub async fn running_workflow_ids(
        &self,
        name: &str,
        version: Option<i32>,
        created_from: Option<i64>,
        created_to: Option<i64>,
    ) -> Result<Vec<String>, EngineError> {
        if name.is_empty() {
            return Err(EngineError::InvalidArgument("name is required".into()));
        }
        let version = version.filter(|v| *v > 0);
        if let (Some(f), Some(t)) = (created_from, created_to)
            && f > t
        {
            return Err(EngineError::InvalidArgument(
                "created_after is later than created_before".into(),
            ));
        }
        let n = name.to_string();
        let ids = self
            .read(move |s| s.open_workflow_ids(&n, version, created_from, created_to))
            .await?;
        if ids.is_empty() && self.rt.registry.workflow_def(name, version).is_none() {
            return Err(not_found_def(name, version));
        }
        Ok(ids)
    }

    /// A page of an execution's tasks in scheduling order, only those with one of
    /// `statuses` when given. `limit` 0 means 100; at most 1000.
    pub async fn workflow_tasks(
        &self,
        workflow_id: &str,
        statuses: &[TaskStatus],
        offset: i64,
        limit: i64,
    ) -> Result<Page<TaskInstance>, EngineError> {
        if offset < 0 {
            return Err(EngineError::InvalidArgument(format!(
                "offset: {offset} is negative"
            )));
        }
        let limit = match limit {
            0 => 100,
            n if (1..=1000).contains(&n) => n,
            n => {
                return Err(EngineError::InvalidArgument(format!(
                    "limit: {n} is outside 1-1000"
                )));
            }
        };
        let (_, tasks) = self.workflow(workflow_id, true).await?;
        let matching: Vec<TaskInstance> = tasks
            .into_iter()
            .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
            .collect();
        let total = matching.len();
        let (offset, limit) = (offset as usize, limit as usize);
        let items = matching.into_iter().skip(offset).take(limit).collect();
        let next = offset.saturating_add(limit);
        Ok(Page {
            items,
            total,
            next_offset: (next < total).then_some(next),
        })
    }

    /// Sends an operator command to an execution and waits for its durable outcome.
    pub async fn command(&self, workflow_id: &str, event: Event) -> Result<Reply, EngineError> {
        self.rt.ingress.event(workflow_id, event).await
    }

    /// Pauses an execution.
    pub async fn pause(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.command(workflow_id, Event::Pause).await.map(drop)
    }

    /// Resumes a paused execution.
    pub async fn resume(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.command(workflow_id, Event::Resume).await.map(drop)
    }

    /// Terminates an execution, with a reason when given (empty is none).
    pub async fn terminate(
        &self,
        workflow_id: &str,
        reason: Option<String>,
    ) -> Result<(), EngineError> {
        let reason = reason.filter(|s| !s.is_empty());
        self.command(workflow_id, Event::Terminate { reason })
            .await
            .map(drop)
    }

    /// Retries an ended execution from its last failed task.
    pub async fn retry(
        &self,
        workflow_id: &str,
        resume_subworkflow_tasks: bool,
    ) -> Result<(), EngineError> {
        self.command(
            workflow_id,
            Event::Retry {
                resume_subworkflow_tasks,
            },
        )
        .await
        .map(drop)
    }

    /// Restarts an execution from the beginning, on the latest version of its definition
    /// when asked.
    pub async fn restart(&self, workflow_id: &str, use_latest: bool) -> Result<(), EngineError> {
        let def = if use_latest {
            let (wf, _) = self.workflow(workflow_id, false).await?;
            Some(
                self.rt
                    .registry
                    .workflow_def(&wf.workflow_name, None)
                    .ok_or_else(|| {
                        EngineError::FailedPrecondition(format!(
                            "workflow definition {} no longer exists",
                            wf.workflow_name
                        ))
                    })?,
            )
        } else {
            None
        };
        self.command(workflow_id, Event::Restart { def })
            .await
            .map(drop)
    }

    /// Reruns an execution from one of its task instances, with new inputs when given.
    pub async fn rerun(
        &self,
        workflow_id: &str,
        task_id: &str,
        task_input: Option<Object>,
        workflow_input: Option<Object>,
    ) -> Result<(), EngineError> {
        if task_id.is_empty() {
            return Err(EngineError::InvalidArgument(
                "task_id: the task instance to rerun from is required".into(),
            ));
        }
        if let Some(i) = &task_input {
            self.rt.ingress.check_size("task_input", i)?;
        }
        if let Some(i) = &workflow_input {
            self.rt.ingress.check_size("workflow_input", i)?;
        }
        self.command(
            workflow_id,
            Event::Rerun {
                task_id: task_id.to_string(),
                task_input,
                workflow_input,
            },
        )
        .await
        .map(drop)
    }

    /// Skips a task of a running execution (now, or when the flow reaches it); true when
    /// it was skipped now.
    pub async fn skip_task(
        &self,
        workflow_id: &str,
        reference: &str,
        input: Option<Object>,
        output: Object,
    ) -> Result<bool, EngineError> {
        if reference.is_empty() {
            return Err(EngineError::InvalidArgument(
                "task_ref_name is required".into(),
            ));
        }
        if let Some(i) = &input {
            self.rt.ingress.check_size("task_input", i)?;
        }
        self.rt.ingress.check_size("task_output", &output)?;
        let reply = self
            .command(
                workflow_id,
                Event::SkipTask {
                    reference: reference.to_string(),
                    input,
                    output,
                },
            )
            .await?;
        Ok(reply != Reply::Deferred)
    }

    /// Makes the tasks of an execution that wait for a callback ready at once.
    pub async fn reset_callbacks(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.command(workflow_id, Event::ResetCallbacks)
            .await
            .map(drop)
    }

    /// Runs the decider over an execution now.
    pub async fn decide(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.command(workflow_id, Event::Decide).await.map(drop)
    }

    /// Deletes an execution with its tasks.
    pub async fn remove(&self, workflow_id: &str) -> Result<(), EngineError> {
        self.rt.ingress.remove(workflow_id).await
    }

    /// Loads archived executions back into the store, one archive line each (see
    /// [`crate::archive`]), so they can be read and searched again. Every line is checked
    /// before anything is written; an execution whose id is stored already is left as it
    /// is and counted as present. Restored executions are not subject to retention: they
    /// stay until removed.
    pub async fn import_archived(&self, lines: Vec<Vec<u8>>) -> Result<ImportSummary, EngineError> {
        if lines.len() > MAX_IMPORT {
            return Err(EngineError::InvalidArgument(format!(
                "{} executions in one import; at most {MAX_IMPORT} (send the rest in more requests)",
                lines.len()
            )));
        }
        let mut execs = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            execs.push(
                crate::archive::parse_line(line, i + 1)
                    .map_err(|e| EngineError::InvalidArgument(e.to_string()))?,
            );
        }
        self.read(move |store| {
            let mut summary = ImportSummary::default();
            let mut batch = baton_store::WriteBatch::default();
            let mut seen = std::collections::HashSet::new();
            for exec in execs {
                let id = exec.workflow.workflow_id.clone();
                if !seen.insert(id.clone()) || store.load_workflow(&id)?.is_some() {
                    summary.present += 1;
                    continue;
                }
                batch.push(baton_store::Write::PutRestored(exec.workflow));
                batch.push(baton_store::Write::PutSnapshot {
                    workflow_id: id,
                    def: exec.def,
                });
                for t in exec.tasks {
                    batch.push(baton_store::Write::PutNewTask(t));
                }
                summary.imported += 1;
            }
            if !batch.is_empty() {
                store.apply(&batch)?;
                store.flush()?;
            }
            Ok(summary)
        })
        .await
    }

    /// Retention's settings, its counts since start, and the workflow names whose latest
    /// definitions set their own policy (with the policy that results).
    pub fn retention(&self) -> RetentionView {
        let r = self.rt.retention();
        let default = r.config().default;
        let mut overrides: Vec<(String, baton_core::retention::Policy)> = self
            .rt
            .registry
            .workflow_defs()
            .into_iter()
            .filter_map(|d| {
                let settings = d.retention.as_ref()?;
                let policy =
                    baton_core::retention::Policy::for_definition(default, Some(settings)).ok()?;
                Some((d.name.clone(), policy))
            })
            .collect();
        overrides.sort_by(|a, b| a.0.cmp(&b.0));
        overrides.dedup_by(|a, b| a.0 == b.0);
        RetentionView {
            config: r.config().clone(),
            stats: r.stats(),
            overrides,
        }
    }

    /// Applies one operation to many executions at once (each on its own executor); the
    /// outcome of each, in the order given.
    pub async fn bulk(
        &self,
        op: BulkOp,
        workflow_ids: Vec<String>,
        reason: Option<String>,
        use_latest: bool,
    ) -> Result<Vec<(String, Result<(), EngineError>)>, EngineError> {
        if workflow_ids.is_empty() {
            return Err(EngineError::InvalidArgument(
                "workflow_ids: at least one id is required".into(),
            ));
        }
        if workflow_ids.len() > MAX_BULK {
            return Err(EngineError::InvalidArgument(format!(
                "workflow_ids: {} ids given; at most {MAX_BULK} per call",
                workflow_ids.len()
            )));
        }
        let runs: Vec<_> = workflow_ids
            .iter()
            .map(|id| {
                let svc = self.clone();
                let (id, reason) = (id.clone(), reason.clone());
                tokio::spawn(async move { svc.bulk_one(op, &id, reason, use_latest).await })
            })
            .collect();
        let mut out = Vec::with_capacity(runs.len());
        for (id, run) in workflow_ids.into_iter().zip(runs) {
            let outcome = run
                .await
                .unwrap_or_else(|e| Err(EngineError::Storage(format!("operation failed: {e}"))));
            out.push((id, outcome));
        }
        Ok(out)
    }

    async fn bulk_one(
        &self,
        op: BulkOp,
        workflow_id: &str,
        reason: Option<String>,
        use_latest: bool,
    ) -> Result<(), EngineError> {
        match op {
            BulkOp::Pause => self.pause(workflow_id).await,
            BulkOp::Resume => self.resume(workflow_id).await,
            BulkOp::Retry => self.retry(workflow_id, false).await,
            BulkOp::Terminate => self.terminate(workflow_id, reason).await,
            BulkOp::Restart => self.restart(workflow_id, use_latest).await,
            BulkOp::Remove => self.remove(workflow_id).await,
        }
    }
}

/// Most archived executions one import request may carry.
pub const MAX_IMPORT: usize = 1000;

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Executions written.
    pub imported: u64,
    /// Executions skipped because their id is stored already (or repeats in the request).
    pub present: u64,
}

/// Retention as an operator sees it.
#[derive(Debug, Clone)]
pub struct RetentionView {
    /// The server's settings.
    pub config: crate::runtime::retention::RetentionConfig,
    /// What it has done since start.
    pub stats: crate::runtime::retention::RetentionStats,
    /// Workflow names whose definitions set their own policy, with the resulting policy.
    pub overrides: Vec<(String, baton_core::retention::Policy)>,
}
