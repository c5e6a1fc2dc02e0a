//! The compatibility corpus: how rows run (`common`) and the rows of each theme.

pub mod common;
pub mod rows_base;
pub mod rows_kitchensink;
pub mod rows_loops;
pub mod rows_subflows;
pub mod rows_systasks;
