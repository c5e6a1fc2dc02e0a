//! What the handlers of system tasks (run by the decider itself, never queued) share:
//! creating the instance with its input, and recording how it ended.

use super::ctx::Ctx;
use super::flow::task_def_for;
use super::instance::{self, Created, Origin};
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskInstance, TaskStatus};

/// Creates an instance of a system task, started now, with its input computed. When the
/// input cannot be computed the instance is recorded FAILED_WITH_TERMINAL_ERROR and None
/// is returned; the flow then treats it like any failed task.
pub(super) fn begin(
    exec: &mut Execution,
    cx: &mut Ctx,
    wt: &WorkflowTask,
    origin: Origin,
) -> Option<TaskInstance> {
    let td = task_def_for(Some(wt), &wt.name, &*cx.env);
    let Created {
        task: mut t, input, ..
    } = instance::create(exec, cx, wt, &td, origin, false);
    // System tasks run at once: start and retry delays do not apply to them.
    t.ready_time = cx.now;
    match input {
        Ok(input) => {
            t.input = input;
            t.start_time = Some(cx.now);
            Some(t)
        }
        Err(e) => {
            t.start_time = Some(cx.now);
            instance::input_failed(&mut t, cx.now, &e);
            instance::push(exec, cx, t);
            None
        }
    }
}

/// Records a new system task instance in `status` (IN_PROGRESS for one that waits, or a
/// terminal status), with `reason` for an unsuccessful end.
pub(super) fn record(
    exec: &mut Execution,
    cx: &mut Ctx,
    mut t: TaskInstance,
    status: TaskStatus,
    reason: Option<String>,
) {
    t.status = status;
    t.reason_for_incompletion = reason;
    if status.is_terminal() {
        t.end_time = Some(cx.now);
    }
    instance::push(exec, cx, t);
}
