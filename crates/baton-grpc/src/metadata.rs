//! MetadataService: workflow and task definitions.

use baton_core::event_handler::EventHandler;
use baton_core::{TaskDef, WorkflowDef};
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_server::MetadataService;
use baton_server::Service;
use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::convert::{object_to_struct, opt_ts};
use crate::status;
use crate::views::definition_values;

/// The MetadataService implementation.
pub struct Metadata {
    svc: Service,
}

impl Metadata {
    /// Serves definitions through `svc`.
    pub fn new(svc: Service) -> Self {
        Self { svc }
    }
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

/// The one event handler a request carries.
fn one_handler(def: Option<&pb::Definition>) -> Result<Value, Status> {
    let values = definition_values(def, "handler")?;
    let [v] = <[Value; 1]>::try_from(values).map_err(|values| {
        Status::invalid_argument(format!(
            "handler: expected one event handler, found {}",
            values.len()
        ))
    })?;
    Ok(v)
}

/// The definitions of a list of `Definition`s, each of which may hold several.
fn all_values(defs: &[pb::Definition]) -> Result<Vec<Value>, Status> {
    let mut out = Vec::new();
    for (i, d) in defs.iter().enumerate() {
        out.extend(definition_values(Some(d), &format!("definitions[{i}]"))?);
    }
    Ok(out)
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
        let stored = self
            .svc
            .register_workflow_def(&values[0])
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RegisterWorkflowDefResponse {
            workflow_def: Some(wf_info(&stored)),
        }))
    }

    async fn update_workflow_def(
        &self,
        req: Request<pb::UpdateWorkflowDefRequest>,
    ) -> Result<Response<pb::UpdateWorkflowDefResponse>, Status> {
        let values = all_values(&req.get_ref().definitions)?;
        let stored = self
            .svc
            .update_workflow_defs(&values)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateWorkflowDefResponse {
            workflow_defs: stored.iter().map(|d| wf_info(d)).collect(),
        }))
    }

    async fn get_workflow_def(
        &self,
        req: Request<pb::GetWorkflowDefRequest>,
    ) -> Result<Response<pb::GetWorkflowDefResponse>, Status> {
        let r = req.get_ref();
        let def = self.svc.workflow_def(&r.name, r.version).map_err(status)?;
        Ok(Response::new(pb::GetWorkflowDefResponse {
            workflow_def: Some(wf_info(&def)),
        }))
    }

    async fn list_workflow_defs(
        &self,
        req: Request<pb::ListWorkflowDefsRequest>,
    ) -> Result<Response<pb::ListWorkflowDefsResponse>, Status> {
        let r = req.get_ref();
        let name = Some(r.name.as_str()).filter(|n| !n.is_empty());
        Ok(Response::new(pb::ListWorkflowDefsResponse {
            workflow_defs: self
                .svc
                .workflow_defs(name, r.all_versions)
                .iter()
                .map(|d| wf_info(d))
                .collect(),
        }))
    }

    async fn delete_workflow_def(
        &self,
        req: Request<pb::DeleteWorkflowDefRequest>,
    ) -> Result<Response<pb::DeleteWorkflowDefResponse>, Status> {
        let r = req.get_ref();
        self.svc
            .delete_workflow_def(&r.name, r.version)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteWorkflowDefResponse {}))
    }

    async fn validate_workflow_def(
        &self,
        req: Request<pb::ValidateWorkflowDefRequest>,
    ) -> Result<Response<pb::ValidateWorkflowDefResponse>, Status> {
        let values = definition_values(req.get_ref().definition.as_ref(), "definition")?;
        let errors: Vec<pb::ValidationError> = self
            .svc
            .validate_workflow_defs(&values)
            .into_iter()
            .map(|p| pb::ValidationError {
                path: p.path,
                message: p.message,
            })
            .collect();
        Ok(Response::new(pb::ValidateWorkflowDefResponse {
            valid: errors.is_empty(),
            errors,
        }))
    }

    async fn register_task_defs(
        &self,
        req: Request<pb::RegisterTaskDefsRequest>,
    ) -> Result<Response<pb::RegisterTaskDefsResponse>, Status> {
        let values = all_values(&req.get_ref().definitions)?;
        let stored = self.svc.register_task_defs(&values).await.map_err(status)?;
        Ok(Response::new(pb::RegisterTaskDefsResponse {
            task_defs: stored.iter().map(|d| task_info(d)).collect(),
        }))
    }

    async fn get_task_def(
        &self,
        req: Request<pb::GetTaskDefRequest>,
    ) -> Result<Response<pb::GetTaskDefResponse>, Status> {
        let def = self.svc.task_def(&req.get_ref().name).map_err(status)?;
        Ok(Response::new(pb::GetTaskDefResponse {
            task_def: Some(task_info(&def)),
        }))
    }

    async fn list_task_defs(
        &self,
        _req: Request<pb::ListTaskDefsRequest>,
    ) -> Result<Response<pb::ListTaskDefsResponse>, Status> {
        Ok(Response::new(pb::ListTaskDefsResponse {
            task_defs: self.svc.task_defs().iter().map(|d| task_info(d)).collect(),
        }))
    }

    async fn delete_task_def(
        &self,
        req: Request<pb::DeleteTaskDefRequest>,
    ) -> Result<Response<pb::DeleteTaskDefResponse>, Status> {
        self.svc
            .delete_task_def(&req.get_ref().name)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteTaskDefResponse {}))
    }

    async fn add_event_handler(
        &self,
        req: Request<pb::AddEventHandlerRequest>,
    ) -> Result<Response<pb::AddEventHandlerResponse>, Status> {
        let v = one_handler(req.get_ref().handler.as_ref())?;
        let stored = self.svc.add_event_handler(&v).await.map_err(status)?;
        Ok(Response::new(pb::AddEventHandlerResponse {
            handler: Some(handler_info(&stored)),
        }))
    }

    async fn update_event_handler(
        &self,
        req: Request<pb::UpdateEventHandlerRequest>,
    ) -> Result<Response<pb::UpdateEventHandlerResponse>, Status> {
        let v = one_handler(req.get_ref().handler.as_ref())?;
        let stored = self.svc.update_event_handler(&v).await.map_err(status)?;
        Ok(Response::new(pb::UpdateEventHandlerResponse {
            handler: Some(handler_info(&stored)),
        }))
    }

    async fn delete_event_handler(
        &self,
        req: Request<pb::DeleteEventHandlerRequest>,
    ) -> Result<Response<pb::DeleteEventHandlerResponse>, Status> {
        self.svc
            .delete_event_handler(&req.get_ref().name)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::DeleteEventHandlerResponse {}))
    }

    async fn get_event_handler(
        &self,
        req: Request<pb::GetEventHandlerRequest>,
    ) -> Result<Response<pb::GetEventHandlerResponse>, Status> {
        let h = self
            .svc
            .event_handler(&req.get_ref().name)
            .map_err(status)?;
        Ok(Response::new(pb::GetEventHandlerResponse {
            handler: Some(handler_info(&h)),
        }))
    }

    async fn list_event_handlers(
        &self,
        req: Request<pb::ListEventHandlersRequest>,
    ) -> Result<Response<pb::ListEventHandlersResponse>, Status> {
        let r = req.get_ref();
        Ok(Response::new(pb::ListEventHandlersResponse {
            handlers: self
                .svc
                .event_handlers(Some(r.event.as_str()), r.active_only)
                .iter()
                .map(|h| handler_info(h))
                .collect(),
        }))
    }
}
