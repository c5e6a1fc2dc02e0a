//! `baton bench --hold N`: holds N RUNNING workflows in a server, kills it with SIGKILL,
//! restarts it on the same data and port, and measures what holding and recovering them
//! costs: memory while they run, time until the restarted server serves, time until the
//! first task reaches a worker, memory once recovered, and the rate at which the held tasks
//! are then dispatched and completed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::bench::{
    BenchArgs, Child, Shared, call_all, connect, now_ms, register, register_defs, rss_kib,
    spawn_server, spawn_workers, start_one,
};

/// What each held workflow waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HoldKind {
    /// One SIMPLE task that no worker takes until the server has been restarted.
    Task,
    /// One WAIT task of an hour, followed by nothing.
    Wait,
}

impl HoldKind {
    fn name(self) -> &'static str {
        match self {
            HoldKind::Task => "task",
            HoldKind::Wait => "wait",
        }
    }
}

/// Progress is printed each time this many workflows more are started or completed.
const PROGRESS_EVERY: u64 = 100_000;
/// Credits per worker stream unless `--credits` says otherwise.
const HOLD_CREDITS: i32 = 1000;
/// Recovery counts as finished once RSS has not grown for this long.
const SETTLE: Duration = Duration::from_secs(2);
/// Growth below this (KiB) does not count as growth.
const SETTLE_SLACK_KIB: u64 = 1024;
/// How often progress and RSS are read after the restart.
const POLL: Duration = Duration::from_millis(20);
/// Longest wait for the restarted server to serve.
const SERVE_LIMIT: Duration = Duration::from_secs(1800);
/// Longest wait for RSS to settle when nothing is dispatched.
const SETTLE_LIMIT: Duration = Duration::from_secs(600);
/// The drain fails after this long without a completed workflow.
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// Registers the held workflow of `kind`; returns its name.
async fn register_hold(channel: &Channel, kind: HoldKind) -> anyhow::Result<&'static str> {
    match kind {
        HoldKind::Task => {
            let name = "bench_hold_task";
            register(channel, name, 1).await?;
            Ok(name)
        }
        HoldKind::Wait => {
            let name = "bench_hold_wait";
            let wf = json!({
                "name": name, "version": 1, "schemaVersion": 2,
                "tasks": [{"name": "hold", "taskReferenceName": "w0", "type": "WAIT",
                           "inputParameters": {"duration": "1 hours"}}]
            });
            register_defs(channel, &wf).await?;
            Ok(name)
        }
    }
}

/// How the start phase went.
struct Started {
    seconds: f64,
    retries: u64,
}

/// Starts `n` workflows `name` with at most `concurrency` starts in flight, pausing and
/// retrying each start the server refuses with RESOURCE_EXHAUSTED; returns once every start
/// has been acknowledged. Any other refusal ends the run.
async fn start_all(
    channel: &Channel,
    name: &'static str,
    n: u64,
    concurrency: usize,
) -> anyhow::Result<Started> {
    let channel = channel.clone();
    let (seconds, retries) = call_all(n, concurrency, PROGRESS_EVERY, "started", move |i| {
        let mut client = WorkflowServiceClient::new(channel.clone());
        async move { start_one(&mut client, name, i).await.map(|_| ()) }
    })
    .await
    .context("cannot start a held workflow")?;
    Ok(Started { seconds, retries })
}

/// Whether the server at `url` answers the health check (service "") with SERVING; an
/// error when it does not answer.
async fn serving(url: &str) -> anyhow::Result<bool> {
    let ch = Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_secs(1))
        .connect()
        .await?;
    let r = HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(r.into_inner().status == ServingStatus::Serving as i32)
}

