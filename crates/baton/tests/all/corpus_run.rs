//! Compatibility run over the whole corpus (../shared/conductor-corpus): every workflow
//! definition found there is classified by the operators it uses; every one Baton runs must
//! have at least one row, and the rows of the flow operators run here. The rows of the
//! other themes run in their own modules (`corpus_loops`, `corpus_subflows`,
//! `corpus_systasks`, `corpus_kitchensink`), so that each can be run alone. How rows work
//! is told in `corpus/common.rs`.

use crate::corpus::{
    common, rows_base, rows_kitchensink, rows_loops, rows_subflows, rows_systasks,
};

/// Every row of every theme.
fn all_rows() -> Vec<common::Row> {
    let mut rows = rows_base::rows();
    rows.extend(rows_loops::rows());
    rows.extend(rows_subflows::rows());
    rows.extend(rows_systasks::rows());
    rows.extend(rows_kitchensink::rows());
    rows
}

#[test]
fn every_runnable_corpus_workflow_has_a_row() {
    common::check_coverage(&all_rows());
}

#[tokio::test]
async fn corpus_flow_operators_run_as_conductor_runs_them() {
    common::run_rows(rows_base::rows()).await;
}
