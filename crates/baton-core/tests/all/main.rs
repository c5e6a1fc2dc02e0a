//! The core's tests, one module per area, in one test binary. They drive the decider
//! directly (no I/O); `cargo test -p baton-core --test all switch::` runs one area.

mod common;

mod corpus;
mod decider;
mod decider_props;
mod do_while;
mod domains;
mod dynamic;
mod dynamic_fork;
mod exclusive_join;
mod fork_join;
mod operations;
mod sub_workflow;
mod switch;
mod system_tasks;
mod throughput;
mod wait_and_jobs;
