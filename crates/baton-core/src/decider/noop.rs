//! NOOP: completes as soon as it is scheduled, with an empty output.

use super::ctx::Ctx;
use super::instance::Origin;
use super::system;
use crate::model::WorkflowTask;
use crate::state::{Execution, TaskStatus};

/// Schedules a NOOP: it completes at once.
pub(super) fn schedule(exec: &mut Execution, cx: &mut Ctx, wt: &WorkflowTask, origin: Origin) {
    if let Some(t) = system::begin(exec, cx, wt, origin) {
        system::record(exec, cx, t, TaskStatus::Completed, None);
    }
}
