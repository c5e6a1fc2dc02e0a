//! Counters and recent latencies kept inside the server for the overview (`baton top`),
//! independent of any metrics recorder: the executor feeds them with the same observations
//! it records as metrics, when it releases a stored batch.
//!
//! Counters run from the server's start; a client turns two readings into rates.
//! Latencies are kept per task type in two histograms of [`LATENCY_WINDOW`] each (the
//! current one and the one before), so quantiles cover the last one to two windows.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// How long one latency window lasts; quantiles cover the current and the previous one.
pub const LATENCY_WINDOW: Duration = Duration::from_secs(60);

/// Largest latency a histogram tells apart (one day, in ms); longer ones count as this.
const MAX_TRACKED_MS: u64 = 24 * 3600 * 1000;

/// The server's running counts and latency histograms.
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    workflows_started: u64,
    workflows_ended: BTreeMap<&'static str, u64>,
    tasks_ended: BTreeMap<&'static str, u64>,
    latencies: HashMap<String, TypeLatency>,
    /// Every task type's times since the last [`Stats::take_interval`].
    interval: Option<[Histogram<u64>; 2]>,
}

/// Two windows of one task type's times.
struct TypeLatency {
    since: Instant,
    schedule_to_start: [Histogram<u64>; 2],
    start_to_end: [Histogram<u64>; 2],
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_MS, 2).expect("valid histogram bounds")
}

impl TypeLatency {
    fn new(now: Instant) -> Self {
        Self {
            since: now,
            schedule_to_start: [histogram(), histogram()],
            start_to_end: [histogram(), histogram()],
        }
    }

    /// Starts a new window when the current one is over (index 0 is the current one).
    fn rotate(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.since);
        if age < LATENCY_WINDOW {
            return;
        }
        for pair in [&mut self.schedule_to_start, &mut self.start_to_end] {
            pair.swap(0, 1);
            pair[0].reset();
            // Idle for two windows or more: nothing recent is left.
            if age >= LATENCY_WINDOW * 2 {
                pair[1].reset();
            }
        }
        self.since = now;
    }
}

/// Quantiles of one latency over the recent windows, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quantiles {
    /// Times measured.
    pub count: u64,
    /// Median.
    pub p50_ms: u64,
    /// 99th percentile.
    pub p99_ms: u64,
    /// Longest.
    pub max_ms: u64,
}

impl Quantiles {
    fn of(pair: &[Histogram<u64>; 2]) -> Self {
        let mut h = pair[0].clone();
        // Both have the same bounds, so adding cannot fail.
        let _ = h.add(&pair[1]);
        Self::of_one(&h)
    }

    fn of_one(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            p50_ms: h.value_at_quantile(0.5),
            p99_ms: h.value_at_quantile(0.99),
            max_ms: h.max(),
        }
    }
}

/// Recent latencies of one task type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskLatency {
    /// The task type (task definition name).
    pub task_type: String,
    /// Worker tasks: from ready in their queue to handed out.
    pub schedule_to_start: Quantiles,
    /// From started to ended.
    pub start_to_end: Quantiles,
}

