//! Rows for the corpus workflows built around DO_WHILE (loops with scripts, items, keepLastN, WAIT and sub-workflows inside).

#[allow(unused_imports)]
use serde_json::json;

#[allow(unused_imports)]
use crate::common::*;

/// The rows. Expected values are what Conductor gives for the same definition, input and
/// worker results.
pub fn rows() -> Vec<Row> {
    vec![]
}
