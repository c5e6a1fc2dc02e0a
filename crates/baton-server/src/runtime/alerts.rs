//! Delivery of schedule alerts to their webhooks, apart from the scheduler.
//!
//! The scheduler queues an alert in the store in the same atomic write as the schedule
//! state that raised it ([`baton_store::ScheduleWrite::alerts`]) and goes on: nothing it
//! does waits for a webhook. This task takes the queued alerts that are due, posts each
//! as JSON (at most [`IN_FLIGHT`] at once) and settles the attempt in one write
//! ([`Store::settle_alert`]):
//!
//! - a 2xx answer delivers it: it leaves the queue, and `ALERT_DELIVERED` joins the
//!   schedule's history;
//! - anything else (no answer, a refused connection, another status) queues it again
//!   after a back-off that grows fourfold from [`FIRST_BACKOFF_MS`] up to
//!   [`MAX_BACKOFF_MS`], with `ALERT_ATTEMPT_FAILED` and the reason in the history;
//! - after [`MAX_ATTEMPTS`] failed attempts it leaves the queue with
//!   `ALERT_UNDELIVERED`.
//!
//! Delivery is at least once: a crash after the POST and before its settle posts it
//! again after the restart. Each POST carries the alert's id (the `alertId` field and the
//! `X-Baton-Alert-Id` header) so that a receiver can drop repeats.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use baton_store::{QueuedAlert, ScheduleHistoryEntry, Store};
use baton_systask::Outcome;
use baton_systask::http::HttpLimits;
use metrics::counter;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::clock::{JumpWatch, SharedClock};
use crate::error::EngineError;
use crate::runtime::registry::blocking;
use crate::telemetry;

/// Attempts made at one alert before it is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// Wait after the first failed attempt (ms); each later wait is four times the one before.
pub const FIRST_BACKOFF_MS: i64 = 1_000;

/// Longest wait between two attempts (ms).
pub const MAX_BACKOFF_MS: i64 = 15 * 60_000;

/// Alerts posted at once.
pub const IN_FLIGHT: usize = 16;

/// Alerts taken per read of the queue.
const PAGE: usize = 64;

/// Time allowed to connect, and then to answer, per attempt.
const CONNECT_TIMEOUT_MS: u64 = 5_000;
const READ_TIMEOUT_MS: u64 = 10_000;

/// Longest wait between passes.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Wait before a pass that could not read or write the store is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The wait after `attempts` failed attempts.
pub fn backoff_ms(attempts: u32) -> i64 {
    let mut wait = FIRST_BACKOFF_MS;
    for _ in 1..attempts {
        wait = wait.saturating_mul(4);
        if wait >= MAX_BACKOFF_MS {
            return MAX_BACKOFF_MS;
        }
    }
    wait.min(MAX_BACKOFF_MS)
}

/// Counts since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertStats {
    /// Passes over the queue.
    pub passes: u64,
    /// Alerts delivered.
    pub delivered: u64,
    /// Attempts that failed and were queued again.
    pub retried: u64,
    /// Alerts given up after their last attempt.
    pub undelivered: u64,
}

#[derive(Default)]
struct Counters {
    passes: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    undelivered: AtomicU64,
}

/// Posts queued alerts; see the module documentation.
pub struct AlertSender {
    store: Arc<dyn Store>,
    clock: SharedClock,
    client: Option<reqwest::Client>,
    poke: Notify,
    stopped: AtomicBool,
    counters: Counters,
}

/// How one attempt went.
enum Attempt {
    Delivered(i64),
    Failed(String),
}

