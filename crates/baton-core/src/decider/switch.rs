//! SWITCH and DECISION: pick a case, run its tasks in sequence, then go on after the
//! operator.
//!
//! SWITCH with `evaluatorType` `value-param`: `expression` names an input key; that
//! value, as a string (null and a missing key give "null", numbers and booleans their
//! JSON text, strings themselves), selects the `decisionCases` entry, else `defaultCase`.
//! An entry present but empty runs nothing. DECISION with `caseValueParam` works the same
//! way, except that an empty entry falls back to `defaultCase` too. The task completes at
//! once; its input gets `case` (the value), its output `evaluationResult` (a list of the value) and
//! `selectedCase` (the value) for SWITCH, `caseOutput` (a list of the value) for DECISION.
//!
//! Script evaluators (`javascript`, `graaljs`, DECISION `caseExpression`) are not
//! supported yet: the task FAILS saying so.

use serde_json::{Value, json};

use super::ctx::Ctx;
use super::instance::Origin;
use super::system;
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// The input key recording the evaluated case value.
const CASE: &str = "case";

/// The value an input yields as a case key.
fn case_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "null".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.trim().is_empty())
}

/// The input key whose value selects the case, or why no case can be selected.
fn case_key(wt: &WorkflowTask) -> Result<&str, String> {
    if wt.task_type == "DECISION" {
        if nonblank(&wt.case_expression).is_some() {
            return Err(
                "DECISION caseExpression (a JavaScript evaluator) is not supported yet".to_string(),
            );
        }
        return nonblank(&wt.case_value_param)
            .ok_or_else(|| "DECISION needs caseValueParam or caseExpression".to_string());
    }
    match wt.evaluator_type.as_deref().unwrap_or("value-param") {
        "value-param" => nonblank(&wt.expression)
            .ok_or_else(|| "SWITCH needs an expression naming an input key".to_string()),
        e @ ("javascript" | "graaljs") => {
            Err(format!("SWITCH evaluatorType {e} is not supported yet"))
        }
        other => Err(format!(
            "unknown SWITCH evaluatorType {other:?} (value-param, javascript or graaljs)"
        )),
    }
}

/// Schedules a SWITCH or DECISION: evaluates the case at once. The chosen case's first
/// task (or, for an empty case, what follows the operator) is what follows it.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(mut t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    let key = match case_key(wt) {
        Ok(k) => k,
        Err(reason) => {
            system::record(exec, cx, t, TaskStatus::Failed, Some(reason));
            return;
        }
    };
    let case = case_text(t.input.get(key));
    t.input.insert(CASE.to_string(), Value::from(case.as_str()));
    if wt.task_type == "DECISION" {
        t.output.insert("caseOutput".to_string(), json!([case]));
    } else {
        t.output
            .insert("evaluationResult".to_string(), json!([case]));
        t.output
            .insert("selectedCase".to_string(), Value::from(case));
    }
    system::record(exec, cx, t, TaskStatus::Completed, None);
}

/// The tasks of the case a COMPLETED SWITCH or DECISION instance chose; None when it did
/// not choose one (it failed).
pub(super) fn chosen_case<'d>(
    wt: &'d WorkflowTask,
    t: &TaskInstance,
) -> Option<&'d [WorkflowTask]> {
    if t.status != TaskStatus::Completed {
        return None;
    }
    let case = t.input.get(CASE)?.as_str()?;
    let list = match wt.decision_cases.get(case) {
        Some(list) if wt.task_type != "DECISION" || !list.is_empty() => list,
        _ => &wt.default_case,
    };
    Some(list)
}
