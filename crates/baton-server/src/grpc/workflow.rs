//! WorkflowService: start, read and steer executions.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use baton_core::{Event, Reply, WorkflowTask};
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_server::WorkflowService;
use tonic::{Request, Response, Status};

use super::{task_status_from, task_to_pb, workflow_to_pb};
use crate::convert::{ms, opt_struct_to_object, struct_to_object};
use crate::engine::{Engine, IdempotencyStrategy, StartRequest};
use crate::error::{EngineError, code_name};

/// Most executions one bulk operation or correlation-id lookup may name.
pub const MAX_BULK: usize = 1000;

/// The WorkflowService implementation.
pub struct Workflows {
    engine: Arc<Engine>,
}

impl Workflows {
    /// Serves executions of `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    async fn command(&self, workflow_id: &str, event: Event) -> Result<Reply, Status> {
        if workflow_id.is_empty() {
            return Err(Status::invalid_argument("workflow_id is required"));
        }
        Ok(self.engine.event(workflow_id, event).await?)
    }

    /// The executions of `name` with one correlation id, oldest first.
    fn correlated(
        &self,
        name: &str,
        correlation_id: &str,
        include_closed: bool,
        include_tasks: bool,
    ) -> Result<Vec<pb::Workflow>, Status> {
        let mut out = Vec::new();
        for id in self.engine.workflows_by_correlation(name, correlation_id)? {
            let Ok((wf, tasks)) = self.engine.get_workflow(&id, include_tasks) else {
                continue;
            };
            if include_closed || !wf.status.is_terminal() {
                out.push(workflow_to_pb(&wf, &tasks));
            }
        }
        Ok(out)
    }
}

