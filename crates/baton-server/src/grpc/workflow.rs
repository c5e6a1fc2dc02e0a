//! WorkflowService: start, read and steer executions.

use std::sync::Arc;
use std::time::Duration;

use baton_core::Event;
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_server::WorkflowService;
use tonic::{Request, Response, Status};

use super::workflow_to_pb;
use crate::convert::opt_struct_to_object;
use crate::engine::{Engine, IdempotencyStrategy, StartRequest};

/// The WorkflowService implementation.
pub struct Workflows {
    engine: Arc<Engine>,
}

impl Workflows {
    /// Serves executions of `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    async fn command(&self, workflow_id: &str, event: Event) -> Result<(), Status> {
        if workflow_id.is_empty() {
            return Err(Status::invalid_argument("workflow_id is required"));
        }
        self.engine.event(workflow_id, event).await?;
        Ok(())
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
        let id = self.engine.start_workflow(start_request(start)).await?;
        let status = self
            .engine
            .wait_closed(&id, Duration::from_secs(wait as u64))
            .await?;
        let (wf, tasks) = self.engine.get_workflow(&id, true)?;
        Ok(Response::new(pb::ExecuteWorkflowResponse {
            workflow: Some(workflow_to_pb(&wf, &tasks)),
            finished: status.is_terminal(),
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
        let mut out = Vec::new();
        for id in self
            .engine
            .workflows_by_correlation(&r.name, &r.correlation_id)?
        {
            let Ok((wf, tasks)) = self.engine.get_workflow(&id, r.include_tasks) else {
                continue;
            };
            if r.include_closed || !wf.status.is_terminal() {
                out.push(workflow_to_pb(&wf, &tasks));
            }
        }
        Ok(Response::new(pb::GetWorkflowsByCorrelationIdResponse {
            workflows: out,
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
        let def = if r.use_latest_definitions {
            let (wf, _) = self.engine.get_workflow(&r.workflow_id, false)?;
            Some(
                self.engine
                    .workflow_def(&wf.workflow_name, None)
                    .ok_or_else(|| {
                        Status::failed_precondition(format!(
                            "workflow definition {} no longer exists",
                            wf.workflow_name
                        ))
                    })?,
            )
        } else {
            None
        };
        self.command(&r.workflow_id, Event::Restart { def }).await?;
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
}
