//! `baton bench --schedules N`: creates N schedules in a server, each starting a workflow
//! that finishes inside the engine (one SET_VARIABLE task, no worker) every minute, spread
//! over the minute by a jitter of [`JITTER_MS`], and measures `--minutes` whole minutes of
//! firing: the fire lag (the start of each scheduled run minus its slot plus its jitter,
//! from the server's `baton_schedule_fire_lag_seconds` histogram), the slots fired against
//! those expected, the slots missed, and the server's CPU time and memory.
//!
//! The measured window runs from [`MARGIN`] before a minute boundary to the same point
//! `--minutes` later. Every slot fires within [`JITTER_MS`] of its minute, so the window's
//! edges fall where no slot is due: a run that starts less than [`MARGIN`] late is counted
//! in the window of its slot. A slot handled more than the misfire threshold (5 s) late is
//! missed, not started, so it is not in the histogram: the report counts those apart, and
//! gives a p99 that counts them as never started. Creating the schedules comes before the window and is
//! reported on its own.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_proto::v1 as pb;
use baton_proto::v1::schedule_service_client::ScheduleServiceClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

use crate::bench::{
    BenchArgs, call_all, connect, cpu_seconds, now_ms, register_defs, rss_kib, spawn_server,
};

/// The workflow each schedule starts.
const WORKFLOW: &str = "bench_schedule_wf";
/// Schedules created per second that the first slot's allowance counts on.
const CREATE_ALLOWANCE_PER_S: i64 = 1000;

/// Every schedule's cron: second 0 of every minute.
const CRON: &str = "0 * * * * *";
/// Each slot fires up to this late (the same delay on every replay), spreading the
/// schedules over the minute and leaving the last [`MARGIN`] of it free.
const JITTER_MS: u64 = 55_000;
/// How far before a minute boundary the window opens and closes.
const MARGIN: Duration = Duration::from_millis(2_500);
/// Progress is printed each time this many more schedules are created.
const PROGRESS_EVERY: u64 = 10_000;
/// How often RSS is sampled during the window.
const RSS_EVERY: Duration = Duration::from_secs(1);

/// Registers [`WORKFLOW`]: one SET_VARIABLE task, which the engine completes itself.
async fn register_workflow(channel: &Channel) -> anyhow::Result<()> {
    let wf = json!({
        "name": WORKFLOW, "version": 1, "schemaVersion": 2,
        "tasks": [{"name": "mark", "taskReferenceName": "mark", "type": "SET_VARIABLE",
                   "inputParameters": {"fired": "${workflow.input._scheduledTime}"}}]
    });
    register_defs(channel, &wf).await
}

/// The definition of schedule `i`, with no slot before `first_slot_ms`.
fn schedule_def(i: u64, first_slot_ms: i64) -> Value {
    json!({
        "name": format!("bench_s{i:07}"),
        "cronExpression": CRON,
        "scheduleStartTime": first_slot_ms,
        "jitterMs": JITTER_MS,
        "overlapPolicy": "ALLOW_ALL",
        "startWorkflowRequest": {"name": WORKFLOW, "version": 1},
    })
}

/// Creates schedules `0..n` with at most `concurrency` saves in flight, retrying those
/// refused with RESOURCE_EXHAUSTED; answers the seconds taken and the retries.
async fn create_all(
    channel: &Channel,
    n: u64,
    concurrency: usize,
    first_slot_ms: i64,
) -> anyhow::Result<(f64, u64)> {
    let channel = channel.clone();
    call_all(n, concurrency, PROGRESS_EVERY, "created", move |i| {
        let mut client = ScheduleServiceClient::new(channel.clone());
        let definition_json = schedule_def(i, first_slot_ms).to_string();
        async move {
            client
                .save_schedule(pb::SaveScheduleRequest { definition_json })
                .await
                .map(|_| ())
        }
    })
    .await
    .context("cannot create a schedule")
}

