//! Rows for the corpus workflows built around SUB_WORKFLOW, START_WORKFLOW, TERMINATE and failureWorkflow.

#[allow(unused_imports)]
use serde_json::json;

#[allow(unused_imports)]
use crate::common::*;

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    vec![]
}