/// Restarts an execution, on the latest version of its definition when asked.
async fn restart(engine: &Engine, workflow_id: &str, use_latest: bool) -> Result<(), EngineError> {
    if workflow_id.is_empty() {
        return Err(EngineError::InvalidArgument(
            "workflow_id is required".into(),
        ));
    }
    let def = if use_latest {
        let (wf, _) = engine.get_workflow(workflow_id, false)?;
        Some(
            engine
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
    engine.event(workflow_id, Event::Restart { def }).await?;
    Ok(())
}

/// Applies one bulk operation to one execution.
async fn bulk_one(
    engine: &Engine,
    op: pb::BulkOperation,
    workflow_id: &str,
    reason: Option<String>,
    use_latest: bool,
) -> Result<(), EngineError> {
    if workflow_id.is_empty() {
        return Err(EngineError::InvalidArgument(
            "workflow_id is required".into(),
        ));
    }
    let event = match op {
        pb::BulkOperation::Pause => Event::Pause,
        pb::BulkOperation::Resume => Event::Resume,
        pb::BulkOperation::Retry => Event::Retry {
            resume_subworkflow_tasks: false,
        },
        pb::BulkOperation::Terminate => Event::Terminate { reason },
        pb::BulkOperation::Restart => return restart(engine, workflow_id, use_latest).await,
        pb::BulkOperation::Remove => return engine.remove_workflow(workflow_id).await,
        pb::BulkOperation::Unspecified => {
            return Err(EngineError::InvalidArgument("operation is required".into()));
        }
    };
    engine.event(workflow_id, event).await?;
    Ok(())
}

/// The definition's reference of an instance reference: without its loop iteration
/// suffix (`fetch__2` is `fetch`).
fn definition_reference(reference: &str) -> &str {
    let mut end = reference.len();
    while let Some(pos) = reference[..end].rfind("__") {
        let digits = &reference[pos + 2..end];
        if pos == 0 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        end = pos;
    }
    &reference[..end]
}

/// Whether a task list has a task with this reference name, at any nesting.
fn has_reference(tasks: &[WorkflowTask], reference: &str) -> bool {
    tasks.iter().any(|t| {
        t.task_reference_name == reference
            || t.fork_tasks.iter().any(|b| has_reference(b, reference))
            || t.decision_cases
                .values()
                .any(|c| has_reference(c, reference))
            || has_reference(&t.default_case, reference)
            || has_reference(&t.loop_over, reference)
    })
}

fn start_request(r: &pb::StartWorkflowRequest) -> StartRequest {
    StartRequest {
        name: r.name.clone(),
        version: r.version,
        input: opt_struct_to_object(r.input.as_ref()),
        correlation_id: Some(r.correlation_id.clone()),
        priority: r.priority,
        task_to_domain: r.task_to_domain.clone().into_iter().collect(),
        idempotency_key: Some(r.idempotency_key.clone()),
        idempotency_strategy: match pb::IdempotencyStrategy::try_from(r.idempotency_strategy) {
            Ok(pb::IdempotencyStrategy::ReturnExisting) => IdempotencyStrategy::ReturnExisting,
            Ok(pb::IdempotencyStrategy::FailOnRunning) => IdempotencyStrategy::FailOnRunning,
            _ => IdempotencyStrategy::Fail,
        },
    }
}

#[tonic::async_trait]
impl WorkflowService for Workflows {
    async fn start_workflow(
        &self,
        req: Request<pb::StartWorkflowRequest>,
    ) -> Result<Response<pb::StartWorkflowResponse>, Status> {
        let id = self
            .engine
            .start_workflow(start_request(req.get_ref()))
            .await?;
        Ok(Response::new(pb::StartWorkflowResponse { workflow_id: id }))
    }

    async fn execute_workflow(
        &self,
        req: Request<pb::ExecuteWorkflowRequest>,
    ) -> Result<Response<pb::ExecuteWorkflowResponse>, Status> {
        let r = req.get_ref();
        let start = r
            .start
            .as_ref()
            .ok_or_else(|| Status::invalid_argument("start is required"))?;
        let wait = match r.wait_seconds {
            0 => 10,
            n if (1..=300).contains(&n) => n,
            n => {
                return Err(Status::invalid_argument(format!(
                    "wait_seconds: {n} is outside 1-300"
                )));
            }
        };
        let wait_ref = r.wait_until_task_ref.trim();
        if !wait_ref.is_empty()
            && let Some(def) = self
                .engine
                .workflow_def(&start.name, start.version.filter(|v| *v > 0))
            && !has_reference(&def.tasks, definition_reference(wait_ref))
        {
            return Err(Status::not_found(format!(
                "wait_until_task_ref: task reference {wait_ref} is not part of workflow \
                 definition {} version {}",
                def.name, def.version
            )));
        }
        let id = self.engine.start_workflow(start_request(start)).await?;
        let wait = Duration::from_secs(wait as u64);
        let (status, task_ref_finished) = if wait_ref.is_empty() {
            (self.engine.wait_closed(&id, wait).await?, false)
        } else {
            self.engine.wait_for_task(&id, wait_ref, wait).await?
        };
        let (wf, tasks) = self.engine.get_workflow(&id, true)?;
        Ok(Response::new(pb::ExecuteWorkflowResponse {
            workflow: Some(workflow_to_pb(&wf, &tasks)),
            finished: status.is_terminal(),
            task_ref_finished,
        }))
    }

    async fn get_workflow(
        &self,
        req: Request<pb::GetWorkflowRequest>,
    ) -> Result<Response<pb::GetWorkflowResponse>, Status> {
        let r = req.get_ref();
        if r.workflow_id.is_empty() {
            return Err(Status::invalid_argument("workflow_id is required"));
        }
        let (wf, tasks) = self.engine.get_workflow(&r.workflow_id, r.include_tasks)?;
        Ok(Response::new(pb::GetWorkflowResponse {
            workflow: Some(workflow_to_pb(&wf, &tasks)),
        }))
    }

    async fn get_workflows_by_correlation_id(
        &self,
        req: Request<pb::GetWorkflowsByCorrelationIdRequest>,
    ) -> Result<Response<pb::GetWorkflowsByCorrelationIdResponse>, Status> {
        let r = req.get_ref();
        if r.name.is_empty() || r.correlation_id.is_empty() {
            return Err(Status::invalid_argument(
                "name and correlation_id are required",
            ));
        }
        let workflows = self.correlated(
            &r.name,
            &r.correlation_id,
            r.include_closed,
            r.include_tasks,
        )?;
        Ok(Response::new(pb::GetWorkflowsByCorrelationIdResponse {
            workflows,
        }))
    }

    async fn pause_workflow(
        &self,
        req: Request<pb::PauseWorkflowRequest>,
    ) -> Result<Response<pb::PauseWorkflowResponse>, Status> {
        self.command(&req.get_ref().workflow_id, Event::Pause)
            .await?;
        Ok(Response::new(pb::PauseWorkflowResponse {}))
    }

    async fn resume_workflow(
        &self,
        req: Request<pb::ResumeWorkflowRequest>,
    ) -> Result<Response<pb::ResumeWorkflowResponse>, Status> {
        self.command(&req.get_ref().workflow_id, Event::Resume)
            .await?;
        Ok(Response::new(pb::ResumeWorkflowResponse {}))
    }

    async fn terminate_workflow(
        &self,
        req: Request<pb::TerminateWorkflowRequest>,
    ) -> Result<Response<pb::TerminateWorkflowResponse>, Status> {
        let r = req.get_ref();
        let reason = Some(r.reason.clone()).filter(|s| !s.is_empty());
        self.command(&r.workflow_id, Event::Terminate { reason })
            .await?;
        Ok(Response::new(pb::TerminateWorkflowResponse {}))
    }

    async fn restart_workflow(
        &self,
        req: Request<pb::RestartWorkflowRequest>,
    ) -> Result<Response<pb::RestartWorkflowResponse>, Status> {
        let r = req.get_ref();
        restart(&self.engine, &r.workflow_id, r.use_latest_definitions).await?;
        Ok(Response::new(pb::RestartWorkflowResponse {}))
    }

    async fn retry_workflow(
        &self,
        req: Request<pb::RetryWorkflowRequest>,
    ) -> Result<Response<pb::RetryWorkflowResponse>, Status> {
        let r = req.get_ref();
        self.command(
            &r.workflow_id,
            Event::Retry {
                resume_subworkflow_tasks: r.resume_subworkflow_tasks,
            },
        )
        .await?;
        Ok(Response::new(pb::RetryWorkflowResponse {}))
    }

    async fn remove_workflow(
        &self,
        req: Request<pb::RemoveWorkflowRequest>,
    ) -> Result<Response<pb::RemoveWorkflowResponse>, Status> {
        let id = &req.get_ref().workflow_id;
        if id.is_empty() {
            return Err(Status::invalid_argument("workflow_id is required"));
        }
        self.engine.remove_workflow(id).await?;
        Ok(Response::new(pb::RemoveWorkflowResponse {}))
    }

    async fn rerun_workflow(
        &self,
        req: Request<pb::RerunWorkflowRequest>,
    ) -> Result<Response<pb::RerunWorkflowResponse>, Status> {
        let r = req.get_ref();
        if r.task_id.is_empty() {
            return Err(Status::invalid_argument(
                "task_id: the task instance to rerun from is required",
            ));
        }
        let task_input = r.task_input.as_ref().map(struct_to_object);
        let workflow_input = r.workflow_input.as_ref().map(struct_to_object);
        if let Some(i) = &task_input {
            self.engine.check_size("task_input", i)?;
        }
        if let Some(i) = &workflow_input {
            self.engine.check_size("workflow_input", i)?;
        }
        self.command(
            &r.workflow_id,
            Event::Rerun {
                task_id: r.task_id.clone(),
                task_input,
                workflow_input,
            },
        )
        .await?;
        Ok(Response::new(pb::RerunWorkflowResponse {}))
    }

    async fn skip_task(
        &self,
        req: Request<pb::SkipTaskRequest>,
    ) -> Result<Response<pb::SkipTaskResponse>, Status> {
        let r = req.get_ref();
        if r.task_ref_name.is_empty() {
            return Err(Status::invalid_argument("task_ref_name is required"));
        }
        let input = r.task_input.as_ref().map(struct_to_object);
        let output = opt_struct_to_object(r.task_output.as_ref());
        if let Some(i) = &input {
            self.engine.check_size("task_input", i)?;
        }
        self.engine.check_size("task_output", &output)?;
        let reply = self
            .command(
                &r.workflow_id,
                Event::SkipTask {
                    reference: r.task_ref_name.clone(),
                    input,
                    output,
                },
            )
            .await?;
        Ok(Response::new(pb::SkipTaskResponse {
            skipped_now: reply != Reply::Deferred,
        }))
    }

    async fn reset_callbacks(
        &self,
        req: Request<pb::ResetCallbacksRequest>,
    ) -> Result<Response<pb::ResetCallbacksResponse>, Status> {
        self.command(&req.get_ref().workflow_id, Event::ResetCallbacks)
            .await?;
        Ok(Response::new(pb::ResetCallbacksResponse {}))
    }

    async fn decide_workflow(
        &self,
        req: Request<pb::DecideWorkflowRequest>,
    ) -> Result<Response<pb::DecideWorkflowResponse>, Status> {
        self.command(&req.get_ref().workflow_id, Event::Decide)
            .await?;
        Ok(Response::new(pb::DecideWorkflowResponse {}))
    }

    async fn list_workflow_tasks(
        &self,
        req: Request<pb::ListWorkflowTasksRequest>,
    ) -> Result<Response<pb::ListWorkflowTasksResponse>, Status> {
        let r = req.get_ref();
        if r.workflow_id.is_empty() {
            return Err(Status::invalid_argument("workflow_id is required"));
        }
        if r.offset < 0 {
            return Err(Status::invalid_argument(format!(
                "offset: {} is negative",
                r.offset
            )));
        }
        let limit = match r.limit {
            0 => 100,
            n if (1..=1000).contains(&n) => n,
            n => {
                return Err(Status::invalid_argument(format!(
                    "limit: {n} is outside 1-1000"
                )));
            }
        };
        let statuses = r
            .statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                task_status_from(*s).ok_or_else(|| {
                    Status::invalid_argument(format!("statuses[{i}]: {s} is not a task status"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (_, tasks) = self.engine.get_workflow(&r.workflow_id, true)?;
        let matching: Vec<_> = tasks
            .iter()
            .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
            .collect();
        let total = matching.len();
        let (offset, limit) = (r.offset as usize, limit as usize);
        let page = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| task_to_pb(t))
            .collect();
        let next = offset.saturating_add(limit);
        Ok(Response::new(pb::ListWorkflowTasksResponse {
            tasks: page,
            total: total as i32,
            next_offset: if next < total { next as i32 } else { 0 },
        }))
    }

    async fn get_running_workflows(
        &self,
        req: Request<pb::GetRunningWorkflowsRequest>,
    ) -> Result<Response<pb::GetRunningWorkflowsResponse>, Status> {
        let r = req.get_ref();
        if r.name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        let version = r.version.filter(|v| *v > 0);
        let from = r.created_after.as_ref().map(ms);
        let to = r.created_before.as_ref().map(ms);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(Status::invalid_argument(
                "created_after is later than created_before",
            ));
        }
        let ids = self.engine.open_workflow_ids(&r.name, version, from, to)?;
        if ids.is_empty() && self.engine.workflow_def(&r.name, version).is_none() {
            return Err(Status::not_found(match version {
                Some(v) => format!("workflow definition {} version {v} does not exist", r.name),
                None => format!("workflow definition {} does not exist", r.name),
            }));
        }
        Ok(Response::new(pb::GetRunningWorkflowsResponse {
            workflow_ids: ids,
        }))
    }

    async fn get_workflows_by_correlation_ids(
        &self,
        req: Request<pb::GetWorkflowsByCorrelationIdsRequest>,
    ) -> Result<Response<pb::GetWorkflowsByCorrelationIdsResponse>, Status> {
        let r = req.get_ref();
        if r.name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        if r.correlation_ids.is_empty() {
            return Err(Status::invalid_argument(
                "correlation_ids: at least one is required",
            ));
        }
        if r.correlation_ids.len() > MAX_BULK {
            return Err(Status::invalid_argument(format!(
                "correlation_ids: {} given; at most {MAX_BULK} per call",
                r.correlation_ids.len()
            )));
        }
        if let Some(i) = r.correlation_ids.iter().position(String::is_empty) {
            return Err(Status::invalid_argument(format!(
                "correlation_ids[{i}] is empty"
            )));
        }
        let mut seen = HashSet::new();
        let mut results = Vec::new();
        for corr in &r.correlation_ids {
            if !seen.insert(corr.as_str()) {
                continue;
            }
            results.push(pb::CorrelatedWorkflows {
                correlation_id: corr.clone(),
                workflows: self.correlated(&r.name, corr, r.include_closed, r.include_tasks)?,
            });
        }
        Ok(Response::new(pb::GetWorkflowsByCorrelationIdsResponse {
            results,
        }))
    }

    async fn run_bulk_operation(
        &self,
        req: Request<pb::RunBulkOperationRequest>,
    ) -> Result<Response<pb::RunBulkOperationResponse>, Status> {
        let r = req.into_inner();
        let op = match pb::BulkOperation::try_from(r.operation) {
            Ok(pb::BulkOperation::Unspecified) | Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "operation: {} is not an operation (PAUSE, RESUME, RESTART, RETRY, \
                     TERMINATE or REMOVE)",
                    r.operation
                )));
            }
            Ok(op) => op,
        };
        if r.workflow_ids.is_empty() {
            return Err(Status::invalid_argument(
                "workflow_ids: at least one id is required",
            ));
        }
        if r.workflow_ids.len() > MAX_BULK {
            return Err(Status::invalid_argument(format!(
                "workflow_ids: {} ids given; at most {MAX_BULK} per call",
                r.workflow_ids.len()
            )));
        }
        let reason = Some(r.reason).filter(|s| !s.is_empty());
        // Every execution at once: each goes to its own partition's executor.
        let runs: Vec<_> = r
            .workflow_ids
            .iter()
            .map(|id| {
                let engine = self.engine.clone();
                let (id, reason) = (id.clone(), reason.clone());
                tokio::spawn(async move {
                    bulk_one(&engine, op, &id, reason, r.use_latest_definitions).await
                })
            })
            .collect();
        let mut results = Vec::with_capacity(runs.len());
        for (id, run) in r.workflow_ids.into_iter().zip(runs) {
            let outcome = run
                .await
                .unwrap_or_else(|e| Err(EngineError::Storage(format!("operation failed: {e}"))));
            results.push(match outcome {
                Ok(()) => pb::BulkResult {
                    workflow_id: id,
                    ok: true,
                    ..Default::default()
                },
                Err(e) => pb::BulkResult {
                    workflow_id: id,
                    ok: false,
                    code: code_name(e.code()).to_string(),
                    message: e.to_string(),
                },
            });
        }
        Ok(Response::new(pb::RunBulkOperationResponse { results }))
    }
}
