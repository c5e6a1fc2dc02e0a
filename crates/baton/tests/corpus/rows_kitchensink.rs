//! Rows for the kitchensink workflows, EVENT and HTTP tasks.

#[allow(unused_imports)]
use serde_json::json;

#[allow(unused_imports)]
use crate::common::*;

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    vec![]
}
