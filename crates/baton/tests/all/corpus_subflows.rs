//! Compatibility run, sub-workflows: corpus workflows executed by the real `baton server`
//! binary and checked against what Conductor gives (see `corpus/common.rs`).

use crate::corpus::{common, rows_subflows as rows};

#[tokio::test]
async fn corpus_subflows_run_as_conductor_runs_them() {
    common::run_rows(rows::rows()).await;
}
