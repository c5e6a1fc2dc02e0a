//! Schedules across SIGKILL: two schedules fire every second (one on a cron with seconds,
//! one on a one-second interval with four shards per slot) while the server is killed
//! with SIGKILL again and again at random moments and restarted on the same data dir.
//! Afterwards every slot from the first after the schedule's creation to the last fired
//! has exactly one run per shard, under the id derived from (schedule, slot, shard), and
//! one STARTED entry per shard in the schedule's history; no other run of the workflow
//! exists; every run completed; and the schedule's counters agree with what was found.
//!
//! Another test saves and pauses hundreds of schedules at once (their writes share store
//! flushes) and kills the server right after the last answer: every acknowledged change
//! is there after the restart.
//!
//! `BATON_SCHEDULE_CRASH_CYCLES` sets the number of kills (10 by default);
//! `BATON_SCHEDULE_CRASH_SEED` replays the random kill delays of an earlier run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::*;
use baton_core::schedule::workflow_id;
use baton_grpc::convert::{ms, struct_to_object, ts};
use baton_proto::v1 as pb;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Kills when the environment does not say.
const DEFAULT_CYCLES: usize = 10;

/// Longest random wait before a kill, once a new slot has fired.
const MAX_KILL_DELAY_MS: u64 = 1500;

/// Every other kill lands within this many µs after a whole second, while the scheduler
/// is likely starting that slot's runs: between a start and the state write that
/// records it is the moment a crash must not turn into a second run or a lost slot.
const SLOT_KILL_SPREAD_US: u64 = 10_000;

/// How long any awaited state may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(120);

/// Slots per history read (each has at most a few entries, well below a page).
const HISTORY_CHUNK_MS: i64 = 100_000;

/// History entries the server keeps per schedule; older ones are trimmed.
const HISTORY_CAP: usize = 1000;

/// One schedule under test.
struct Case {
    schedule: &'static str,
    workflow: &'static str,
    /// None: not sharded.
    shards: Option<u32>,
}

const CASES: [Case; 2] = [
    Case {
        schedule: "crash_cron",
        workflow: "crash_cron_wf",
        shards: None,
    },
    Case {
        schedule: "crash_sharded",
        workflow: "crash_sharded_wf",
        shards: Some(4),
    },
];

impl Case {
    fn definition(&self) -> Value {
        let mut def = json!({
            "name": self.schedule,
            "startWorkflowRequest": {"name": self.workflow, "version": 1,
                                     "input": {"from": "schedule"}},
            "misfirePolicy": "RUN_ALL",
            "catchupWindowSeconds": 3600,
            "overlapPolicy": "ALLOW_ALL",
        });
        match self.shards {
            None => def["cronExpression"] = json!("* * * * * *"),
            Some(n) => {
                def["intervals"] = json!([{"everySeconds": 1}]);
                def["shardTotal"] = json!(n);
            }
        }
        def
    }

    /// Shard indexes of a slot, with the shard argument of [`workflow_id`].
    fn shard_keys(&self) -> Vec<(u32, Option<u32>)> {
        match self.shards {
            None => vec![(0, None)],
            Some(n) => (0..n).map(|i| (i, Some(i))).collect(),
        }
    }
}

/// A small deterministic generator for the kill delays (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

async fn view(ch: &Channel, name: &str) -> pb::ScheduleView {
    schedule_client(ch)
        .get_schedule(pb::GetScheduleRequest { name: name.into() })
        .await
        .expect("get schedule")
        .into_inner()
        .schedule
        .expect("schedule")
}

fn fired(v: &pb::ScheduleView) -> i64 {
    v.counters.as_ref().map_or(0, |c| c.fired)
}

/// Polls `cond` until it holds; panics after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !cond().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A history entry: its slot and event.
struct Entry {
    slot_ms: i64,
    recorded_ms: i64,
    event: Value,
}

/// Every history entry of a schedule about slots in `[from, until]`, read in chunks.
async fn history(ch: &Channel, name: &str, from: i64, until: i64) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut lo = from;
    while lo <= until {
        let hi = (lo + HISTORY_CHUNK_MS - 1).min(until);
        let entries = schedule_client(ch)
            .get_schedule_history(pb::GetScheduleHistoryRequest {
                name: name.into(),
                from_time: Some(ts(lo)),
                until_time: Some(ts(hi)),
                limit: 1000,
            })
            .await
            .expect("history")
            .into_inner()
            .entries;
        assert!(entries.len() < 1000, "a history chunk filled a page");
        out.extend(entries.into_iter().map(|e| Entry {
            slot_ms: e.slot_time.as_ref().map_or(0, ms),
            recorded_ms: e.record_time.as_ref().map_or(0, ms),
            event: Value::Object(e.event.as_ref().map(struct_to_object).unwrap_or_default()),
        }));
        lo = hi + 1;
    }
    out
}

