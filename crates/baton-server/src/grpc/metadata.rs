//! MetadataService: workflow and task definitions.

use std::sync::Arc;

use baton_core::event_handler::{EventHandler, parse_event_handler};
use baton_core::validate::{self, Problem};
use baton_core::{TaskDef, WorkflowDef};
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_server::MetadataService;
use serde_json::Value;
use tonic::{Request, Response, Status};

use super::definition_values;
use crate::convert::{object_to_struct, opt_ts};
use crate::engine::Engine;

/// The MetadataService implementation.
pub struct Metadata {
    engine: Arc<Engine>,
}

impl Metadata {
    /// Serves definitions of `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    fn check_len(&self, v: &Value) -> Result<(), Status> {
        let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0);
        let limit = self.engine.max_payload_bytes();
        if size > limit {
            return Err(Status::invalid_argument(format!(
                "definition is {size} bytes; the limit is {limit} bytes"
            )));
        }
        Ok(())
    }
}

fn problems_status(what: &str, problems: &[Problem]) -> Status {
    let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    Status::invalid_argument(format!("invalid {what}: {}", list.join("; ")))
}

pub(crate) fn wf_info(def: &WorkflowDef) -> pb::WorkflowDefInfo {
    let json = serde_json::to_value(def).unwrap_or(Value::Null);
    pb::WorkflowDefInfo {
        name: def.name.clone(),
        version: def.version,
        description: def.description.clone().unwrap_or_default(),
        create_time: opt_ts(def.create_time),
        update_time: opt_ts(def.update_time),
        definition: json.as_object().map(object_to_struct),
    }
}

fn task_info(def: &TaskDef) -> pb::TaskDefInfo {
    let json = serde_json::to_value(def).unwrap_or(Value::Null);
    pb::TaskDefInfo {
        name: def.name.clone(),
        create_time: opt_ts(def.create_time),
        update_time: opt_ts(def.update_time),
        definition: json.as_object().map(object_to_struct),
    }
}

fn handler_info(h: &EventHandler) -> pb::EventHandlerInfo {
    let json = serde_json::to_value(h).unwrap_or(Value::Null);
    pb::EventHandlerInfo {
        name: h.name.clone(),
        event: h.event.clone(),
        active: h.active,
        definition: json.as_object().map(object_to_struct),
    }
}

impl Metadata {
    /// The one event handler a request carries, parsed and validated.
    fn parse_handler(&self, def: Option<&pb::Definition>) -> Result<EventHandler, Status> {
        let values = definition_values(def, "handler")?;
        let [v] = values.as_slice() else {
            return Err(Status::invalid_argument(format!(
                "handler: expected one event handler, found {}",
                values.len()
            )));
        };
        self.check_len(v)?;
        parse_event_handler(v).map_err(|p| problems_status("event handler", &p))
    }

    fn parse_workflow(&self, v: &Value) -> Result<WorkflowDef, Status> {
        self.check_len(v)?;
        validate::parse_workflow_def(v).map_err(|p| problems_status("workflow definition", &p))
    }

    fn parse_task(&self, v: &Value) -> Result<TaskDef, Status> {
        self.check_len(v)?;
        validate::parse_task_def(v).map_err(|p| problems_status("task definition", &p))
    }
}

#[tonic::async_trait]
impl MetadataService for Metadata {
    async fn register_workflow_def(
        &self,
        req: Request<pb::RegisterWorkflowDefRequest>,
    ) -> Result<Response<pb::RegisterWorkflowDefResponse>, Status> {
        let values = definition_values(req.get_ref().definition.as_ref(), "definition")?;
        if values.len() != 1 {
            return Err(Status::invalid_argument(
                "definition: expected one workflow definition; use UpdateWorkflowDef for several",
            ));
        }
        let def = self.parse_workflow(&values[0])?;
        let stored = self.engine.put_workflow_def(def, false).await?;
        Ok(Response::new(pb::RegisterWorkflowDefResponse {
            workflow_def: Some(wf_info(&stored)),
        }))
    }

