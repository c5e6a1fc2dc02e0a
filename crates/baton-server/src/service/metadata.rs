//! Definitions: workflow and task definitions and event handlers, checked and stored.

use std::sync::Arc;

use baton_core::event_handler::{EventHandler, parse_event_handler};
use baton_core::validate::{self, Problem};
use baton_core::{TaskDef, WorkflowDef};
use serde_json::Value;

use super::Service;
use crate::error::EngineError;

/// INVALID_ARGUMENT listing a definition's problems.
fn invalid(what: &str, problems: &[Problem]) -> EngineError {
    let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    EngineError::InvalidArgument(format!("invalid {what}: {}", list.join("; ")))
}

impl Service {
    fn check_len(&self, v: &Value) -> Result<(), EngineError> {
        let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0);
        let limit = self.max_payload_bytes();
        if size > limit {
            return Err(EngineError::InvalidArgument(format!(
                "definition is {size} bytes; the limit is {limit} bytes"
            )));
        }
        Ok(())
    }

    /// Parses and checks a workflow definition written as Conductor writes it.
    pub fn parse_workflow_def(&self, v: &Value) -> Result<WorkflowDef, EngineError> {
        self.check_len(v)?;
        validate::parse_workflow_def(v).map_err(|p| invalid("workflow definition", &p))
    }

    /// Parses and checks a task definition.
    pub fn parse_task_def(&self, v: &Value) -> Result<TaskDef, EngineError> {
        self.check_len(v)?;
        validate::parse_task_def(v).map_err(|p| invalid("task definition", &p))
    }

    /// Parses and checks an event handler.
    pub fn parse_event_handler(&self, v: &Value) -> Result<EventHandler, EngineError> {
        self.check_len(v)?;
        parse_event_handler(v).map_err(|p| invalid("event handler", &p))
    }

    /// Registers a new workflow definition; ALREADY_EXISTS when its version exists.
    pub async fn register_workflow_def(&self, v: &Value) -> Result<Arc<WorkflowDef>, EngineError> {
        let def = self.parse_workflow_def(v)?;
        self.rt.registry.put_workflow_def(def, false).await
    }

    /// Creates or replaces workflow definitions; all are checked before any is stored.
    pub async fn update_workflow_defs(
        &self,
        values: &[Value],
    ) -> Result<Vec<Arc<WorkflowDef>>, EngineError> {
        let defs = values
            .iter()
            .map(|v| self.parse_workflow_def(v))
            .collect::<Result<Vec<_>, _>>()?;
        if defs.is_empty() {
            return Err(EngineError::InvalidArgument(
                "definitions: at least one is required".into(),
            ));
        }
        let mut out = Vec::with_capacity(defs.len());
        for d in defs {
            out.push(self.rt.registry.put_workflow_def(d, true).await?);
        }
        Ok(out)
    }

    /// A workflow definition: a version (0 or None for the latest).
    pub fn workflow_def(
        &self,
        name: &str,
        version: Option<i32>,
    ) -> Result<Arc<WorkflowDef>, EngineError> {
        self.rt
            .registry
            .require_workflow_def(name, version.filter(|v| *v > 0))
    }

    /// Workflow definitions by name then version: the latest version of each, or every
    /// version when `all_versions`; only those of `name` (every version) when given.
    pub fn workflow_defs(&self, name: Option<&str>, all_versions: bool) -> Vec<Arc<WorkflowDef>> {
        let all = self.rt.registry.workflow_defs();
        let mut out = Vec::new();
        for (i, d) in all.iter().enumerate() {
            if name.is_some_and(|n| d.name != n) {
                continue;
            }
            let is_latest = all.get(i + 1).is_none_or(|n| n.name != d.name);
            if all_versions || name.is_some() || is_latest {
                out.push(d.clone());
            }
        }
        out
    }

    /// Deletes one version of a workflow definition.
    pub async fn delete_workflow_def(&self, name: &str, version: i32) -> Result<(), EngineError> {
        self.rt.registry.delete_workflow_def(name, version).await
    }

    /// The problems of each workflow definition given (empty when all are valid).
    pub fn validate_workflow_defs(&self, values: &[Value]) -> Vec<Problem> {
        values
            .iter()
            .filter_map(|v| validate::parse_workflow_def(v).err())
            .flatten()
            .collect()
    }

    /// Creates or replaces task definitions; all are checked before any is stored.
    pub async fn register_task_defs(
        &self,
        values: &[Value],
    ) -> Result<Vec<Arc<TaskDef>>, EngineError> {
        let defs = values
            .iter()
            .map(|v| self.parse_task_def(v))
            .collect::<Result<Vec<_>, _>>()?;
        if defs.is_empty() {
            return Err(EngineError::InvalidArgument(
                "definitions: at least one is required".into(),
            ));
        }
        self.rt.registry.put_task_defs(defs).await
    }

    /// A task definition.
    pub fn task_def(&self, name: &str) -> Result<Arc<TaskDef>, EngineError> {
        self.rt
            .registry
            .task_def(name)
            .ok_or_else(|| EngineError::NotFound(format!("task definition {name} does not exist")))
    }

    /// Every task definition, by name.
    pub fn task_defs(&self) -> Vec<Arc<TaskDef>> {
        self.rt.registry.task_defs()
    }

    /// Deletes a task definition.
    pub async fn delete_task_def(&self, name: &str) -> Result<(), EngineError> {
        self.rt.registry.delete_task_def(name).await
    }

    /// Adds an event handler; ALREADY_EXISTS when one has its name.
    pub async fn add_event_handler(&self, v: &Value) -> Result<Arc<EventHandler>, EngineError> {
        let h = self.parse_event_handler(v)?;
        self.rt.registry.add_event_handler(h).await
    }

    /// Replaces an event handler, found by name.
    pub async fn update_event_handler(&self, v: &Value) -> Result<Arc<EventHandler>, EngineError> {
        let h = self.parse_event_handler(v)?;
        self.rt.registry.update_event_handler(h).await
    }

    /// Deletes an event handler.
    pub async fn delete_event_handler(&self, name: &str) -> Result<(), EngineError> {
        if name.is_empty() {
            return Err(EngineError::InvalidArgument("name is required".into()));
        }
        self.rt.registry.delete_event_handler(name).await
    }

    /// One event handler.
    pub fn event_handler(&self, name: &str) -> Result<Arc<EventHandler>, EngineError> {
        if name.is_empty() {
            return Err(EngineError::InvalidArgument("name is required".into()));
        }
        self.rt
            .registry
            .event_handler(name)
            .ok_or_else(|| EngineError::NotFound(format!("event handler {name} does not exist")))
    }

    /// Event handlers by name: all, or those of `event`; only active ones when asked.
    pub fn event_handlers(&self, event: Option<&str>, active_only: bool) -> Vec<Arc<EventHandler>> {
        self.rt
            .registry
            .event_handlers(event.filter(|e| !e.is_empty()), active_only)
    }
}
