//! Schedules: workflows started on a clock.
//!
//! A schedule ([`ScheduleDef`]) is written as Conductor writes its scheduler JSON (unknown
//! fields are ignored, `null` reads as absent) plus Baton's extensions. Its times come from
//! any number of specs: cron expressions (5, 6 or 7 fields, `@daily`-style macros, `L`, `W`
//! and `#`), each read in its own IANA zone with an explicit daylight-saving policy, and
//! fixed intervals with a phase. Exclusions remove times; `scheduleStartTime` and
//! `scheduleEndTime` bound them. [`Calendar`] is the compiled union.
//!
//! [`machine`] is the pure state machine that decides what happens at each slot: it is
//! given the time and the outcome of what it asked for, and answers with [`Action`]s.
//!
//! Defaults, where the JSON says nothing:
//! * daylight saving: a wall time that does not exist (spring gap) runs at the end of the
//!   gap, at the first instant that exists; a wall time that happens twice (autumn
//!   overlap) runs once, at its first occurrence ([`DstPolicy`]);
//! * misfire: Conductor's `runCatchupScheduleInstances: true` reads as
//!   [`MisfirePolicy::RunAll`], otherwise [`MisfirePolicy::Skip`]; the catch-up window is
//!   one day;
//! * overlap: [`OverlapPolicy::AllowAll`], as Conductor's scheduler behaves.
//!
//! ```
//! use baton_core::schedule::{Action, Schedule, ScheduleDef};
//!
//! let def: ScheduleDef = serde_json::from_value(serde_json::json!({
//!     "name": "nightly",
//!     "cronExpression": "0 0 2 * * ?",
//!     "zoneId": "Europe/Berlin",
//!     "startWorkflowRequest": {"name": "etl"}
//! }))
//! .unwrap();
//! let schedule = Schedule::new(def).unwrap();
//! let created = 1_780_000_000_000; // 2026-05-28T20:26:40Z
//! let mut state = schedule.initial_state(created);
//! // Nothing is due yet: the answer is when to look again (02:00 in Berlin).
//! let actions = schedule.tick(&mut state, created);
//! assert_eq!(actions, vec![Action::WakeAt(1_780_012_800_000)]);
//! let actions = schedule.tick(&mut state, 1_780_012_800_000);
//! assert!(matches!(&actions[0], Action::Start { slot_ms: 1_780_012_800_000, .. }));
//! ```

pub mod calendar;
pub mod machine;
mod model;

pub use calendar::{Calendar, CronCache, Preview, Slot, SpecKind};
pub use machine::{
    Action, AlertKind, Counters, Outcome, RunKind, Schedule, ScheduleState, workflow_id,
};
pub use model::{
    AlertWebhook, CronSpec, DstPolicy, Exclusion, GapPolicy, IntervalSpec, MisfirePolicy,
    OverlapPolicy, RepeatPolicy, ScheduleDef, StartWorkflowRequest,
};

/// Most slots a preview returns, whatever limit is asked for.
pub const MAX_PREVIEW: usize = 1000;

/// Most candidate times a preview or a single search examines before giving up.
pub const MAX_SCAN_STEPS: usize = 100_000;

/// Largest jitter a schedule may ask for: one hour.
pub const MAX_JITTER_MS: u64 = 3_600_000;

/// Most parallel shards per slot.
pub const MAX_SHARDS: u32 = 1000;

/// Longest catch-up window: one year.
pub const MAX_CATCHUP_WINDOW_SECONDS: u64 = 366 * 24 * 3600;

/// Catch-up window used when the schedule does not set one: one day.
pub const DEFAULT_CATCHUP_WINDOW_SECONDS: u64 = 24 * 3600;

/// Most runs waiting in the buffer under [`OverlapPolicy::BufferAll`].
pub const MAX_BUFFER: usize = 1000;

/// Longest interval: ten years.
pub const MAX_INTERVAL_SECONDS: u64 = 10 * 366 * 24 * 3600;

#[cfg(test)]
mod calendar_tests;
#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod prop_tests;
