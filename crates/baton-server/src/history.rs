//! The last hour of the server's key figures, for dashboards: every [`SAMPLE_EVERY_MS`] the
//! sampler turns the running counters of [`Stats`] into what happened in that interval
//! (workflows and tasks started and ended, latencies) and adds the queues' state at its
//! end. Samples live in memory only; a restart begins a new hour.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::matching::Dispatcher;
use crate::stats::{Quantiles, Stats, StatsSnapshot};

/// Length of one sample's interval (ms).
pub const SAMPLE_EVERY_MS: i64 = 10_000;

/// Samples kept: one hour.
pub const SAMPLES_KEPT: usize = 360;

/// What happened in one interval, and the queues at its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSample {
    /// End of the interval (epoch ms).
    pub at_ms: i64,
    /// Length of the interval (ms); the first one runs from the server's start.
    pub interval_ms: i64,
    /// Workflows started.
    pub workflows_started: u64,
    /// Workflows that ended COMPLETED.
    pub workflows_completed: u64,
    /// Workflows that ended FAILED or TIMED_OUT.
    pub workflows_failed: u64,
    /// Workflows terminated.
    pub workflows_terminated: u64,
    /// Tasks that ended COMPLETED (or COMPLETED_WITH_ERRORS).
    pub tasks_completed: u64,
    /// Tasks that ended FAILED, FAILED_WITH_TERMINAL_ERROR or TIMED_OUT.
    pub tasks_failed: u64,
    /// Worker tasks' wait from ready to handed out, over the interval.
    pub queue_wait: Quantiles,
    /// Tasks' run time from started to ended, over the interval.
    pub run_time: Quantiles,
    /// Tasks waiting in every ready queue at the end of the interval.
    pub queue_depth: u64,
    /// Stream workers subscribed at the end of the interval (a worker on several task
    /// types counts once per type).
    pub workers: u64,
}

/// Counters a sample is the difference of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    workflows_started: u64,
    workflows_completed: u64,
    workflows_failed: u64,
    workflows_terminated: u64,
    tasks_completed: u64,
    tasks_failed: u64,
}

impl Totals {
    fn of(snap: &StatsSnapshot) -> Self {
        let sum = |pairs: &[(String, u64)], statuses: &[&str]| -> u64 {
            pairs
                .iter()
                .filter(|(s, _)| statuses.contains(&s.as_str()))
                .map(|(_, n)| n)
                .sum()
        };
        Self {
            workflows_started: snap.workflows_started,
            workflows_completed: sum(&snap.workflows_ended, &["COMPLETED"]),
            workflows_failed: sum(&snap.workflows_ended, &["FAILED", "TIMED_OUT"]),
            workflows_terminated: sum(&snap.workflows_ended, &["TERMINATED"]),
            tasks_completed: sum(&snap.tasks_ended, &["COMPLETED", "COMPLETED_WITH_ERRORS"]),
            tasks_failed: sum(
                &snap.tasks_ended,
                &["FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT"],
            ),
        }
    }
}

/// The rolling hour of samples.
pub struct MetricsHistory {
    inner: Mutex<Inner>,
    stopped: AtomicBool,
    wake: Notify,
}

struct Inner {
    samples: VecDeque<MetricsSample>,
    /// When the last interval ended, and the counters then.
    last: (i64, Totals),
}

