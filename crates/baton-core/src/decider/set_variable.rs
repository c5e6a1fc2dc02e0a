//! SET_VARIABLE: merges its input into `workflow.variables` and completes at once.
//!
//! The variables are capped at [`MAX_VARIABLES_BYTES`] of JSON: a SET_VARIABLE that would
//! take them past the cap FAILS (naming the size and the limit) and changes nothing.

use super::ctx::Ctx;
use super::instance::Origin;
use super::system;
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskStatus};

/// Most bytes the workflow variables may take as JSON (256 KiB).
pub const MAX_VARIABLES_BYTES: usize = 256 * 1024;

/// Schedules a SET_VARIABLE: merges its input into the variables, or fails when they
/// would grow past [`MAX_VARIABLES_BYTES`].
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    let Some(t) = system::begin(exec, cx, wt, origin) else {
        return;
    };
    let mut variables = exec.workflow.variables.clone();
    for (k, v) in &t.input {
        variables.insert(k.clone(), v.clone());
    }
    let size = serde_json::to_vec(&variables).map_or(usize::MAX, |b| b.len());
    if size > MAX_VARIABLES_BYTES {
        let reason = format!(
            "the workflow variables would take {size} bytes of JSON, above the limit of \
             {MAX_VARIABLES_BYTES} bytes (256 KiB)"
        );
        system::record(exec, cx, t, TaskStatus::Failed, Some(reason));
        return;
    }
    exec.workflow.variables = variables;
    cx.workflow_changed(&mut exec.workflow);
    system::record(exec, cx, t, TaskStatus::Completed, None);
}
