//! Event handlers (Conductor's EventHandler): what to do when an event is published to a
//! queue. A handler names its `event` as `provider:queue` (`conductor:<workflow>:<queue>`
//! for what an EVENT task with sink `conductor:<queue>` publishes, or
//! `conductor:<workflow>:<task ref>` for one whose sink is `conductor` alone), an
//! optional `condition` over the event payload, whether it is `active`, and its `actions`:
//! start a workflow, complete a task or fail a task.
//!
//! Handlers are written and stored as Conductor writes them (JSON; `start_workflow`,
//! `complete_task` and `fail_task` in snake case, the fields inside them in camel case).
//! Fields this model does not know are kept in `extra` maps and round-tripped.
//! [`parse_event_handler`] checks a handler and names the JSON path of every problem.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Object;
use crate::validate::Problem;

fn is_false(b: &bool) -> bool {
    !*b
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Start a workflow (`start_workflow`).
    StartWorkflow,
    /// Complete a waiting task (`complete_task`).
    CompleteTask,
    /// Fail a waiting task (`fail_task`).
    FailTask,
}

impl ActionKind {
    /// Every kind, in declaration order.
    pub const ALL: [ActionKind; 3] = [Self::StartWorkflow, Self::CompleteTask, Self::FailTask];

    /// The name as Conductor writes it (also the key of the action's parameters).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartWorkflow => "start_workflow",
            Self::CompleteTask => "complete_task",
            Self::FailTask => "fail_task",
        }
    }

    /// Parses a name as Conductor writes it.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Parameters of a `start_workflow` action. String values may hold `${...}` expressions
/// over the event payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowAction {
    /// Name of the workflow definition to start; required.
    #[serde(default)]
    pub name: String,
    /// Version to start; the latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Input of the new workflow.
    #[serde(default, skip_serializing_if = "Object::is_empty")]
    pub input: Object,
    /// Correlation id of the new workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Task name (or "*") to domain mapping of the new workflow.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_to_domain: BTreeMap<String, String>,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

/// Parameters of a `complete_task` or `fail_task` action: which task (by id, or by
/// workflow id and reference name) and the output to give it. Values may hold `${...}`
/// expressions over the event payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAction {
    /// Id of the workflow the task belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// Reference name of the task in that workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_ref_name: Option<String>,
    /// Id of the task instance (instead of workflow id and reference name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Output to give the task.
    #[serde(default, skip_serializing_if = "Object::is_empty")]
    pub output: Object,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

/// One action of a handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventAction {
    /// What the action does.
    pub action: ActionKind,
    /// Parameters of a `start_workflow` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_workflow: Option<StartWorkflowAction>,
    /// Parameters of a `complete_task` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_task: Option<TaskAction>,
    /// Parameters of a `fail_task` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_task: Option<TaskAction>,
    /// Parse string values of the payload that hold JSON before evaluating expressions.
    #[serde(rename = "expandInlineJSON", default, skip_serializing_if = "is_false")]
    pub expand_inline_json: bool,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

/// An event handler (Conductor's EventHandler).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHandler {
    /// Unique name; required.
    #[serde(default)]
    pub name: String,
    /// The event handled, `provider:queue`; required.
    #[serde(default)]
    pub event: String,
    /// Expression over the event payload; the actions run only when it is true. None runs
    /// them for every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Language of `condition`: `javascript` (the default) or `graaljs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_type: Option<String>,
    /// Whether the handler runs; false when absent, as in Conductor.
    #[serde(default)]
    pub active: bool,
    /// What to do, in order.
    #[serde(default)]
    pub actions: Vec<EventAction>,
    /// Fields this model does not know (description, tags, ...), kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

impl EventHandler {
    /// Whether the handler is for `event` (exact match of `provider:queue`).
    pub fn handles(&self, event: &str) -> bool {
        self.event == event
    }
}

/// Evaluator types a handler's `condition` may name.
pub const EVALUATOR_TYPES: [&str; 2] = ["javascript", "graaljs"];

fn problem(path: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        message: message.into(),
    }
}