/// A reading of the counters and latencies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Workflows started since the server started.
    pub workflows_started: u64,
    /// Workflows ended since the server started, by final status (sorted by status).
    pub workflows_ended: Vec<(String, u64)>,
    /// Tasks that ended after starting, since the server started, by status.
    pub tasks_ended: Vec<(String, u64)>,
    /// Recent latencies by task type (sorted by task type); types with nothing recent
    /// are left out.
    pub latencies: Vec<TaskLatency>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty counters.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Counts a workflow start.
    pub fn workflow_started(&self) {
        self.inner.lock().workflows_started += 1;
    }

    /// Counts a workflow end with its final status.
    pub fn workflow_ended(&self, status: &'static str) {
        *self.inner.lock().workflows_ended.entry(status).or_default() += 1;
    }

    /// Records a worker task handed out after waiting `waited_ms` since it became ready.
    pub fn handed_out(&self, task_type: &str, waited_ms: i64) {
        let now = Instant::now();
        let mut g = self.inner.lock();
        let l = latency(&mut g, task_type, now);
        l.schedule_to_start[0].saturating_record(clamp_ms(waited_ms));
        interval(&mut g)[0].saturating_record(clamp_ms(waited_ms));
    }

    /// Counts a task that ended with `status` after running `ran_ms`.
    pub fn task_ended(&self, task_type: &str, status: &'static str, ran_ms: i64) {
        let now = Instant::now();
        let mut g = self.inner.lock();
        *g.tasks_ended.entry(status).or_default() += 1;
        let l = latency(&mut g, task_type, now);
        l.start_to_end[0].saturating_record(clamp_ms(ran_ms));
        interval(&mut g)[1].saturating_record(clamp_ms(ran_ms));
    }

    /// Quantiles of every task type's queue waits and run times since the last call
    /// (`(schedule_to_start, start_to_end)`), starting a new interval.
    pub fn take_interval(&self) -> (Quantiles, Quantiles) {
        let taken = self.inner.lock().interval.take();
        match taken {
            Some([wait, run]) => (Quantiles::of_one(&wait), Quantiles::of_one(&run)),
            None => Default::default(),
        }
    }

    /// Reads every counter and the recent quantiles.
    pub fn snapshot(&self) -> StatsSnapshot {
        let now = Instant::now();
        let mut g = self.inner.lock();
        let mut latencies: Vec<TaskLatency> = g
            .latencies
            .iter_mut()
            .filter_map(|(t, l)| {
                l.rotate(now);
                let s = TaskLatency {
                    task_type: t.clone(),
                    schedule_to_start: Quantiles::of(&l.schedule_to_start),
                    start_to_end: Quantiles::of(&l.start_to_end),
                };
                (s.schedule_to_start.count > 0 || s.start_to_end.count > 0).then_some(s)
            })
            .collect();
        latencies.sort_by(|a, b| a.task_type.cmp(&b.task_type));
        let pairs =
            |m: &BTreeMap<&'static str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        StatsSnapshot {
            workflows_started: g.workflows_started,
            workflows_ended: pairs(&g.workflows_ended),
            tasks_ended: pairs(&g.tasks_ended),
            latencies,
        }
    }
}

fn latency<'a>(g: &'a mut Inner, task_type: &str, now: Instant) -> &'a mut TypeLatency {
    if !g.latencies.contains_key(task_type) {
        g.latencies
            .insert(task_type.to_string(), TypeLatency::new(now));
    }
    let l = g.latencies.get_mut(task_type).expect("just inserted");
    l.rotate(now);
    l
}

fn interval(g: &mut Inner) -> &mut [Histogram<u64>; 2] {
    g.interval.get_or_insert_with(|| [histogram(), histogram()])
}

fn clamp_ms(ms: i64) -> u64 {
    (ms.max(0) as u64).clamp(1, MAX_TRACKED_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_quantiles() {
        let s = Stats::new();
        s.workflow_started();
        s.workflow_started();
        s.workflow_ended("FAILED");
        s.workflow_ended("COMPLETED");
        s.workflow_ended("COMPLETED");
        for ms in 1..=100 {
            s.task_ended("t", "COMPLETED", ms);
            s.handed_out("t", 5);
        }
        let snap = s.snapshot();
        assert_eq!(snap.workflows_started, 2);
        assert_eq!(
            snap.workflows_ended,
            vec![("COMPLETED".into(), 2), ("FAILED".into(), 1)]
        );
        assert_eq!(snap.tasks_ended, vec![("COMPLETED".into(), 100)]);
        let l = &snap.latencies[0];
        assert_eq!(l.task_type, "t");
        assert_eq!(l.start_to_end.count, 100);
        assert!((49..=51).contains(&l.start_to_end.p50_ms), "{l:?}");
        assert!((98..=100).contains(&l.start_to_end.p99_ms), "{l:?}");
        assert_eq!(l.schedule_to_start.p50_ms, 5);
        let (wait, run) = s.take_interval();
        assert_eq!((wait.count, wait.p50_ms), (100, 5));
        assert_eq!(run.count, 100);
        assert!((98..=100).contains(&run.p99_ms), "{run:?}");
        // A new interval starts empty.
        assert_eq!(s.take_interval(), Default::default());
        s.task_ended("u", "FAILED", 7);
        assert_eq!(s.take_interval().1.max_ms, 7);
    }

    #[test]
    fn old_windows_are_dropped() {
        let now = Instant::now();
        let mut l = TypeLatency::new(now);
        l.start_to_end[0].saturating_record(10);
        l.rotate(now + LATENCY_WINDOW);
        assert_eq!(Quantiles::of(&l.start_to_end).count, 1);
        l.rotate(now + LATENCY_WINDOW * 4);
        assert_eq!(Quantiles::of(&l.start_to_end).count, 0);
    }
}