    async fn update_workflow_def(
        &self,
        req: Request<pb::UpdateWorkflowDefRequest>,
    ) -> Result<Response<pb::UpdateWorkflowDefResponse>, Status> {
        let mut defs = Vec::new();
        for (i, d) in req.get_ref().definitions.iter().enumerate() {
            for v in definition_values(Some(d), &format!("definitions[{i}]"))? {
                defs.push(self.parse_workflow(&v)?);
            }
        }
        if defs.is_empty() {
            return Err(Status::invalid_argument(
                "definitions: at least one is required",
            ));
        }
        let mut out = Vec::new();
        for d in defs {
            let stored = self.engine.put_workflow_def(d, true).await?;
            out.push(wf_info(&stored));
        }
        Ok(Response::new(pb::UpdateWorkflowDefResponse {
            workflow_defs: out,
        }))
    }

    async fn get_workflow_def(
        &self,
        req: Request<pb::GetWorkflowDefRequest>,
    ) -> Result<Response<pb::GetWorkflowDefResponse>, Status> {
        let r = req.get_ref();
        let version = r.version.filter(|v| *v > 0);
        let def = self.engine.workflow_def(&r.name, version).ok_or_else(|| {
            Status::not_found(match version {
                Some(v) => format!("workflow definition {} version {v} does not exist", r.name),
                None => format!("workflow definition {} does not exist", r.name),
            })
        })?;
        Ok(Response::new(pb::GetWorkflowDefResponse {
            workflow_def: Some(wf_info(&def)),
        }))
    }

    async fn list_workflow_defs(
        &self,
        req: Request<pb::ListWorkflowDefsRequest>,
    ) -> Result<Response<pb::ListWorkflowDefsResponse>, Status> {
        let r = req.get_ref();
        let all = self.engine.workflow_defs();
        let mut out: Vec<pb::WorkflowDefInfo> = Vec::new();
        for (i, d) in all.iter().enumerate() {
            if !r.name.is_empty() && d.name != r.name {
                continue;
            }
            let is_latest = all.get(i + 1).is_none_or(|n| n.name != d.name);
            if r.all_versions || !r.name.is_empty() || is_latest {
                out.push(wf_info(d));
            }
        }
        Ok(Response::new(pb::ListWorkflowDefsResponse {
            workflow_defs: out,
        }))
    }

    async fn delete_workflow_def(
        &self,
        req: Request<pb::DeleteWorkflowDefRequest>,
    ) -> Result<Response<pb::DeleteWorkflowDefResponse>, Status> {
        let r = req.get_ref();
        self.engine.delete_workflow_def(&r.name, r.version).await?;
        Ok(Response::new(pb::DeleteWorkflowDefResponse {}))
    }

    async fn validate_workflow_def(
        &self,
        req: Request<pb::ValidateWorkflowDefRequest>,
    ) -> Result<Response<pb::ValidateWorkflowDefResponse>, Status> {
        let values = definition_values(req.get_ref().definition.as_ref(), "definition")?;
        let mut errors = Vec::new();
        for v in &values {
            if let Err(problems) = validate::parse_workflow_def(v) {
                errors.extend(problems.into_iter().map(|p| pb::ValidationError {
                    path: p.path,
                    message: p.message,
                }));
            }
        }
        Ok(Response::new(pb::ValidateWorkflowDefResponse {
            valid: errors.is_empty(),
            errors,
        }))
    }

