//! WorkflowService: start, read and steer executions.

use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_server::WorkflowService;
use baton_server::service::{BulkOp, ExecuteRequest, View};
use baton_server::{IdempotencyStrategy, Service, StartRequest};
use tonic::{Request, Response, Status};

use crate::convert::{ms, opt_struct_to_object, struct_to_object};
use crate::status;
use crate::views::{
    search_params, task_status_from, task_to_pb, workflow_summary_to_pb, workflow_to_pb,
};

/// The WorkflowService implementation.
pub struct Workflows {
    svc: Service,
}

impl Workflows {
    /// Serves executions through `svc`.
    pub fn new(svc: Service) -> Self {
        Self { svc }
    }
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
        definition: None,
    }
}

fn view_to_pb(v: &View) -> pb::Workflow {
    workflow_to_pb(&v.0, &v.1)
}

#[tonic::async_trait]
impl WorkflowService for Workflows {
    async fn start_workflow(
        &self,
        req: Request<pb::StartWorkflowRequest>,
    ) -> Result<Response<pb::StartWorkflowResponse>, Status> {
        let id = self
            .svc
            .start_workflow(start_request(req.get_ref()))
            .await
            .map_err(status)?;
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
        let out = self
            .svc
            .execute_workflow(ExecuteRequest {
                start: start_request(start),
                wait_seconds: r.wait_seconds,
                wait_until_task_ref: r.wait_until_task_ref.clone(),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ExecuteWorkflowResponse {
            workflow: Some(view_to_pb(&out.view)),
            finished: out.finished,
            task_ref_finished: out.task_ref_finished,
        }))
    }