/// Parses and validates an event handler from JSON; every problem names its JSON path.
pub fn parse_event_handler(value: &Value) -> Result<EventHandler, Vec<Problem>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![problem("$", "expected a JSON object")]);
    };
    // Action names are checked on the JSON first, so that an unknown one is named at its
    // own path.
    let mut problems = Vec::new();
    if let Some(Value::Array(actions)) = obj.get("actions") {
        for (i, a) in actions.iter().enumerate() {
            let path = format!("$.actions[{i}].action");
            match a.get("action") {
                None | Some(Value::Null) => problems.push(problem(
                    path,
                    "an action is required (start_workflow, complete_task or fail_task)",
                )),
                Some(Value::String(s)) if ActionKind::parse(s).is_some() => {}
                Some(Value::String(s)) => problems.push(problem(
                    path,
                    format!(
                        "unknown action {s:?}: expected start_workflow, complete_task or fail_task"
                    ),
                )),
                Some(other) => {
                    problems.push(problem(path, format!("expected a string, found {other}")))
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let handler: EventHandler = parse(value)?;
    let problems = validate_event_handler(&handler);
    if problems.is_empty() {
        Ok(handler)
    } else {
        Err(problems)
    }
}

/// Validates a parsed event handler; empty when valid.
pub fn validate_event_handler(h: &EventHandler) -> Vec<Problem> {
    let mut problems = Vec::new();
    if h.name.trim().is_empty() {
        problems.push(problem("$.name", "a name is required"));
    }
    if h.event.trim().is_empty() {
        problems.push(problem(
            "$.event",
            "an event is required (\"provider:queue\", for example \"conductor:my_queue\")",
        ));
    } else {
        let well_formed = h
            .event
            .split_once(':')
            .is_some_and(|(provider, queue)| !provider.is_empty() && !queue.is_empty());
        if !well_formed {
            problems.push(problem(
                "$.event",
                format!(
                    "{:?} is not \"provider:queue\" (for example \"conductor:my_queue\")",
                    h.event
                ),
            ));
        }
    }
    if let Some(t) = &h.evaluator_type
        && !EVALUATOR_TYPES.contains(&t.as_str())
    {
        problems.push(problem(
            "$.evaluatorType",
            format!("unknown evaluator type {t:?}: expected javascript or graaljs"),
        ));
    }
    if h.condition.as_deref().is_some_and(|c| c.trim().is_empty()) {
        problems.push(problem(
            "$.condition",
            "the condition is empty; leave it out to run for every event",
        ));
    }
    if h.actions.is_empty() {
        problems.push(problem("$.actions", "at least one action is required"));
    }
    for (i, a) in h.actions.iter().enumerate() {
        let at = format!("$.actions[{i}]");
        let key = a.action.as_str();
        match a.action {
            ActionKind::StartWorkflow => match &a.start_workflow {
                None => problems.push(problem(
                    format!("{at}.{key}"),
                    "required for a start_workflow action",
                )),
                Some(s) if s.name.trim().is_empty() => problems.push(problem(
                    format!("{at}.{key}.name"),
                    "the name of the workflow to start is required",
                )),
                Some(_) => {}
            },
            ActionKind::CompleteTask | ActionKind::FailTask => {
                let params = match a.action {
                    ActionKind::CompleteTask => &a.complete_task,
                    _ => &a.fail_task,
                };
                match params {
                    None => problems.push(problem(
                        format!("{at}.{key}"),
                        format!("required for a {key} action"),
                    )),
                    Some(t) => {
                        let given =
                            |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
                        let named =
                            given(&t.task_id) || (given(&t.workflow_id) && given(&t.task_ref_name));
                        if !named {
                            problems.push(problem(
                                format!("{at}.{key}"),
                                "name the task: taskId, or workflowId and taskRefName",
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// Deserializes with the JSON path of the first type error.
fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, Vec<Problem>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = String::from("$");
        for seg in e.path().iter() {
            use serde_path_to_error::Segment;
            match seg {
                Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                Segment::Map { key } => {
                    path.push('.');
                    path.push_str(key);
                }
                Segment::Enum { variant } => {
                    path.push('.');
                    path.push_str(variant);
                }
                Segment::Unknown => path.push_str(".?"),
            }
        }
        vec![problem(path, e.into_inner().to_string())]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value) -> Vec<String> {
        parse_event_handler(&v)
            .expect_err("invalid")
            .into_iter()
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_conductor_handler_parses_and_round_trips() {
        let v = json!({
            "name": "on_done",
            "event": "conductor:order:notify",
            "condition": "$.status == 'ok'",
            "evaluatorType": "javascript",
            "active": true,
            "description": "kept",
            "actions": [
                {"action": "start_workflow",
                 "start_workflow": {"name": "follow_up", "version": 2,
                                    "input": {"id": "${orderId}"}, "correlationId": "c"},
                 "expandInlineJSON": true},
                {"action": "complete_task",
                 "complete_task": {"workflowId": "${workflowId}", "taskRefName": "wait",
                                   "output": {"ok": true}}},
                {"action": "fail_task", "fail_task": {"taskId": "${taskId}"}}
            ]
        });
        let h = parse_event_handler(&v).expect("valid");
        assert!(h.active && h.handles("conductor:order:notify"));
        assert_eq!(h.actions[0].action, ActionKind::StartWorkflow);
        assert_eq!(
            h.actions[0].start_workflow.as_ref().unwrap().version,
            Some(2)
        );
        assert!(h.actions[0].expand_inline_json);
        assert_eq!(serde_json::to_value(&h).unwrap(), v);
    }

    #[test]
    fn active_defaults_to_false() {
        let h = parse_event_handler(&json!({
            "name": "h", "event": "conductor:q",
            "actions": [{"action": "fail_task", "fail_task": {"taskId": "t"}}]
        }))
        .unwrap();
        assert!(!h.active);
    }

    #[test]
    fn problems_name_their_paths() {
        assert_eq!(
            paths(json!({"actions": [{"action": "start_workflow",
                                       "start_workflow": {"name": "w"}}]})),
            ["$.name", "$.event"]
        );
        assert_eq!(
            paths(json!({"name": "h", "event": "conductor:q",
                         "actions": [{"action": "start_workflow", "start_workflow": {"name": "w"}},
                                     {"action": "publish"}, {}]})),
            ["$.actions[1].action", "$.actions[2].action"]
        );
        assert_eq!(
            paths(
                json!({"name": "h", "event": "no_colon", "evaluatorType": "python",
                         "actions": []})
            ),
            ["$.event", "$.evaluatorType", "$.actions"]
        );
        assert_eq!(
            paths(json!({"name": "h", "event": "conductor:q",
                         "actions": [{"action": "start_workflow"},
                                     {"action": "start_workflow", "start_workflow": {}},
                                     {"action": "complete_task",
                                      "complete_task": {"workflowId": "w"}},
                                     {"action": "fail_task"}]})),
            [
                "$.actions[0].start_workflow",
                "$.actions[1].start_workflow.name",
                "$.actions[2].complete_task",
                "$.actions[3].fail_task"
            ]
        );
        assert_eq!(
            paths(json!({"name": "h", "event": "conductor:q", "active": "yes",
                         "actions": [{"action": "fail_task", "fail_task": {"taskId": "t"}}]})),
            ["$.active"]
        );
        assert_eq!(paths(json!([1])), ["$"]);
    }
}