/// What one scrape of `/metrics` says about the schedules.
#[derive(Debug, Default, Clone)]
struct Scrape {
    /// Cumulative counts of the fire-lag histogram: (upper bound in seconds, count).
    buckets: Vec<(f64, u64)>,
    /// Observations of the fire lag.
    count: u64,
    /// Their sum (seconds).
    sum: f64,
    /// `baton_schedule_outcomes_total`, summed over schedules: STARTED and MISSED.
    started: u64,
    missed: u64,
}

/// The value after the last space of a sample line.
fn sample_value(line: &str) -> Option<f64> {
    line.rsplit(' ').next()?.parse().ok()
}

/// Reads the fire-lag histogram and the outcome counters of the server at `base`.
async fn scrape(http: &reqwest::Client, base: &str) -> anyhow::Result<Scrape> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .context("cannot scrape /metrics")?
        .error_for_status()?
        .text()
        .await?;
    let mut s = Scrape::default();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("baton_schedule_fire_lag_seconds_bucket{le=\"") {
            let Some((le, _)) = rest.split_once('"') else {
                continue;
            };
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::INFINITY)
            };
            s.buckets
                .push((bound, sample_value(line).unwrap_or(0.0) as u64));
        } else if line.starts_with("baton_schedule_fire_lag_seconds_count") {
            s.count = sample_value(line).unwrap_or(0.0) as u64;
        } else if line.starts_with("baton_schedule_fire_lag_seconds_sum") {
            s.sum = sample_value(line).unwrap_or(0.0);
        } else if line.starts_with("baton_schedule_outcomes_total{") {
            let v = sample_value(line).unwrap_or(0.0) as u64;
            if line.contains("outcome=\"STARTED\"") {
                s.started += v;
            } else if line.contains("outcome=\"MISSED\"") {
                s.missed += v;
            }
        }
    }
    s.buckets
        .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    Ok(s)
}

/// The histogram of what was observed between two scrapes: (upper bound, count in the
/// bucket alone).
fn window_buckets(before: &Scrape, after: &Scrape) -> Vec<(f64, u64)> {
    let mut prev = 0;
    after
        .buckets
        .iter()
        .map(|&(bound, cum)| {
            let old = before
                .buckets
                .iter()
                .find(|b| b.0 == bound)
                .map_or(0, |b| b.1);
            let c = cum.saturating_sub(old);
            let own = c.saturating_sub(prev);
            prev = c;
            (bound, own)
        })
        .collect()
}

/// The `q` quantile of a bucketed histogram, interpolated linearly inside its bucket (as
/// Prometheus' `histogram_quantile` does), and the bucket's upper bound.
fn quantile(buckets: &[(f64, u64)], q: f64) -> Option<(f64, f64)> {
    let total: u64 = buckets.iter().map(|b| b.1).sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0u64;
    let mut lower = 0.0;
    for &(bound, c) in buckets {
        if c > 0 && (seen + c) as f64 >= rank {
            if bound.is_infinite() {
                return Some((lower, bound));
            }
            let inside = (rank - seen as f64) / c as f64;
            return Some((lower + (bound - lower) * inside.clamp(0.0, 1.0), bound));
        }
        seen += c;
        if !bound.is_infinite() {
            lower = bound;
        }
    }
    None
}

/// Waits until wall-clock time `at_ms` (epoch ms).
async fn until(at_ms: i64) {
    let ms = at_ms.saturating_sub(now_ms());
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms as u64)).await;
    }
}

fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 / 1024.0)
}