    async fn wait_workflow(
        &self,
        req: Request<pb::WaitWorkflowRequest>,
    ) -> Result<Response<pb::WaitWorkflowResponse>, Status> {
        let r = req.get_ref();
        let out = self
            .svc
            .wait_workflow(&r.workflow_id, r.wait_seconds, &r.wait_until_task_ref)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::WaitWorkflowResponse {
            workflow: Some(view_to_pb(&out.view)),
            finished: out.finished,
            task_ref_finished: out.task_ref_finished,
        }))
    }

    async fn get_workflow(
        &self,
        req: Request<pb::GetWorkflowRequest>,
    ) -> Result<Response<pb::GetWorkflowResponse>, Status> {
        let r = req.get_ref();
        let view = self
            .svc
            .workflow(&r.workflow_id, r.include_tasks)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetWorkflowResponse {
            workflow: Some(view_to_pb(&view)),
        }))
    }

    async fn get_workflows_by_correlation_id(
        &self,
        req: Request<pb::GetWorkflowsByCorrelationIdRequest>,
    ) -> Result<Response<pb::GetWorkflowsByCorrelationIdResponse>, Status> {
        let r = req.get_ref();
        let views = self
            .svc
            .workflows_by_correlation_id(
                &r.name,
                &r.correlation_id,
                r.include_closed,
                r.include_tasks,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetWorkflowsByCorrelationIdResponse {
            workflows: views.iter().map(view_to_pb).collect(),
        }))
    }

    async fn pause_workflow(
        &self,
        req: Request<pb::PauseWorkflowRequest>,
    ) -> Result<Response<pb::PauseWorkflowResponse>, Status> {
        self.svc
            .pause(&req.get_ref().workflow_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::PauseWorkflowResponse {}))
    }

    async fn resume_workflow(
        &self,
        req: Request<pb::ResumeWorkflowRequest>,
    ) -> Result<Response<pb::ResumeWorkflowResponse>, Status> {
        self.svc
            .resume(&req.get_ref().workflow_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ResumeWorkflowResponse {}))
    }

    async fn terminate_workflow(
        &self,
        req: Request<pb::TerminateWorkflowRequest>,
    ) -> Result<Response<pb::TerminateWorkflowResponse>, Status> {
        let r = req.get_ref();
        self.svc
            .terminate(&r.workflow_id, Some(r.reason.clone()))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::TerminateWorkflowResponse {}))
    }

    async fn restart_workflow(
        &self,
        req: Request<pb::RestartWorkflowRequest>,
    ) -> Result<Response<pb::RestartWorkflowResponse>, Status> {
        let r = req.get_ref();
        self.svc
            .restart(&r.workflow_id, r.use_latest_definitions)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RestartWorkflowResponse {}))
    }

    async fn retry_workflow(
        &self,
        req: Request<pb::RetryWorkflowRequest>,
    ) -> Result<Response<pb::RetryWorkflowResponse>, Status> {
        let r = req.get_ref();
        self.svc
            .retry(&r.workflow_id, r.resume_subworkflow_tasks)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RetryWorkflowResponse {}))
    }

    async fn remove_workflow(
        &self,
        req: Request<pb::RemoveWorkflowRequest>,
    ) -> Result<Response<pb::RemoveWorkflowResponse>, Status> {
        self.svc
            .remove(&req.get_ref().workflow_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RemoveWorkflowResponse {}))
    }

    async fn import_workflows(
        &self,
        req: Request<pb::ImportWorkflowsRequest>,
    ) -> Result<Response<pb::ImportWorkflowsResponse>, Status> {
        let lines = req.into_inner().lines;
        let summary = self.svc.import_archived(lines).await.map_err(status)?;
        Ok(Response::new(pb::ImportWorkflowsResponse {
            imported: summary.imported,
            already_present: summary.present,
        }))
    }

    async fn get_retention(
        &self,
        _req: Request<pb::GetRetentionRequest>,
    ) -> Result<Response<pb::GetRetentionResponse>, Status> {
        let r = self.svc.retention();
        let secs = |p: &baton_core::retention::Policy| p.max_age_secs().unwrap_or(0);
        Ok(Response::new(pb::GetRetentionResponse {
            max_age_seconds: secs(&r.config.default),
            keep_last: r.config.default.keep_last.unwrap_or(0),
            max_removals_per_sec: r.config.max_removals_per_sec,
            archive_dir: r
                .config
                .archive_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            passes: r.stats.passes,
            removed: r.stats.removed,
            archived: r.stats.archived,
            changed: r.stats.changed,
            held_by_parent: r.stats.held_by_parent,
            failures: r.stats.failures,
            overrides: r
                .overrides
                .iter()
                .map(|(name, p)| pb::RetentionOverride {
                    workflow_name: name.clone(),
                    max_age_seconds: secs(p),
                    keep_last: p.keep_last.unwrap_or(0),
                })
                .collect(),
        }))
    }

    async fn rerun_workflow(
        &self,
        req: Request<pb::RerunWorkflowRequest>,
    ) -> Result<Response<pb::RerunWorkflowResponse>, Status> {
        let r = req.get_ref();
        self.svc
            .rerun(
                &r.workflow_id,
                &r.task_id,
                r.task_input.as_ref().map(struct_to_object),
                r.workflow_input.as_ref().map(struct_to_object),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RerunWorkflowResponse {}))
    }

    async fn skip_task(
        &self,
        req: Request<pb::SkipTaskRequest>,
    ) -> Result<Response<pb::SkipTaskResponse>, Status> {
        let r = req.get_ref();
        let skipped_now = self
            .svc
            .skip_task(
                &r.workflow_id,
                &r.task_ref_name,
                r.task_input.as_ref().map(struct_to_object),
                opt_struct_to_object(r.task_output.as_ref()),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SkipTaskResponse { skipped_now }))
    }

    async fn reset_callbacks(
        &self,
        req: Request<pb::ResetCallbacksRequest>,
    ) -> Result<Response<pb::ResetCallbacksResponse>, Status> {
        self.svc
            .reset_callbacks(&req.get_ref().workflow_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ResetCallbacksResponse {}))
    }

    async fn decide_workflow(
        &self,
        req: Request<pb::DecideWorkflowRequest>,
    ) -> Result<Response<pb::DecideWorkflowResponse>, Status> {
        self.svc
            .decide(&req.get_ref().workflow_id)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DecideWorkflowResponse {}))
    }

    async fn list_workflow_tasks(
        &self,
        req: Request<pb::ListWorkflowTasksRequest>,
    ) -> Result<Response<pb::ListWorkflowTasksResponse>, Status> {
        let r = req.get_ref();
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
        let page = self
            .svc
            .workflow_tasks(
                &r.workflow_id,
                &statuses,
                i64::from(r.offset),
                i64::from(r.limit),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListWorkflowTasksResponse {
            tasks: page.items.iter().map(task_to_pb).collect(),
            total: page.total as i32,
            next_offset: page.next_offset.unwrap_or(0) as i32,
        }))
    }

    async fn get_running_workflows(
        &self,
        req: Request<pb::GetRunningWorkflowsRequest>,
    ) -> Result<Response<pb::GetRunningWorkflowsResponse>, Status> {
        let r = req.get_ref();
        let ids = self
            .svc
            .running_workflow_ids(
                &r.name,
                r.version,
                r.created_after.as_ref().map(ms),
                r.created_before.as_ref().map(ms),
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetRunningWorkflowsResponse {
            workflow_ids: ids,
        }))
    }

    async fn get_workflows_by_correlation_ids(
        &self,
        req: Request<pb::GetWorkflowsByCorrelationIdsRequest>,
    ) -> Result<Response<pb::GetWorkflowsByCorrelationIdsResponse>, Status> {
        let r = req.get_ref();
        let found = self
            .svc
            .workflows_by_correlation_ids(
                &r.name,
                &r.correlation_ids,
                r.include_closed,
                r.include_tasks,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetWorkflowsByCorrelationIdsResponse {
            results: found
                .into_iter()
                .map(|(correlation_id, views)| pb::CorrelatedWorkflows {
                    correlation_id,
                    workflows: views.iter().map(view_to_pb).collect(),
                })
                .collect(),
        }))
    }

    async fn search_workflows(
        &self,
        req: Request<pb::SearchWorkflowsRequest>,
    ) -> Result<Response<pb::SearchWorkflowsResponse>, Status> {
        let r = req.get_ref();
        let params = search_params(&r.query, &r.free_text, &r.sort, r.start, r.size)?;
        let hits = if r.by_tasks {
            self.svc.search_workflows_by_tasks(params).await
        } else {
            self.svc.search_workflows(params).await
        }
        .map_err(status)?;
        Ok(Response::new(pb::SearchWorkflowsResponse {
            total_hits: hits.total_hits as i64,
            results: hits.results.iter().map(workflow_summary_to_pb).collect(),
        }))
    }

    async fn run_bulk_operation(
        &self,
        req: Request<pb::RunBulkOperationRequest>,
    ) -> Result<Response<pb::RunBulkOperationResponse>, Status> {
        let r = req.into_inner();
        let op = match pb::BulkOperation::try_from(r.operation) {
            Ok(pb::BulkOperation::Pause) => BulkOp::Pause,
            Ok(pb::BulkOperation::Resume) => BulkOp::Resume,
            Ok(pb::BulkOperation::Restart) => BulkOp::Restart,
            Ok(pb::BulkOperation::Retry) => BulkOp::Retry,
            Ok(pb::BulkOperation::Terminate) => BulkOp::Terminate,
            Ok(pb::BulkOperation::Remove) => BulkOp::Remove,
            Ok(pb::BulkOperation::Unspecified) | Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "operation: {} is not an operation (PAUSE, RESUME, RESTART, RETRY, \
                     TERMINATE or REMOVE)",
                    r.operation
                )));
            }
        };
        let outcomes = self
            .svc
            .bulk(
                op,
                r.workflow_ids,
                Some(r.reason).filter(|s| !s.is_empty()),
                r.use_latest_definitions,
            )
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RunBulkOperationResponse {
            results: outcomes
                .into_iter()
                .map(|(workflow_id, outcome)| match outcome {
                    Ok(()) => pb::BulkResult {
                        workflow_id,
                        ok: true,
                        ..Default::default()
                    },
                    Err(e) => pb::BulkResult {
                        workflow_id,
                        ok: false,
                        code: e.code_name().to_string(),
                        message: e.to_string(),
                    },
                })
                .collect(),
        }))
    }
}
