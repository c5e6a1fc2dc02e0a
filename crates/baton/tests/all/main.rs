//! Baton's end-to-end tests, one module per area, in one test binary (one link instead of
//! one per file). Each module runs the real `baton` binary; `cargo test -p baton --test all
//! e2e::` runs one area.

mod corpus;
mod support;

mod auth;
mod bench_hold;
mod cli;
mod corpus_kitchensink;
mod corpus_loops;
mod corpus_run;
mod corpus_subflows;
mod corpus_systasks;
mod crash;
mod disk_full;
mod e2e;
mod event_handlers;
mod event_task;
mod grpcurl;
mod http;
mod http_schedules;
mod metrics;
mod operations;
mod retention;
mod schedule_crash;
mod schedules;
mod search;
mod sub_workflows;
mod system_tasks;
mod task_limits;
mod tls;
mod top;
mod traces;