impl MetricsHistory {
    /// An empty history whose first interval begins at `start_ms` with every counter at 0.
    pub fn new(start_ms: i64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                samples: VecDeque::with_capacity(SAMPLES_KEPT),
                last: (start_ms, Totals::default()),
            }),
            stopped: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    /// Ends the interval at `now_ms`: counts what the counters in `snap` grew by since the
    /// last sample, with the interval's latencies and the queues' state now. The oldest
    /// sample goes once [`SAMPLES_KEPT`] are held.
    pub fn record(
        &self,
        now_ms: i64,
        snap: &StatsSnapshot,
        (queue_wait, run_time): (Quantiles, Quantiles),
        queue_depth: u64,
        workers: u64,
    ) {
        let totals = Totals::of(snap);
        let mut g = self.inner.lock();
        let (since, before) = g.last;
        let sample = MetricsSample {
            at_ms: now_ms,
            interval_ms: (now_ms - since).max(0),
            workflows_started: totals
                .workflows_started
                .saturating_sub(before.workflows_started),
            workflows_completed: totals
                .workflows_completed
                .saturating_sub(before.workflows_completed),
            workflows_failed: totals
                .workflows_failed
                .saturating_sub(before.workflows_failed),
            workflows_terminated: totals
                .workflows_terminated
                .saturating_sub(before.workflows_terminated),
            tasks_completed: totals
                .tasks_completed
                .saturating_sub(before.tasks_completed),
            tasks_failed: totals.tasks_failed.saturating_sub(before.tasks_failed),
            queue_wait,
            run_time,
            queue_depth,
            workers,
        };
        g.last = (now_ms, totals);
        if g.samples.len() == SAMPLES_KEPT {
            g.samples.pop_front();
        }
        g.samples.push_back(sample);
    }

    /// Samples whose interval ended after `since_ms`, oldest first.
    pub fn since(&self, since_ms: i64) -> Vec<MetricsSample> {
        let g = self.inner.lock();
        let first = g.samples.partition_point(|s| s.at_ms <= since_ms);
        g.samples.range(first..).cloned().collect()
    }

    /// Ends the sampler.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Takes a sample every [`SAMPLE_EVERY_MS`] of `clock` until stopped. On a virtual
    /// clock, a sample is taken for each jump that ends an interval.
    pub(crate) async fn run(
        self: Arc<Self>,
        clock: SharedClock,
        stats: Arc<Stats>,
        dispatcher: Arc<Dispatcher>,
    ) {
        while !self.stopped.load(Ordering::SeqCst) {
            let now = clock.now_ms();
            let due = self.inner.lock().last.0 + SAMPLE_EVERY_MS;
            if now >= due {
                let depths = dispatcher.depths();
                let depth = depths.iter().map(|d| d.depth as u64).sum();
                let workers = depths.iter().map(|d| d.subscribers as u64).sum();
                self.record(
                    now,
                    &stats.snapshot(),
                    stats.take_interval(),
                    depth,
                    workers,
                );
                continue;
            }
            let jumped = async {
                match clock.jumps() {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            };
            let wait = Duration::from_millis((due - now) as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = jumped => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(started: u64, ended: &[(&str, u64)], tasks: &[(&str, u64)]) -> StatsSnapshot {
        let pairs = |p: &[(&str, u64)]| p.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        StatsSnapshot {
            workflows_started: started,
            workflows_ended: pairs(ended),
            tasks_ended: pairs(tasks),
            latencies: Vec::new(),
        }
    }

    #[test]
    fn samples_count_what_happened_in_their_interval() {
        let h = MetricsHistory::new(1_000);
        let run = Quantiles {
            count: 3,
            p50_ms: 4,
            p99_ms: 9,
            max_ms: 9,
        };
        h.record(
            11_000,
            &snap(5, &[("COMPLETED", 2)], &[("COMPLETED", 7), ("FAILED", 1)]),
            (Quantiles::default(), run),
            4,
            2,
        );
        h.record(
            21_000,
            &snap(
                9,
                &[("COMPLETED", 3), ("FAILED", 1), ("TERMINATED", 2)],
                &[
                    ("COMPLETED", 10),
                    ("FAILED", 1),
                    ("TIMED_OUT", 2),
                    ("SKIPPED", 5),
                ],
            ),
            Default::default(),
            0,
            1,
        );
        let all = h.since(0);
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[0],
            MetricsSample {
                at_ms: 11_000,
                interval_ms: 10_000,
                workflows_started: 5,
                workflows_completed: 2,
                tasks_completed: 7,
                tasks_failed: 1,
                run_time: run,
                queue_depth: 4,
                workers: 2,
                ..Default::default()
            }
        );
        let second = &all[1];
        assert_eq!(second.workflows_started, 4);
        assert_eq!(second.workflows_completed, 1);
        assert_eq!(second.workflows_failed, 1);
        assert_eq!(second.workflows_terminated, 2);
        assert_eq!(second.tasks_completed, 3);
        assert_eq!(second.tasks_failed, 2);
        assert_eq!(second.run_time, Quantiles::default());
        assert_eq!(h.since(11_000), vec![second.clone()]);
        assert!(h.since(21_000).is_empty());
    }

    #[test]
    fn an_hour_is_kept() {
        let h = MetricsHistory::new(0);
        for i in 1..=(SAMPLES_KEPT as i64 + 5) {
            h.record(
                i * SAMPLE_EVERY_MS,
                &snap(i as u64, &[], &[]),
                Default::default(),
                0,
                0,
            );
        }
        let all = h.since(0);
        assert_eq!(all.len(), SAMPLES_KEPT);
        assert_eq!(all[0].at_ms, 6 * SAMPLE_EVERY_MS);
        assert!(all.iter().all(|s| s.workflows_started == 1));
    }

    #[tokio::test]
    async fn the_sampler_follows_a_virtual_clock() {
        let clock = crate::clock::ManualClock::new(50_000);
        let shared: SharedClock = clock.clone();
        let stats = Arc::new(Stats::new());
        let (router, _rx) = crate::runtime::msg::Router::new(1);
        let dispatcher = Arc::new(Dispatcher::new(
            1,
            router,
            Default::default(),
            shared.clone(),
        ));
        let h = Arc::new(MetricsHistory::new(50_000));
        let task = tokio::spawn(h.clone().run(shared, stats.clone(), dispatcher));
        stats.workflow_started();
        stats.task_ended("t", "COMPLETED", 12);
        // Nothing is sampled before the interval ends, however long the wall takes.
        clock.advance(SAMPLE_EVERY_MS - 1);
        tokio::task::yield_now().await;
        assert!(h.since(0).is_empty());
        clock.advance(1);
        let first = loop {
            if let Some(s) = h.since(0).first().cloned() {
                break s;
            }
            tokio::task::yield_now().await;
        };
        assert_eq!(first.at_ms, 50_000 + SAMPLE_EVERY_MS);
        assert_eq!((first.workflows_started, first.tasks_completed), (1, 1));
        assert_eq!(first.run_time.max_ms, 12);
        h.stop();
        task.await.unwrap();
    }
}
