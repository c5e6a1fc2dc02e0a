//! Compatibility run, kitchensink, EVENT and HTTP: corpus workflows executed by the real `baton server`
//! binary and checked against what Conductor gives (see `corpus/common.rs`).

use crate::corpus::{common, rows_kitchensink as rows};

#[tokio::test]
async fn corpus_kitchensink_run_as_conductor_runs_them() {
    common::run_rows(rows::rows()).await;
}
