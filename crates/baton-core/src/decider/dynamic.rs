//! DYNAMIC: a worker task whose name is chosen at run time.
//!
//! The task's input is resolved first; `input[dynamicTaskNameParam]` (a non-blank string)
//! is the real task name. The task then runs as a SIMPLE worker task of that name: queued
//! under it (and its domain), with that name's task definition for retries, timeouts and
//! its input template (an inline `taskDefinition` on the DYNAMIC task still wins). Each
//! retry resolves the name again. A missing, blank or non-string name fails the task
//! (FAILED, not retried) with a reason naming the parameter; so does a name that no task
//! definition is registered under when the DYNAMIC task has no inline one (Conductor
//! refuses to schedule it too).

use serde_json::Value;

use super::ctx::Ctx;
use super::instance::Origin;
use super::scope::ExecScope;
use super::{lifecycle, system};
use crate::expr;
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskStatus};

/// The task name a DYNAMIC task resolves to, or why it has none.
fn task_name(wt: &WorkflowTask, input: &crate::model::Object) -> Result<String, String> {
    let Some(param) = wt
        .dynamic_task_name_param
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    else {
        return Err("DYNAMIC needs dynamicTaskNameParam".to_string());
    };
    match input.get(param) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) => Err(format!(
            "dynamic task name input {param:?} (dynamicTaskNameParam) is empty"
        )),
        None | Some(Value::Null) => Err(format!(
            "dynamic task name input {param:?} (dynamicTaskNameParam) is missing"
        )),
        Some(other) => Err(format!(
            "dynamic task name input {param:?} (dynamicTaskNameParam) is not a string: {other}"
        )),
    }
}

/// Schedules a DYNAMIC task: resolves its name and queues it as a worker task of that
/// name, or records it FAILED when there is no usable name.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let resolved = {
        let scope = ExecScope::new(exec, None);
        expr::resolve(&wt.input_parameters, &scope)
    };
    let name = match resolved {
        Ok(input) => task_name(wt, &input),
        // The input cannot be computed: the system path records why.
        Err(_) => {
            system::begin(exec, cx, wt, origin);
            return;
        }
    };
    let name = name.and_then(|name| {
        if wt.task_definition.is_none() && cx.env.task_def(&name).is_none() {
            Err(format!(
                "no task definition is registered for the dynamic task name {name:?}"
            ))
        } else {
            Ok(name)
        }
    });
    match name {
        Ok(name) => {
            let mut real = wt.clone();
            real.name = name;
            real.task_type = "SIMPLE".to_string();
            lifecycle::schedule(exec, cx, &real, origin);
        }
        Err(reason) => {
            if let Some(t) = system::begin(exec, cx, wt, origin) {
                system::record(exec, cx, t, TaskStatus::Failed, Some(reason));
            }
        }
    }
}