impl AlertSender {
    pub(crate) fn new(store: Arc<dyn Store>, clock: SharedClock) -> Arc<Self> {
        let client = match baton_systask::http::default_client(&limits()) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client: schedule alerts cannot be posted");
                None
            }
        };
        Arc::new(Self {
            store,
            clock,
            client,
            poke: Notify::new(),
            stopped: AtomicBool::new(false),
            counters: Counters::default(),
        })
    }

    /// Counts since the server started.
    pub fn stats(&self) -> AlertStats {
        let c = &self.counters;
        AlertStats {
            passes: c.passes.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            undelivered: c.undelivered.load(Ordering::Relaxed),
        }
    }

    /// Wakes the task: alerts were queued.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Ends the task after the pass under way.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.poke.notify_one();
    }

    /// Runs passes until stopped.
    pub(crate) async fn run(self: Arc<Self>) {
        while !self.stopped.load(Ordering::SeqCst) {
            // Armed before the clock is read, so that a jump in between is not lost.
            let jump = JumpWatch::arm(self.clock.as_ref());
            let wait = match self.pass().await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read or settle schedule alerts");
                    Some(RETRY_AFTER)
                }
            };
            self.counters.passes.fetch_add(1, Ordering::Relaxed);
            let Some(wait) = wait else { continue };
            jump.wait(wait, &self.poke).await;
        }
    }

    /// Posts the alerts due now; answers how long to wait before the next pass (None: go on
    /// at once).
    async fn pass(self: &Arc<Self>) -> Result<Option<Duration>, EngineError> {
        let now = self.clock.now_ms();
        let store = self.store.clone();
        let due = blocking(move || store.alerts_due(now, PAGE)).await?;
        let full = due.len() >= PAGE;
        let gate = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut set = tokio::task::JoinSet::new();
        for alert in due {
            let (me, gate) = (self.clone(), gate.clone());
            set.spawn(async move {
                let _permit = gate.acquire_owned().await;
                me.attempt(alert).await
            });
        }
        let mut failed = None;
        while let Some(done) = set.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed = Some(e),
                Err(e) => failed = Some(EngineError::Storage(format!("alert delivery: {e}"))),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if full {
            return Ok(None);
        }
        let store = self.store.clone();
        Ok(match blocking(move || store.next_alert_due()).await? {
            None => Some(MAX_WAIT),
            Some(at) => {
                let ms = at.saturating_sub(self.clock.now_ms());
                if ms <= 0 {
                    None
                } else {
                    Some(Duration::from_millis(ms as u64).min(MAX_WAIT))
                }
            }
        })
    }

    /// Makes one attempt at `queued` and settles it.
    async fn attempt(&self, mut queued: QueuedAlert) -> Result<(), EngineError> {
        let attempt = queued.alert.attempts + 1;
        let outcome = self.post(&queued, attempt).await;
        let now = self.clock.now_ms();
        let a = &queued.alert;
        let kind = a.body.get("kind").cloned().unwrap_or(Value::Null);
        let slot = a
            .body
            .get("slotTime")
            .and_then(Value::as_i64)
            .or_else(|| a.body.get("raisedTime").and_then(Value::as_i64))
            .unwrap_or(now);
        let alert_id = queued.id.to_string();
        let (retry_at, event, outcome_label) = match outcome {
            Attempt::Delivered(status) => {
                tracing::info!(schedule = %a.schedule, alert_id = %alert_id, attempt,
                    "schedule alert delivered");
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                let event = json!({"type": "ALERT_DELIVERED", "alertId": alert_id,
                    "kind": kind, "attempts": attempt, "status": status});
                (None, event, "DELIVERED")
            }
            Attempt::Failed(reason) if attempt >= MAX_ATTEMPTS => {
                tracing::warn!(schedule = %a.schedule, alert_id = %alert_id, attempt,
                    error = %reason, "schedule alert given up");
                self.counters.undelivered.fetch_add(1, Ordering::Relaxed);
                let event = json!({"type": "ALERT_UNDELIVERED", "alertId": alert_id,
                    "kind": kind, "attempts": attempt, "error": reason});
                (None, event, "UNDELIVERED")
            }
            Attempt::Failed(reason) => {
                let at = now.saturating_add(backoff_ms(attempt));
                tracing::debug!(schedule = %a.schedule, alert_id = %alert_id, attempt,
                    error = %reason, retry_at = at, "schedule alert not delivered; retrying");
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                let event = json!({"type": "ALERT_ATTEMPT_FAILED", "alertId": alert_id,
                    "kind": kind, "attempt": attempt, "error": reason, "retryAt": at});
                (Some(at), event, "RETRIED")
            }
        };
        counter!(telemetry::SCHEDULE_ALERT_DELIVERIES,
            "schedule" => a.schedule.clone(), "outcome" => outcome_label)
        .increment(1);
        let entry = ScheduleHistoryEntry {
            slot_ms: slot,
            seq: 0,
            recorded_ms: now,
            event,
        };
        queued.alert.attempts = attempt;
        let store = self.store.clone();
        blocking(move || {
            store.settle_alert(&queued, retry_at, Some(&entry))?;
            store.flush()?;
            Ok(())
        })
        .await
    }

    /// Posts the alert once.
    async fn post(&self, queued: &QueuedAlert, attempt: u32) -> Attempt {
        let Some(client) = &self.client else {
            return Attempt::Failed("no HTTP client could be built".into());
        };
        let a = &queued.alert;
        let mut body = a.body.clone();
        if let Some(o) = body.as_object_mut() {
            o.insert("alertId".into(), json!(queued.id.to_string()));
            o.insert("attempt".into(), json!(attempt));
        }
        let mut headers = serde_json::Map::new();
        for (k, v) in &a.headers {
            headers.insert(k.clone(), json!(v));
        }
        headers.insert("X-Baton-Alert-Id".into(), json!(queued.id.to_string()));
        let input = json!({
            "uri": a.url,
            "method": "POST",
            "contentType": "application/json",
            "accept": "*/*",
            "headers": headers,
            "body": body,
            "connectionTimeOut": CONNECT_TIMEOUT_MS,
            "readTimeOut": READ_TIMEOUT_MS,
        });
        let Value::Object(input) = input else {
            return Attempt::Failed("malformed request".into());
        };
        match baton_systask::http::call(client, &input, &limits()).await {
            Outcome::Completed(out) | Outcome::InProgress(out) => {
                let status = out
                    .get("response")
                    .and_then(|r| r.get("statusCode"))
                    .and_then(Value::as_i64)
                    .unwrap_or(200);
                Attempt::Delivered(status)
            }
            Outcome::Failed { reason, .. } => Attempt::Failed(reason),
        }
    }
}

/// Limits of alert posts: small bodies come back, and no attempt takes long.
fn limits() -> HttpLimits {
    HttpLimits {
        connect_timeout: Duration::from_millis(CONNECT_TIMEOUT_MS),
        read_timeout: Duration::from_millis(READ_TIMEOUT_MS),
        max_timeout: Duration::from_millis(READ_TIMEOUT_MS),
        max_response_bytes: 1024 * 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_fourfold_and_stops_at_its_cap() {
        let waits: Vec<i64> = (1..=MAX_ATTEMPTS).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [
                1_000, 4_000, 16_000, 64_000, 256_000, 900_000, 900_000, 900_000
            ]
        );
        assert_eq!(backoff_ms(0), FIRST_BACKOFF_MS);
        assert_eq!(backoff_ms(u32::MAX), MAX_BACKOFF_MS);
    }
}