/// Polls the health check of `child` at `url` until it answers at all (SERVING or not: the
/// server takes requests while it recovers).
async fn wait_answering(child: &mut Child, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + SERVE_LIMIT;
    loop {
        child
            .check_alive()
            .with_context(|| format!("the restarted server did not come up on {url}"))?;
        // A connection made while the server is still recovering may only be answered once
        // it serves; give it time, then try afresh.
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(5), serving(url)).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the restarted server did not serve within {} s",
                SERVE_LIMIT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Follows the RSS of a process until it stops growing.
struct RssWatch {
    pid: u32,
    since: Instant,
    level: u64,
    grew_at: Instant,
    peak: u64,
    /// RSS (KiB) and time since `since` once settled.
    settled: Option<(u64, Duration)>,
}

impl RssWatch {
    fn new(pid: u32, since: Instant) -> Self {
        let now = Instant::now();
        Self {
            pid,
            since,
            level: 0,
            grew_at: now,
            peak: 0,
            settled: None,
        }
    }

    /// Reads RSS once and returns it; settles when it has not grown for [`SETTLE`].
    fn sample(&mut self) -> Option<u64> {
        let rss = rss_kib(self.pid, "VmRSS:")?;
        self.peak = self.peak.max(rss);
        if rss > self.level + SETTLE_SLACK_KIB {
            self.level = rss;
            self.grew_at = Instant::now();
        } else if self.grew_at.elapsed() >= SETTLE {
            self.settle(rss);
        }
        Some(rss)
    }

    /// Takes `rss` as the recovered figure now (unless already settled).
    fn settle(&mut self, rss: u64) {
        if self.settled.is_none() {
            self.settled = Some((rss, self.since.elapsed()));
        }
    }
}

/// What the restarted server did.
#[derive(Default)]
struct Recovery {
    first_dispatch: Option<Duration>,
    all_done: Option<Duration>,
    dispatched: u64,
    completed_workflows: u64,
    dispatch_seconds: Option<f64>,
    dispatch_rate: Option<f64>,
}

/// Opens worker streams on the restarted server and completes every held task, following
/// RSS meanwhile; recovery counts as finished when RSS settles or every task has been
/// dispatched, whichever comes first.
async fn drain(
    args: &BenchArgs,
    child: &mut Child,
    url: &str,
    n: u64,
    spawned: Instant,
    watch: &mut RssWatch,
) -> anyhow::Result<Recovery> {
    let shared = Arc::new(Shared::default());
    let credits = args.credits.unwrap_or(HOLD_CREDITS);
    let workers =
        spawn_workers(url, args.workers.max(1), credits, args.batch, "t0", &shared).await?;
    let mut last = 0;
    let mut last_change = Instant::now();
    let result = loop {
        let rss = watch.sample();
        if let Some(rss) = rss
            && shared.received_tasks.load(Ordering::Relaxed) >= n
        {
            watch.settle(rss);
        }
        let done = shared.completed_workflows.load(Ordering::Relaxed);
        if done >= n {
            break Ok(spawned.elapsed());
        }
        if done / PROGRESS_EVERY != last / PROGRESS_EVERY {
            eprintln!(
                "completed {done}/{n} at {:.1} s after restart",
                spawned.elapsed().as_secs_f64()
            );
        }
        if done != last {
            last = done;
            last_change = Instant::now();
        } else if last_change.elapsed() > STALL_LIMIT {
            break Err(anyhow::anyhow!(
                "stalled: {done} of {n} held workflows completed, none in {} s",
                STALL_LIMIT.as_secs()
            ));
        }
        if let Err(e) = child.check_alive() {
            break Err(e);
        }
        if workers.iter().any(|h| h.is_finished()) {
            break Err(anyhow::anyhow!(
                "a worker stream ended before the drain did"
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    for h in &workers {
        h.abort();
    }
    let all_done = result?;
    let first = shared.first_task.get().map(|t| t.duration_since(spawned));
    let completed = shared.completed_tasks.load(Ordering::Relaxed);
    let seconds = first.map(|f| (all_done - f).as_secs_f64());
    Ok(Recovery {
        first_dispatch: first,
        all_done: Some(all_done),
        dispatched: shared.received_tasks.load(Ordering::Relaxed),
        completed_workflows: shared.completed_workflows.load(Ordering::Relaxed),
        dispatch_seconds: seconds,
        dispatch_rate: seconds.map(|s| completed as f64 / s.max(1e-6)),
    })
}

/// Follows RSS until it settles (or [`SETTLE_LIMIT`] passes).
async fn settle(child: &mut Child, watch: &mut RssWatch) -> anyhow::Result<()> {
    let deadline = Instant::now() + SETTLE_LIMIT;
    while watch.settled.is_none() && Instant::now() < deadline {
        child.check_alive()?;
        watch.sample();
        tokio::time::sleep(POLL).await;
    }
    Ok(())
}

fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|k| k as f64 / 1024.0)
}

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1000.0)
}

/// Runs `baton bench --hold n`.
pub(crate) async fn run(args: &BenchArgs, n: u64) -> anyhow::Result<()> {
    if n == 0 {
        bail!("--hold must be at least 1");
    }
    let kind = args.hold_kind;
    let bin = args.server_bin()?;
    // Declared first, so dropped last: after both children are gone.
    let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;

    let mut first = spawn_server(
        &bin,
        dir.path(),
        "127.0.0.1:0",
        args.partitions,
        &args.server_args,
    )?;
    let url = first.url(Duration::from_secs(30)).await?;
    let channel = connect(&url).await?;
    let name = register_hold(&channel, kind).await?;
    eprintln!(
        "holding   {n} workflows ({}) on {}",
        kind.name(),
        bin.display()
    );
    let started = start_all(&channel, name, n, args.concurrency).await?;
    let rss_running = rss_kib(first.pid, "VmRSS:");
    let hwm_running = rss_kib(first.pid, "VmHWM:");
    drop(channel);
    first.kill9().await?;

    // Same data, same port: the health check can be asked before the server says it listens.
    let listen = url.trim_start_matches("http://").to_string();
    let spawned = Instant::now();
    let mut second = spawn_server(
        &bin,
        dir.path(),
        &listen,
        args.partitions,
        &args.server_args,
    )?;
    wait_answering(&mut second, &url).await?;
    let serve = spawned.elapsed();
    // Workers connect at once; when recovery finishes (health SERVING) is noted beside.
    let ready_at = Arc::new(std::sync::OnceLock::new());
    let ready_watch = {
        let (url, ready_at) = (url.clone(), ready_at.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(Ok(true)) =
                    tokio::time::timeout(Duration::from_secs(5), serving(&url)).await
                {
                    let _ = ready_at.set(spawned.elapsed());
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut watch = RssWatch::new(second.pid, spawned);
    let recovery = match kind {
        HoldKind::Task => drain(args, &mut second, &url, n, spawned, &mut watch).await?,
        HoldKind::Wait => {
            settle(&mut second, &mut watch).await?;
            Recovery::default()
        }
    };
    watch.sample();
    ready_watch.abort();
    let hwm_after = rss_kib(second.pid, "VmHWM:");
    let rss_end = rss_kib(second.pid, "VmRSS:");
    second.kill9().await?;

    let (rss_recovered, recovered_at) = match watch.settled {
        Some((k, at)) => (Some(k), Some(at)),
        None => (None, None),
    };
    let report = json!({
        "mode": "hold",
        "kind": kind.name(),
        "hold": n,
        "partitions": args.partitions,
        "server_bin": bin.display().to_string(),
        "workers": if kind == HoldKind::Task { json!(args.workers.max(1)) } else { Value::Null },
        "start_seconds": started.seconds,
        "starts_per_second": n as f64 / started.seconds.max(1e-6),
        "start_retries": started.retries,
        "rss_running_mib": mib(rss_running),
        "hwm_running_mib": mib(hwm_running),
        "serve_ms": ms(Some(serve)),
        "ready_ms": ms(ready_at.get().copied()),
        "first_dispatch_ms": ms(recovery.first_dispatch),
        "rss_recovered_mib": mib(rss_recovered),
        "recovered_ms": ms(recovered_at),
        "rss_peak_after_restart_mib": mib(Some(watch.peak).filter(|p| *p > 0)),
        "hwm_after_restart_mib": mib(hwm_after),
        "rss_end_mib": mib(rss_end),
        "dispatched": recovery.dispatched,
        "completed_workflows": recovery.completed_workflows,
        "all_done_ms": ms(recovery.all_done),
        "dispatch_seconds": recovery.dispatch_seconds,
        "dispatch_rate": recovery.dispatch_rate,
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
        Some(v) => format!("{v:.1} {unit}"),
        None => "-".to_string(),
    };
    println!(
        "held          {} workflows waiting on {}, {} partition(s), server {}",
        r["hold"],
        if r["kind"] == "task" {
            "a worker task"
        } else {
            "a 1-hour WAIT"
        },
        r["partitions"],
        r["server_bin"].as_str().unwrap_or("?")
    );
    println!(
        "started       in {:.1} s ({:.0}/s, {} retried after RESOURCE_EXHAUSTED)",
        f("start_seconds").unwrap_or(0.0),
        f("starts_per_second").unwrap_or(0.0),
        r["start_retries"]
    );
    println!(
        "rss running   {} (hwm {})",
        show(f("rss_running_mib"), "MiB"),
        show(f("hwm_running_mib"), "MiB")
    );
    println!(
        "serve         {} after restart (kill -9); recovered (SERVING) at {}",
        show(f("serve_ms"), "ms"),
        show(f("ready_ms"), "ms")
    );
    if r["kind"] == "task" {
        println!(
            "first task    {} after restart",
            show(f("first_dispatch_ms"), "ms")
        );
    }
    println!(
        "rss recovered {} at {} after restart (peak {})",
        show(f("rss_recovered_mib"), "MiB"),
        show(f("recovered_ms"), "ms"),
        show(f("rss_peak_after_restart_mib"), "MiB")
    );
    if r["kind"] == "task" {
        println!(
            "dispatch      {}/{} in {}: {} tasks/s",
            r["completed_workflows"],
            r["hold"],
            show(f("dispatch_seconds"), "s"),
            f("dispatch_rate").map_or("-".to_string(), |v| format!("{v:.0}"))
        );
    }
}