    async fn register_task_defs(
        &self,
        req: Request<pb::RegisterTaskDefsRequest>,
    ) -> Result<Response<pb::RegisterTaskDefsResponse>, Status> {
        let mut defs = Vec::new();
        for (i, d) in req.get_ref().definitions.iter().enumerate() {
            for v in definition_values(Some(d), &format!("definitions[{i}]"))? {
                defs.push(self.parse_task(&v)?);
            }
        }
        if defs.is_empty() {
            return Err(Status::invalid_argument(
                "definitions: at least one is required",
            ));
        }
        let stored = self.engine.put_task_defs(defs).await?;
        Ok(Response::new(pb::RegisterTaskDefsResponse {
            task_defs: stored.iter().map(|d| task_info(d)).collect(),
        }))
    }

    async fn get_task_def(
        &self,
        req: Request<pb::GetTaskDefRequest>,
    ) -> Result<Response<pb::GetTaskDefResponse>, Status> {
        let name = &req.get_ref().name;
        let def = self
            .engine
            .task_def(name)
            .ok_or_else(|| Status::not_found(format!("task definition {name} does not exist")))?;
        Ok(Response::new(pb::GetTaskDefResponse {
            task_def: Some(task_info(&def)),
        }))
    }

    async fn list_task_defs(
        &self,
        _req: Request<pb::ListTaskDefsRequest>,
    ) -> Result<Response<pb::ListTaskDefsResponse>, Status> {
        Ok(Response::new(pb::ListTaskDefsResponse {
            task_defs: self
                .engine
                .task_defs()
                .iter()
                .map(|d| task_info(d))
                .collect(),
        }))
    }

    async fn delete_task_def(
        &self,
        req: Request<pb::DeleteTaskDefRequest>,
    ) -> Result<Response<pb::DeleteTaskDefResponse>, Status> {
        self.engine.delete_task_def(&req.get_ref().name).await?;
        Ok(Response::new(pb::DeleteTaskDefResponse {}))
    }

    async fn add_event_handler(
        &self,
        req: Request<pb::AddEventHandlerRequest>,
    ) -> Result<Response<pb::AddEventHandlerResponse>, Status> {
        let h = self.parse_handler(req.get_ref().handler.as_ref())?;
        let stored = self.engine.add_event_handler(h).await?;
        Ok(Response::new(pb::AddEventHandlerResponse {
            handler: Some(handler_info(&stored)),
        }))
    }

    async fn update_event_handler(
        &self,
        req: Request<pb::UpdateEventHandlerRequest>,
    ) -> Result<Response<pb::UpdateEventHandlerResponse>, Status> {
        let h = self.parse_handler(req.get_ref().handler.as_ref())?;
        let stored = self.engine.update_event_handler(h).await?;
        Ok(Response::new(pb::UpdateEventHandlerResponse {
            handler: Some(handler_info(&stored)),
        }))
    }

    async fn delete_event_handler(
        &self,
        req: Request<pb::DeleteEventHandlerRequest>,
    ) -> Result<Response<pb::DeleteEventHandlerResponse>, Status> {
        let name = &req.get_ref().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        self.engine.delete_event_handler(name).await?;
        Ok(Response::new(pb::DeleteEventHandlerResponse {}))
    }

    async fn get_event_handler(
        &self,
        req: Request<pb::GetEventHandlerRequest>,
    ) -> Result<Response<pb::GetEventHandlerResponse>, Status> {
        let name = &req.get_ref().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name is required"));
        }
        let h = self
            .engine
            .event_handler(name)
            .ok_or_else(|| Status::not_found(format!("event handler {name} does not exist")))?;
        Ok(Response::new(pb::GetEventHandlerResponse {
            handler: Some(handler_info(&h)),
        }))
    }

    async fn list_event_handlers(
        &self,
        req: Request<pb::ListEventHandlersRequest>,
    ) -> Result<Response<pb::ListEventHandlersResponse>, Status> {
        let r = req.get_ref();
        let event = Some(r.event.as_str()).filter(|e| !e.is_empty());
        Ok(Response::new(pb::ListEventHandlersResponse {
            handlers: self
                .engine
                .event_handlers(event, r.active_only)
                .iter()
                .map(|h| handler_info(h))
                .collect(),
        }))
    }
}
