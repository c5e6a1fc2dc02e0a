//! The expression scope over an execution: `workflow`, task reference names and
//! `CPEWF_TASK_ID`.

use serde_json::{Map, Value};

use crate::expr::{Node, Scope};
use crate::state::{Execution, TaskInstance};

/// An [`expr::Scope`](crate::expr::Scope) over one execution. Roots are `workflow`, every
/// task reference name (its latest instance) and `CPEWF_TASK_ID` (the task being
/// scheduled). Inputs, outputs and variables are lent, not copied, when an expression
/// reads inside them.
pub struct ExecScope<'a> {
    exec: &'a Execution,
    task_id: Option<&'a str>,
}

impl<'a> ExecScope<'a> {
    /// A scope over `exec`; `task_id` is the id of the task being scheduled, if any.
    pub fn new(exec: &'a Execution, task_id: Option<&'a str>) -> Self {
        Self { exec, task_id }
    }

    fn workflow_field(&self, field: &str) -> Option<Value> {
        let wf = &self.exec.workflow;
        Some(match field {
            "input" => Value::Object(wf.input.clone()),
            "output" => Value::Object(wf.output.clone()),
            "variables" => Value::Object(wf.variables.clone()),
            "status" => Value::from(wf.status.as_str()),
            "workflowId" => Value::from(wf.workflow_id.as_str()),
            "parentWorkflowId" => opt(&wf.parent_workflow_id),
            "parentWorkflowTaskId" => opt(&wf.parent_workflow_task_id),
            "workflowType" => Value::from(wf.workflow_name.as_str()),
            "version" => Value::from(wf.workflow_version),
            "correlationId" => opt(&wf.correlation_id),
            "reasonForIncompletion" => opt(&wf.reason_for_incompletion),
            "schemaVersion" => Value::from(self.exec.def.schema_version),
            "priority" => Value::from(wf.priority),
            "createTime" => Value::from(wf.create_time),
            "startTime" => Value::from(wf.start_time),
            _ => return None,
        })
    }
}

const WORKFLOW_FIELDS: [&str; 15] = [
    "input",
    "output",
    "status",
    "workflowId",
    "parentWorkflowId",
    "parentWorkflowTaskId",
    "workflowType",
    "version",
    "correlationId",
    "reasonForIncompletion",
    "schemaVersion",
    "variables",
    "priority",
    "createTime",
    "startTime",
];

const TASK_FIELDS: [&str; 18] = [
    "input",
    "output",
    "taskType",
    "status",
    "referenceTaskName",
    "retryCount",
    "correlationId",
    "pollCount",
    "taskDefName",
    "scheduledTime",
    "startTime",
    "endTime",
    "workflowInstanceId",
    "taskId",
    "reasonForIncompletion",
    "callbackAfterSeconds",
    "workerId",
    "iteration",
];

/// The latest instance of a reference: exactly that name, else (inside DO_WHILE loops,
/// where instances carry an iteration suffix) the latest instance of that definition
/// reference in any iteration.
fn latest<'e>(exec: &'e Execution, reference: &str) -> Option<&'e TaskInstance> {
    exec.latest_task(reference).or_else(|| {
        exec.tasks
            .iter()
            .rev()
            .find(|t| super::iteration::base(&t.reference_task_name) == reference)
    })
}

fn opt(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, Value::from)
}

fn task_field(t: &TaskInstance, field: &str) -> Option<Value> {
    Some(match field {
        "input" => Value::Object(t.input.clone()),
        "output" => Value::Object(t.output.clone()),
        "taskType" => Value::from(t.reported_type()),
        "status" => Value::from(t.status.as_str()),
        "referenceTaskName" => Value::from(t.reference_task_name.as_str()),
        "retryCount" => Value::from(t.retry_count),
        "correlationId" => opt(&t.correlation_id),
        "pollCount" => Value::from(t.poll_count),
        "taskDefName" => Value::from(t.task_def_name.as_str()),
        "scheduledTime" => Value::from(t.scheduled_time),
        // Conductor reports 0 for times not reached yet.
        "startTime" => Value::from(t.start_time.unwrap_or(0)),
        "endTime" => Value::from(t.end_time.unwrap_or(0)),
        "workflowInstanceId" => Value::from(t.workflow_id.as_str()),
        "taskId" => Value::from(t.task_id.as_str()),
        "reasonForIncompletion" => opt(&t.reason_for_incompletion),
        "callbackAfterSeconds" => Value::from(t.callback_after_seconds),
        "workerId" => opt(&t.worker_id),
        "iteration" => Value::from(t.iteration),
        _ => return None,
    })
}

impl Scope for ExecScope<'_> {
    fn root(&self, name: &str) -> Option<Value> {
        match name {
            "workflow" => {
                let mut doc = Map::with_capacity(WORKFLOW_FIELDS.len());
                for f in WORKFLOW_FIELDS {
                    doc.insert(f.to_string(), self.workflow_field(f)?);
                }
                Some(Value::Object(doc))
            }
            "CPEWF_TASK_ID" => self.task_id.map(Value::from),
            r => {
                let t = latest(self.exec, r)?;
                let mut doc = Map::with_capacity(TASK_FIELDS.len());
                for f in TASK_FIELDS {
                    doc.insert(f.to_string(), task_field(t, f)?);
                }
                Some(Value::Object(doc))
            }
        }
    }

    fn field(&self, root: &str, field: &str) -> Option<Node<'_>> {
        match root {
            "workflow" => {
                let wf = &self.exec.workflow;
                match field {
                    "input" => Some(Node::Object(&wf.input)),
                    "output" => Some(Node::Object(&wf.output)),
                    "variables" => Some(Node::Object(&wf.variables)),
                    f => self.workflow_field(f).map(Node::Owned),
                }
            }
            "CPEWF_TASK_ID" => None,
            r => {
                let t = latest(self.exec, r)?;
                match field {
                    "input" => Some(Node::Object(&t.input)),
                    "output" => Some(Node::Object(&t.output)),
                    f => task_field(t, f).map(Node::Owned),
                }
            }
        }
    }
}