/// Runs `baton bench --schedules n`.
pub(crate) async fn run(args: &BenchArgs, n: u64) -> anyhow::Result<()> {
    if n == 0 {
        bail!("--schedules must be at least 1");
    }
    let minutes = args.minutes.max(1);
    let bin = args.server_bin()?;
    // Declared first, so dropped last: after the child is gone.
    let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let mut server = spawn_server(
        &bin,
        dir.path(),
        "127.0.0.1:0",
        args.partitions,
        &args.server_args,
    )?;
    let url = server.url(Duration::from_secs(30)).await?;
    let channel = connect(&url).await?;
    let http = crate::bench_http::client()?;
    register_workflow(&channel).await?;
    eprintln!(
        "creating  {n} schedules ({CRON}, jitter {} s) on {}",
        JITTER_MS / 1000,
        bin.display()
    );
    // No slot fires while the schedules are being created (a backlog made then would be
    // measured as lag): the first is a minute boundary after a generous allowance for
    // the creation (a thousand schedules a second, and at least a minute).
    let minute = 60_000i64;
    let allowance = (n as i64)
        .saturating_mul(1000 / CREATE_ALLOWANCE_PER_S)
        .max(minute);
    let first_slot_ms = (now_ms() + allowance + minute - 1) / minute * minute;
    let (create_seconds, create_retries) =
        create_all(&channel, n, args.concurrency, first_slot_ms).await?;
    let rss_created = rss_kib(server.pid, "VmRSS:");
    if now_ms() > first_slot_ms {
        eprintln!(
            "warning: creating the schedules took longer than allowed; slots fired meanwhile"
        );
    }

    // The window opens MARGIN before the first minute boundary at least 2 margins away,
    // and not before the first slot.
    let margin = MARGIN.as_millis() as i64;
    let earliest = (now_ms() + 2 * margin).max(first_slot_ms - margin);
    let boundary = (earliest + margin + minute - 1) / minute * minute;
    let open_ms = boundary - margin;
    let close_ms = open_ms + minutes as i64 * minute;
    eprintln!(
        "created   in {create_seconds:.1} s; measuring {minutes} min from {:.1} s from now",
        (open_ms - now_ms()) as f64 / 1000.0
    );
    until(open_ms).await;
    server.check_alive()?;
    let before = scrape(&http, &url).await?;
    let cpu_before = cpu_seconds(server.pid).context("cannot read the server's CPU time")?;
    let opened = Instant::now();
    let (mut rss_min, mut rss_max) = (u64::MAX, 0u64);
    loop {
        if let Some(r) = rss_kib(server.pid, "VmRSS:") {
            rss_min = rss_min.min(r);
            rss_max = rss_max.max(r);
        }
        server.check_alive()?;
        let left = close_ms - now_ms();
        if left <= 0 {
            break;
        }
        tokio::time::sleep(RSS_EVERY.min(Duration::from_millis(left as u64))).await;
    }
    let cpu_after = cpu_seconds(server.pid).context("cannot read the server's CPU time")?;
    let measured = opened.elapsed().as_secs_f64();
    let after = scrape(&http, &url).await?;
    let hwm = rss_kib(server.pid, "VmHWM:");
    drop(channel);
    server.kill9().await?;

    let buckets = window_buckets(&before, &after);
    let fired = after.count.saturating_sub(before.count);
    let expected = n * minutes;
    let q = |p: f64| quantile(&buckets, p);
    let max_bound = buckets.iter().rev().find(|b| b.1 > 0).map(|b| b.0);
    // A missed slot never starts, so it is not in the histogram: counted as infinitely late.
    let missed = after.missed.saturating_sub(before.missed);
    let mut with_missed = buckets.clone();
    if let Some(last) = with_missed.last_mut() {
        last.1 += missed;
    }
    let cpu = cpu_after - cpu_before;
    let report = json!({
        "mode": "schedules",
        "schedules": n,
        "minutes": minutes,
        "cron": CRON,
        "jitter_ms": JITTER_MS,
        "partitions": args.partitions,
        "server_bin": bin.display().to_string(),
        "create_seconds": create_seconds,
        "creates_per_second": n as f64 / create_seconds.max(1e-6),
        "create_retries": create_retries,
        "rss_after_create_mib": mib(rss_created),
        "window_seconds": measured,
        "expected_slots": expected,
        "fired_slots": fired,
        "started_runs": after.started.saturating_sub(before.started),
        "missed_slots": missed,
        "fire_lag_mean_s": (fired > 0).then(|| (after.sum - before.sum) / fired as f64),
        "fire_lag_p50_s": q(0.50).map(|v| v.0),
        "fire_lag_p90_s": q(0.90).map(|v| v.0),
        "fire_lag_p99_s": q(0.99).map(|v| v.0),
        "fire_lag_p99_bucket_s": q(0.99).map(|v| v.1),
        "fire_lag_max_bucket_s": max_bound,
        "fire_lag_p99_counting_missed_s": quantile(&with_missed, 0.99).map(|v| v.0),
        "fire_lag_buckets": buckets.iter().map(|(b, c)| json!([if b.is_infinite() { json!("+Inf") } else { json!(b) }, c])).collect::<Vec<_>>(),
        "cpu_seconds": cpu,
        "cpu_seconds_per_minute": cpu / (measured / 60.0).max(1e-6),
        "rss_min_mib": mib(Some(rss_min).filter(|r| *r != u64::MAX)),
        "rss_max_mib": mib(Some(rss_max).filter(|r| *r > 0)),
        "hwm_mib": mib(hwm),
        "at_ms": now_ms(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    drop(dir);
    Ok(())
}

fn print_report(r: &Value) {
    let f = |k: &str| r[k].as_f64();
    let show = |v: Option<f64>, unit: &str| match v {
        Some(v) => format!("{v:.3} {unit}"),
        None => "-".to_string(),
    };
    println!(
        "schedules     {} firing every minute ({}, jitter {} ms), server {}",
        r["schedules"],
        r["cron"].as_str().unwrap_or("?"),
        r["jitter_ms"],
        r["server_bin"].as_str().unwrap_or("?")
    );
    println!(
        "created       in {:.1} s ({:.0}/s, {} retried after RESOURCE_EXHAUSTED), rss {}",
        f("create_seconds").unwrap_or(0.0),
        f("creates_per_second").unwrap_or(0.0),
        r["create_retries"],
        show(f("rss_after_create_mib"), "MiB")
    );
    println!(
        "window        {:.1} s: {} slots fired of {} expected, {} missed",
        f("window_seconds").unwrap_or(0.0),
        r["fired_slots"],
        r["expected_slots"],
        r["missed_slots"]
    );
    println!(
        "fire lag      p50 {}  p90 {}  p99 {} (bucket <= {})  max <= {}  mean {}",
        show(f("fire_lag_p50_s"), "s"),
        show(f("fire_lag_p90_s"), "s"),
        show(f("fire_lag_p99_s"), "s"),
        show(f("fire_lag_p99_bucket_s"), "s"),
        show(f("fire_lag_max_bucket_s"), "s"),
        show(f("fire_lag_mean_s"), "s")
    );
    println!(
        "with missed   p99 {} (a missed slot counts as never started)",
        show(f("fire_lag_p99_counting_missed_s"), "s")
    );
    println!(
        "server cpu    {:.1} s per minute ({:.1} s in the window)",
        f("cpu_seconds_per_minute").unwrap_or(0.0),
        f("cpu_seconds").unwrap_or(0.0)
    );
    println!(
        "server rss    {} .. {} (hwm {})",
        show(f("rss_min_mib"), "MiB"),
        show(f("rss_max_mib"), "MiB"),
        show(f("hwm_mib"), "MiB")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        let b = vec![(0.1, 50), (0.2, 40), (1.0, 10), (f64::INFINITY, 0)];
        let (p50, bound) = quantile(&b, 0.5).expect("some");
        assert!((p50 - 0.1).abs() < 1e-9 && bound == 0.1);
        let (p99, bound) = quantile(&b, 0.99).expect("some");
        assert!((p99 - 0.92).abs() < 1e-9 && bound == 1.0);
        assert!(quantile(&[(1.0, 0)], 0.5).is_none());
    }

    #[test]
    fn window_buckets_subtract_the_first_scrape() {
        let before = Scrape {
            buckets: vec![(0.1, 5), (1.0, 7), (f64::INFINITY, 7)],
            ..Scrape::default()
        };
        let after = Scrape {
            buckets: vec![(0.1, 15), (1.0, 27), (f64::INFINITY, 28)],
            ..Scrape::default()
        };
        assert_eq!(
            window_buckets(&before, &after),
            vec![(0.1, 10), (1.0, 10), (f64::INFINITY, 1)]
        );
    }
}