/// Every execution of a workflow the search index holds, once it holds at least `want`
/// of them, all finished.
async fn search_all(ch: &Channel, workflow: &str, want: usize) -> Vec<pb::WorkflowSummary> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let r = WorkflowServiceClient::new(ch.clone())
            .search_workflows(pb::SearchWorkflowsRequest {
                query: format!("workflowType = '{workflow}'"),
                size: Some(5000),
                ..Default::default()
            })
            .await
            .expect("search")
            .into_inner();
        assert!(r.total_hits <= 5000, "more runs than one page holds");
        let finished = r
            .results
            .iter()
            .all(|w| w.status != pb::WorkflowStatus::Running as i32);
        if r.results.len() >= want && finished {
            return r.results;
        }
        assert!(
            Instant::now() < deadline,
            "never: {want} finished runs of {workflow} indexed ({} found)",
            r.results.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What was checked for one schedule.
struct Checked {
    slots: usize,
    runs: usize,
    /// Runs whose start was made before a kill and found again by a replay.
    replayed: usize,
}

/// Checks one schedule after the crashes: see the module documentation.
async fn check(ch: &Channel, case: &Case) -> Checked {
    let v = view(ch, case.schedule).await;
    assert!(v.paused, "{v:?}");
    assert!(v.open_runs.is_empty(), "{v:?}");
    let created = ms(v.create_time.as_ref().expect("create time"));
    let last = ms(v.last_fired_time.as_ref().expect("some slot fired"));
    // Slots are whole seconds; the first is the first after the creation.
    let first = created.div_euclid(1000) * 1000 + 1000;
    assert!(last >= first, "{v:?}");
    assert_eq!(last % 1000, 0, "{v:?}");
    let slots: Vec<i64> = (first..=last).step_by(1000).collect();
    let keys = case.shard_keys();
    let counters = v.counters.expect("counters");

    // The history: per slot, one STARTED entry per shard (with the derived id), or a
    // record saying why not.
    let entries = history(ch, case.schedule, first - 1000, now_ms() + 1000).await;
    // Entries are only added, except by a trim down to the cap: fewer than the cap means
    // none was ever trimmed.
    let trimmed = entries.len() >= HISTORY_CAP;
    let oldest_kept = entries.iter().map(|e| e.slot_ms).min().unwrap_or(first);
    let mut started: BTreeMap<i64, Vec<(u32, String)>> = BTreeMap::new();
    let mut recorded: HashMap<String, i64> = HashMap::new();
    let mut records: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for e in &entries {
        match e.event["type"].as_str() {
            Some("STARTED") => {
                assert_eq!(e.event["kind"], "SCHEDULED", "{}", e.event);
                let shard = e.event["shardIndex"].as_u64().expect("shardIndex") as u32;
                let id = e.event["workflowId"].as_str().expect("workflowId");
                recorded.insert(id.to_string(), e.recorded_ms);
                started
                    .entry(e.slot_ms)
                    .or_default()
                    .push((shard, id.to_string()));
            }
            Some("RECORD") => records.entry(e.slot_ms).or_default().push(e.event.clone()),
            Some("ALERT") => panic!("{}: unexpected alert {}", case.schedule, e.event),
            _ => panic!("{}: unknown history entry {}", case.schedule, e.event),
        }
    }
    for slot in started.keys() {
        assert!(
            (first..=last).contains(slot),
            "{}: a run started for slot {slot}, outside {first}..={last}",
            case.schedule
        );
    }
    let mut missed = 0;
    let mut skipped = 0;
    for &slot in &slots {
        // A trim may have taken some of the oldest kept slot's entries too.
        if trimmed && slot <= oldest_kept {
            continue;
        }
        match (started.get(&slot), records.get(&slot)) {
            (Some(runs), _) => {
                let mut got = runs.clone();
                got.sort();
                let want: Vec<(u32, String)> = keys
                    .iter()
                    .map(|(i, s)| (*i, workflow_id(case.schedule, slot, *s, false)))
                    .collect();
                assert_eq!(
                    got, want,
                    "{}: slot {slot} has one STARTED entry per shard",
                    case.schedule
                );
            }
            (None, Some(recs)) => {
                for r in recs {
                    let reason = r["reason"].as_str().unwrap_or_default();
                    assert!(
                        !reason.is_empty(),
                        "{}: record without a reason: {r}",
                        case.schedule
                    );
                    match r["outcome"].as_str() {
                        Some("MISSED") => missed += 1,
                        Some("SKIPPED_BY_OVERLAP") => skipped += 1,
                        _ => panic!("{}: slot {slot}: unexpected record {r}", case.schedule),
                    }
                }
            }
            (None, None) => panic!(
                "{}: slot {slot} was neither started nor recorded (slots {first}..={last})",
                case.schedule
            ),
        }
    }
    // Every slot in the catch-up window runs under RUN_ALL and ALLOW_ALL.
    assert_eq!(
        (missed, skipped),
        (0, 0),
        "{}: slots recorded as not run: {records:?}",
        case.schedule
    );

    // The runs themselves: each under its derived id, with its slot and shard, completed.
    let mut ids = HashSet::new();
    let mut replayed = 0;
    for &slot in &slots {
        for (index, shard) in &keys {
            let id = workflow_id(case.schedule, slot, *shard, false);
            let w = WorkflowServiceClient::new(ch.clone())
                .get_workflow(pb::GetWorkflowRequest {
                    workflow_id: id.clone(),
                    include_tasks: false,
                })
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: no run for slot {slot} shard {index} ({id}): {e}",
                        case.schedule
                    )
                })
                .into_inner()
                .workflow
                .expect("workflow");
            assert_eq!(
                status(&w),
                pb::WorkflowStatus::Completed,
                "{}: slot {slot} shard {index}: {w:?}",
                case.schedule
            );
            let input = Value::Object(w.input.as_ref().map(struct_to_object).unwrap_or_default());
            assert_eq!(input["_scheduledTime"], json!(slot), "{input}");
            assert_eq!(
                input["_startedByScheduler"],
                json!(case.schedule),
                "{input}"
            );
            if case.shards.is_some() {
                assert_eq!(input["shardIndex"], json!(index), "{input}");
            }
            // A start recorded by the change that made it carries that change's time; one
            // recorded later was found by a replay after a kill lost the first state write.
            if recorded
                .get(&id)
                .is_some_and(|r| Some(*r) != input["_executedTime"].as_i64())
            {
                replayed += 1;
            }
            ids.insert(id);
        }
    }

    // No other run of the workflow exists: no two share a slot and shard.
    let indexed = search_all(ch, case.workflow, ids.len()).await;
    let mut by_slot: HashMap<(i64, i64), Vec<String>> = HashMap::new();
    for w in &indexed {
        let input = Value::Object(w.input.as_ref().map(struct_to_object).unwrap_or_default());
        let slot = input["_scheduledTime"].as_i64().expect("_scheduledTime");
        let shard = input["shardIndex"].as_i64().unwrap_or(0);
        by_slot
            .entry((slot, shard))
            .or_default()
            .push(w.workflow_id.clone());
        assert!(
            ids.contains(&w.workflow_id),
            "{}: run {} (slot {slot}, shard {shard}) is not one of the derived ids",
            case.schedule,
            w.workflow_id
        );
        assert_eq!(
            w.status,
            pb::WorkflowStatus::Completed as i32,
            "{}: {w:?}",
            case.schedule
        );
    }
    let doubles: Vec<_> = by_slot.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        doubles.is_empty(),
        "{}: runs sharing a slot: {doubles:?}",
        case.schedule
    );
    assert_eq!(indexed.len(), ids.len(), "{}", case.schedule);

    // The counters agree.
    let runs = ids.len() as i64;
    assert_eq!(
        counters.fired,
        slots.len() as i64,
        "{}: {counters:?}",
        case.schedule
    );
    assert_eq!(counters.missed, 0, "{}: {counters:?}", case.schedule);
    assert_eq!(
        counters.skipped_by_overlap, 0,
        "{}: {counters:?}",
        case.schedule
    );
    assert_eq!(
        counters.failed_to_start, 0,
        "{}: {counters:?}",
        case.schedule
    );
    assert_eq!(counters.succeeded, runs, "{}: {counters:?}", case.schedule);
    assert_eq!(counters.failed, 0, "{}: {counters:?}", case.schedule);
    assert_eq!(counters.manual + counters.backfilled, 0, "{counters:?}");
    if trimmed {
        println!(
            "{}: history trimmed; slots up to {oldest_kept} checked by their runs only",
            case.schedule
        );
    }
    Checked {
        slots: slots.len(),
        runs: ids.len(),
        replayed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_slot_fires_once_across_sigkills() {
    let cycles: usize = env_or("BATON_SCHEDULE_CRASH_CYCLES", DEFAULT_CYCLES);
    let seed: u64 = env_or("BATON_SCHEDULE_CRASH_SEED", now_ms() as u64 | 1);
    println!("{cycles} cycles, seed {seed} (BATON_SCHEDULE_CRASH_SEED replays it)");
    let mut rng = Rng(seed.max(1));
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();

    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    for case in &CASES {
        register_workflow(&ch, &scheduled_workflow(case.workflow)).await;
        schedule_client(&ch)
            .save_schedule(pb::SaveScheduleRequest {
                definition_json: case.definition().to_string(),
            })
            .await
            .expect("save schedule");
    }

    for cycle in 0..cycles {
        if cycle > 0 {
            server = Server::start(dir.path());
        }
        let ch = server.channel().await;
        // At least one more slot of each schedule fires in this life of the server.
        for case in &CASES {
            let before = fired(&view(&ch, case.schedule).await);
            eventually(
                &format!("{} fires in cycle {cycle}", case.schedule),
                || async { fired(&view(&ch, case.schedule).await) > before },
            )
            .await;
        }
        // Then the kill lands at a random moment of the schedules' work: any moment, or
        // one just after a slot's time.
        if rng.below(2) == 0 {
            let delay = rng.below(MAX_KILL_DELAY_MS + 1);
            tokio::time::sleep(Duration::from_millis(delay)).await;
        } else {
            // Timed to the microsecond: a timer of the runtime would round to the ms.
            let now = now_us();
            let at = now.div_euclid(1_000_000) * 1_000_000
                + 1_000_000
                + rng.below(SLOT_KILL_SPREAD_US) as i64;
            std::thread::sleep(Duration::from_micros((at - now) as u64));
        }
        server.kill9();
    }

    // Last life: the schedules catch up to now, then stop, and their runs end.
    let restarted = now_ms();
    let server = Server::start(dir.path());
    let ch = server.channel().await;
    for case in &CASES {
        eventually(&format!("{} caught up", case.schedule), || async {
            view(&ch, case.schedule)
                .await
                .last_fired_time
                .is_some_and(|t| ms(&t) >= restarted)
        })
        .await;
    }
    for case in &CASES {
        schedule_client(&ch)
            .pause_schedule(pb::PauseScheduleRequest {
                name: case.schedule.into(),
                note: "checking".into(),
            })
            .await
            .expect("pause");
    }
    for case in &CASES {
        eventually(&format!("the runs of {} end", case.schedule), || async {
            let v = view(&ch, case.schedule).await;
            v.open_runs.is_empty() && v.buffered == 0
        })
        .await;
    }

    let mut slots = 0;
    let mut runs = 0;
    let mut replayed = 0;
    for case in &CASES {
        let c = check(&ch, case).await;
        println!(
            "{}: {} slots checked, {} runs ({} found again by a replay after a kill)",
            case.schedule, c.slots, c.runs, c.replayed
        );
        slots += c.slots;
        runs += c.runs;
        replayed += c.replayed;
    }
    println!(
        "{cycles} kill cycles, {slots} slots and {runs} runs checked ({replayed} replayed) \
         in {:.1}s",
        began.elapsed().as_secs_f64()
    );
}

/// Saves and pauses made together share their store flushes; each one acknowledged before
/// a SIGKILL is still there after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_acknowledged_together_survive_sigkill() {
    const SCHEDULES: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let ch = server.channel().await;
    register_workflow(&ch, &scheduled_workflow("acked_wf")).await;
    let name = |i: usize| format!("acked_{i:03}");
    // Once a year: nothing fires while the test runs.
    let saves = (0..SCHEDULES).map(|i| {
        let ch = ch.clone();
        let def = json!({"name": name(i), "cronExpression": "0 0 0 1 1 ?",
                         "startWorkflowRequest": {"name": "acked_wf", "version": 1}});
        tokio::spawn(async move {
            schedule_client(&ch)
                .save_schedule(pb::SaveScheduleRequest {
                    definition_json: def.to_string(),
                })
                .await
                .expect("save schedule");
        })
    });
    for s in saves.collect::<Vec<_>>() {
        s.await.unwrap();
    }
    // Every other one paused, all at once; the kill follows the last answer.
    let pauses = (0..SCHEDULES).step_by(2).map(|i| {
        let ch = ch.clone();
        let n = name(i);
        tokio::spawn(async move {
            schedule_client(&ch)
                .pause_schedule(pb::PauseScheduleRequest {
                    name: n,
                    note: "paused before the kill".into(),
                })
                .await
                .expect("pause schedule");
        })
    });
    for p in pauses.collect::<Vec<_>>() {
        p.await.unwrap();
    }
    server.kill9();

    let server = Server::start(dir.path());
    let ch = server.channel().await;
    for i in 0..SCHEDULES {
        let v = view(&ch, &name(i)).await;
        assert_eq!(
            v.paused,
            i % 2 == 0,
            "{}: paused after the restart",
            name(i)
        );
    }
}
