//! Parsing and validation of definitions. Every problem names the JSON path where it is.

use serde_json::Value;

use crate::model::{TaskDef, WorkflowDef};

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Problem {
    /// JSON path of the offending value, such as `$.tasks[2].taskReferenceName`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// Parses and validates a workflow definition from JSON.
pub fn parse_workflow_def(value: &Value) -> Result<WorkflowDef, Vec<Problem>> {
    let _ = value;
    unimplemented!("validate::parse_workflow_def")
}

/// Validates a parsed workflow definition; empty when valid.
pub fn validate_workflow_def(def: &WorkflowDef) -> Vec<Problem> {
    let _ = def;
    unimplemented!("validate::validate_workflow_def")
}

/// Parses and validates a task definition from JSON.
pub fn parse_task_def(value: &Value) -> Result<TaskDef, Vec<Problem>> {
    let _ = value;
    unimplemented!("validate::parse_task_def")
}
