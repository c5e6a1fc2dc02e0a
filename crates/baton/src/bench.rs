//! `baton bench`: drives workflows of SIMPLE tasks through a real server with Rust workers
//! on the worker stream, and reports throughput, dispatch latency, end-to-end latency and
//! server memory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use baton_grpc::convert::object_to_struct;
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use clap::Args;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::sync::Mutex;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// Options of `baton bench`.
#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Target a running server instead of starting one.
    #[arg(long)]
    server: Option<String>,
    /// Workflows to run.
    #[arg(long, default_value_t = 20_000)]
    workflows: u64,
    /// SIMPLE tasks per workflow.
    #[arg(long, default_value_t = 3)]
    tasks: usize,
    /// Start rate in workflows per second; 0 runs flat out.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Worker streams.
    #[arg(long, default_value_t = 4)]
    pub(crate) workers: usize,
    /// Credits (tasks held at once) per worker stream [default: 512; 1000 with --hold].
    #[arg(long)]
    pub(crate) credits: Option<i32>,
    /// Start requests in flight at once when running flat out (with --hold: starts; with
    /// --schedules: schedule creations).
    #[arg(long, default_value_t = 512)]
    pub(crate) concurrency: usize,
    /// Run one workflow of this many sequential tasks with one worker instead, and report
    /// the time per task.
    #[arg(long)]
    sequential: Option<usize>,
    /// Executor partitions of the started server.
    #[arg(long, default_value_t = 2)]
    pub(crate) partitions: usize,
    /// Server binary to start as the child instead of this executable (to compare builds).
    #[arg(long, value_name = "PATH", conflicts_with = "server")]
    server_bin: Option<PathBuf>,
    /// Start this many workflows that stay RUNNING, kill -9 the server, restart it on the
    /// same data and measure memory, time to serve and dispatch after recovery.
    #[arg(long, value_name = "N", conflicts_with_all = ["server", "sequential"])]
    pub(crate) hold: Option<u64>,
    /// What each held workflow waits on (with --hold).
    #[arg(long, value_enum, default_value_t = crate::bench_hold::HoldKind::Task, requires = "hold")]
    pub(crate) hold_kind: crate::bench_hold::HoldKind,
    /// Create this many schedules, each firing a workflow that finishes in the engine every
    /// minute (spread over the minute by jitter), let them fire for `--minutes` and measure
    /// the fire lag, the slots fired and missed, and the server's CPU and memory.
    #[arg(long, value_name = "N", conflicts_with_all = ["server", "sequential", "hold"])]
    pub(crate) schedules: Option<u64>,
    /// Minutes of firing measured (with --schedules).
    #[arg(long, default_value_t = 3, requires = "schedules")]
    pub(crate) minutes: u64,
    /// Worker streams subscribe with `batch` (tasks and acknowledgements in batches) and
    /// report the results of each message they receive in one `ResultBatch`.
    #[arg(long)]
    pub(crate) batch: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// A flag for the started server, such as `--server-arg=--retention-max-age=60s`;
    /// repeat for several.
    #[arg(
        long = "server-arg",
        value_name = "ARG",
        allow_hyphen_values = true,
        conflicts_with = "server"
    )]
    pub(crate) server_args: Vec<String>,
    /// Every this many seconds, record the size of the started server's data directory
    /// (store and search index) with the workflows completed so far: the disk use of a
    /// long run, for retention.
    #[arg(long, value_name = "SECS", conflicts_with = "server")]
    pub(crate) disk_every: Option<u64>,
    /// How the workload reaches the server: gRPC (starts, and workers on the worker
    /// stream) or HTTP (starts with POST /api/workflow, workers that batch-poll and report
    /// with update-v2; `--credits` is then each worker's batch size, 32 by default).
    #[arg(long, value_enum, default_value_t = Protocol::Grpc, conflicts_with_all = ["hold", "schedules"])]
    protocol: Protocol,
}

/// The API a benchmark drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// The gRPC services and the worker stream.
    Grpc,
    /// Conductor's REST API.
    Http,
}

impl BenchArgs {
    /// The server binary to start: `--server-bin`, or this executable.
    pub(crate) fn server_bin(&self) -> anyhow::Result<PathBuf> {
        match &self.server_bin {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe().context("cannot find the baton executable"),
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// A server child process started for the run.
pub(crate) struct Child {
    child: tokio::process::Child,
    /// Process id, for reading its memory and CPU time.
    pub(crate) pid: u32,
    /// Resolves to the first line the server prints (its address, once it listens).
    listening: Option<oneshot::Receiver<String>>,
    _dir: Option<tempfile::TempDir>,
}

impl Child {
    /// Waits (up to `limit`) for the server to print its address; returns it as a URL.
    pub(crate) async fn url(&mut self, limit: Duration) -> anyhow::Result<String> {
        let rx = self
            .listening
            .take()
            .context("server address already read")?;
        let line = tokio::time::timeout(limit, rx)
            .await
            .with_context(|| format!("server did not start in {} s", limit.as_secs()))?
            .context("server exited before listening")?;
        let addr = line
            .strip_prefix("baton server listening on ")
            .with_context(|| format!("unexpected server output: {line}"))?;
        Ok(format!("http://{}", addr.trim()))
    }

    /// An error if the server has exited.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("server exited: {status}"),
            None => Ok(()),
        }
    }

    /// SIGKILL, and waits for the process to end.
    pub(crate) async fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.start_kill().context("cannot kill the server")?;
        self.child.wait().await.context("cannot reap the server")?;
        Ok(())
    }
}

/// Starts `bin server` on `data_dir`, listening on `listen`. The first line the server
/// prints (its address) arrives through [`Child::url`]; later output is drained.
pub(crate) fn spawn_server(
    bin: &Path,
    data_dir: &Path,
    listen: &str,
    partitions: usize,
    extra: &[String],
) -> anyhow::Result<Child> {
    let mut child = tokio::process::Command::new(bin)
        .arg("server")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg(listen)
        .arg("--partitions")
        .arg(partitions.to_string())
        .args(extra)
        .env("BATON_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {} server", bin.display()))?;
    let pid = child.id().unwrap_or(0);
    let stdout = child.stdout.take().context("no server stdout")?;
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        if let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    Ok(Child {
        child,
        pid,
        listening: Some(rx),
        _dir: None,
    })
}

/// A channel to the server at `url`.
pub(crate) async fn connect(url: &str) -> anyhow::Result<Channel> {
    Channel::from_shared(url.to_string())
        .with_context(|| format!("bad server URL {url}"))?
        .connect()
        .await
        .with_context(|| format!("cannot reach {url}"))
}

/// Starts a server from `bin` on a fresh temporary data dir and a free port.
async fn start_server(
    bin: &Path,
    partitions: usize,
    extra: &[String],
) -> anyhow::Result<(String, Child)> {
    let dir = tempfile::tempdir().context("cannot create a temporary data dir")?;
    let mut child = spawn_server(bin, dir.path(), "127.0.0.1:0", partitions, extra)?;
    child._dir = Some(dir);
    let url = child.url(Duration::from_secs(30)).await?;
    Ok((url, child))
}

/// Bytes of the files under `dir` (0 for what cannot be read: files come and go).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// User plus system CPU seconds the process has used so far.
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// A memory figure of `/proc/PID/status` (`VmRSS:`, `VmHWM:`) in KiB.
pub(crate) fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The task type every bench workflow runs.
pub(crate) const TASK_TYPE: &str = "bench_task";

/// Registers the task definition of [`TASK_TYPE`] and the workflow definition `wf`.
pub(crate) async fn register_defs(channel: &Channel, wf: &Value) -> anyhow::Result<()> {
    let mut meta = MetadataServiceClient::new(channel.clone());
    let task_def = json!({"name": TASK_TYPE, "retryCount": 0, "responseTimeoutSeconds": 120, "timeoutSeconds": 0});
    meta.register_task_defs(pb::RegisterTaskDefsRequest {
        definitions: vec![pb::Definition {
            body: Some(pb::definition::Body::JsonText(task_def.to_string())),
        }],
    })
    .await
    .context("cannot register the task definition")?;
    meta.update_workflow_def(pb::UpdateWorkflowDefRequest {
        definitions: vec![pb::Definition {
            body: Some(pb::definition::Body::JsonText(wf.to_string())),
        }],
    })
    .await
    .context("cannot register the workflow definition")?;
    Ok(())
}

/// Registers workflow `name`: `tasks` SIMPLE tasks in a row, `t0`.. passing `n` along.
pub(crate) async fn register(channel: &Channel, name: &str, tasks: usize) -> anyhow::Result<()> {
    let list: Vec<_> = (0..tasks)
        .map(|i| {
            let input = if i == 0 {
                json!({"n": "${workflow.input.n}"})
            } else {
                json!({"n": format!("${{t{}.output.n}}", i - 1)})
            };
            json!({"name": TASK_TYPE, "taskReferenceName": format!("t{i}"), "type": "SIMPLE", "inputParameters": input})
        })
        .collect();
    let wf = json!({
        "name": name, "version": 1, "schemaVersion": 2, "tasks": list,
        "outputParameters": {"n": format!("${{t{}.output.n}}", tasks.saturating_sub(1))}
    });
    register_defs(channel, &wf).await
}

/// First pause after RESOURCE_EXHAUSTED; doubled per refusal, up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(20);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Calls `call(i)` for each `i` in `0..n`, at most `concurrency` at once, pausing and
/// calling again each one the server refuses with RESOURCE_EXHAUSTED (the pause doubling
/// per refusal), and prints `{verb} {count}/{n}` every `every` answered calls. Returns once
/// every call has been answered, with the seconds taken and the retries; any other refusal
/// ends the run and is the error.
pub(crate) async fn call_all<F, Fut>(
    n: u64,
    concurrency: usize,
    every: u64,
    verb: &'static str,
    call: F,
) -> anyhow::Result<(f64, u64)>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send + 'static,
{
    let concurrency = concurrency.clamp(1, 1 << 16);
    let sem = Arc::new(Semaphore::new(concurrency));
    let done = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let failure: Arc<Mutex<Option<tonic::Status>>> = Arc::default();
    let call = Arc::new(call);
    let began = Instant::now();
    for i in 0..n {
        if failure.lock().expect("lock").is_some() {
            break;
        }
        let permit = sem.clone().acquire_owned().await?;
        let (done, retries, failure, call) =
            (done.clone(), retries.clone(), failure.clone(), call.clone());
        tokio::spawn(async move {
            let mut pause = BACKOFF_MIN;
            loop {
                match call(i).await {
                    Ok(()) => {
                        let count = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if count % every.max(1) == 0 {
                            eprintln!(
                                "{verb:<9} {count}/{n} in {:.1} s",
                                began.elapsed().as_secs_f64()
                            );
                        }
                        break;
                    }
                    Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                        retries.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(BACKOFF_MAX);
                    }
                    Err(s) => {
                        failure.lock().expect("lock").get_or_insert(s);
                        break;
                    }
                }
            }
            drop(permit);
        });
    }
    // Every permit back means every call has been answered.
    let _all = sem
        .acquire_many(u32::try_from(concurrency).context("concurrency too large")?)
        .await?;
    if let Some(s) = failure.lock().expect("lock").take() {
        return Err(anyhow::Error::new(s));
    }
    Ok((
        began.elapsed().as_secs_f64(),
        retries.load(Ordering::Relaxed),
    ))
}

/// Starts workflow `name` with input `{"n": n}`; returns its id.
pub(crate) async fn start_one(
    client: &mut WorkflowServiceClient<Channel>,
    name: &str,
    n: u64,
) -> Result<String, tonic::Status> {
    let mut input = serde_json::Map::new();
    input.insert("n".into(), json!(n));
    let r = client
        .start_workflow(pb::StartWorkflowRequest {
            name: name.to_string(),
            input: Some(object_to_struct(&input)),
            ..Default::default()
        })
        .await?;
    Ok(r.into_inner().workflow_id)
}

/// What the worker streams count and measure, shared between them.
#[derive(Default)]
pub(crate) struct Shared {
    dispatch_us: Mutex<Option<Histogram<u64>>>,
    e2e_us: Mutex<Option<Histogram<u64>>>,
    started_at: Mutex<HashMap<String, Instant>>,
    /// When the first task reached any worker stream.
    pub(crate) first_task: OnceLock<Instant>,
    /// Tasks pushed to the worker streams.
    pub(crate) received_tasks: AtomicU64,
    /// Results acknowledged.
    pub(crate) completed_tasks: AtomicU64,
    /// Final tasks of workflows acknowledged.
    pub(crate) completed_workflows: AtomicU64,
    pub(crate) refused: AtomicU64,
}

impl Shared {
    /// Records one dispatch latency (µs).
    pub(crate) fn record_dispatch(&self, us: u64) {
        if let Some(h) = self.dispatch_us.lock().expect("lock").as_mut() {
            let _ = h.record(us);
        }
    }

    /// Counts a workflow whose last task was acknowledged, with its end-to-end time.
    pub(crate) fn workflow_done(&self, workflow_id: &str) {
        let started = self.started_at.lock().expect("lock").remove(workflow_id);
        if let Some(s) = started {
            let us = s.elapsed().as_micros() as u64;
            if let Some(h) = self.e2e_us.lock().expect("lock").as_mut() {
                let _ = h.record(us.max(1));
            }
        }
        self.completed_workflows.fetch_add(1, Ordering::Relaxed);
    }
}

fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

async fn worker(
    channel: Channel,
    credits: i32,
    batch: bool,
    last_ref: String,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let mut client = TaskServiceClient::new(channel);
    let (tx, rx) = mpsc::unbounded_channel::<pb::WorkRequest>();
    tx.send(pb::WorkRequest {
        kind: Some(pb::work_request::Kind::Subscribe(pb::Subscribe {
            task_types: vec![TASK_TYPE.into()],
            domain: String::new(),
            worker_id: "bench".into(),
            credits,
            batch,
        })),
    })?;
    let mut inbound = client
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut local_dispatch = hist();
    let mut final_tokens: HashMap<String, String> = HashMap::new();
    'stream: while let Some(msg) = inbound.next().await {
        let msg = msg?;
        let (tasks, acks) = match msg.kind {
            Some(pb::work_response::Kind::Task(t)) => (vec![t], Vec::new()),
            Some(pb::work_response::Kind::Tasks(b)) => (b.tasks, Vec::new()),
            Some(pb::work_response::Kind::ResultAck(a)) => (Vec::new(), vec![a]),
            Some(pb::work_response::Kind::ResultAcks(b)) => (Vec::new(), b.acks),
            _ => continue,
        };
        let mut results = Vec::with_capacity(tasks.len());
        for t in tasks {
            shared.first_task.get_or_init(Instant::now);
            shared.received_tasks.fetch_add(1, Ordering::Relaxed);
            if let Some(ready) = &t.ready_time {
                let ready_us = ready.seconds * 1_000_000 + i64::from(ready.nanos) / 1000;
                let _ = local_dispatch.record((now_us() - ready_us).max(1) as u64);
                if local_dispatch.len() >= 64 {
                    if let Some(h) = shared.dispatch_us.lock().expect("lock").as_mut() {
                        let _ = h.add(&local_dispatch);
                    }
                    local_dispatch.reset();
                }
            }
            let n = t.input.as_ref().and_then(|s| s.fields.get("n")).cloned();
            let mut out = prost_types::Struct::default();
            if let Some(n) = n {
                out.fields.insert("n".into(), n);
            }
            if t.reference_task_name == last_ref {
                if let Some(h) = shared.dispatch_us.lock().expect("lock").as_mut() {
                    let _ = h.add(&local_dispatch);
                }
                local_dispatch.reset();
                final_tokens.insert(t.task_id.clone(), t.workflow_id.clone());
            }
            results.push(pb::TaskResult {
                task_id: t.task_id,
                token: t.token,
                status: pb::TaskStatus::Completed as i32,
                output: Some(out),
                workflow_id: t.workflow_id,
                worker_id: "bench".into(),
                ..Default::default()
            });
        }
        if !results.is_empty() {
            let n = results.len() as i32;
            if batch && results.len() > 1 {
                tx.send(pb::WorkRequest {
                    kind: Some(pb::work_request::Kind::Results(pb::ResultBatch { results })),
                })?;
            } else {
                for r in results {
                    tx.send(pb::WorkRequest {
                        kind: Some(pb::work_request::Kind::Result(r)),
                    })?;
                }
            }
            tx.send(pb::WorkRequest {
                kind: Some(pb::work_request::Kind::Credits(pb::GrantCredits {
                    credits: n,
                })),
            })?;
        }
        for a in acks {
            if !a.ok {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            shared.completed_tasks.fetch_add(1, Ordering::Relaxed);
            if let Some(wf) = final_tokens.remove(&a.task_id) {
                shared.workflow_done(&wf);
            }
            if shared.completed_workflows.load(Ordering::Relaxed) == u64::MAX {
                break 'stream;
            }
        }
    }
    if let Some(h) = shared.dispatch_us.lock().expect("lock").as_mut() {
        let _ = h.add(&local_dispatch);
    }
    Ok(())
}

/// Opens `count` worker streams on `url` (each with `credits`) that complete every task;
/// a workflow counts as completed when its task `last_ref` is acknowledged.
pub(crate) async fn spawn_workers(
    url: &str,
    count: usize,
    credits: i32,
    batch: bool,
    last_ref: &str,
    shared: &Arc<Shared>,
) -> anyhow::Result<Vec<JoinHandle<anyhow::Result<()>>>> {
    let mut handles = Vec::new();
    for _ in 0..count {
        let ch = connect(url).await?;
        handles.push(tokio::spawn(worker(
            ch,
            credits,
            batch,
            last_ref.to_string(),
            shared.clone(),
        )));
    }
    Ok(handles)
}

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// Runs the benchmark.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(n) = args.hold {
        return crate::bench_hold::run(&args, n).await;
    }
    if let Some(n) = args.schedules {
        return crate::bench_schedules::run(&args, n).await;
    }
    let (url, child) = match &args.server {
        Some(s) => (s.clone(), None),
        None => {
            let (u, c) =
                start_server(&args.server_bin()?, args.partitions, &args.server_args).await?;
            (u, Some(c))
        }
    };
    let channel = connect(&url).await?;
    let (workflows, tasks, workers) = match args.sequential {
        Some(n) => (1, n, 1),
        None => (args.workflows, args.tasks, args.workers),
    };
    if tasks == 0 || workflows == 0 {
        bail!("--tasks and --workflows must be at least 1");
    }
    let name = format!("bench_{tasks}");
    register(&channel, &name, tasks).await?;

    let shared = Arc::new(Shared::default());
    *shared.dispatch_us.lock().expect("lock") = Some(hist());
    *shared.e2e_us.lock().expect("lock") = Some(hist());
    let last_ref = format!("t{}", tasks - 1);
    let http_base = url.clone();
    let worker_handles = match args.protocol {
        Protocol::Grpc => {
            let credits = args.credits.unwrap_or(512);
            spawn_workers(&url, workers, credits, args.batch, &last_ref, &shared).await?
        }
        Protocol::Http => {
            let batch = args.credits.unwrap_or(32);
            (0..workers)
                .map(|_| {
                    tokio::spawn(crate::bench_http::worker(
                        http_base.clone(),
                        batch,
                        last_ref.clone(),
                        shared.clone(),
                    ))
                })
                .collect()
        }
    };
    let http = crate::bench_http::client()?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let sem = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let cpu_before = child.as_ref().and_then(|c| cpu_seconds(c.pid));
    let began = Instant::now();
    let rss_peak = Arc::new(AtomicU64::new(0));
    let sampler = child.as_ref().map(|c| {
        let pid = c.pid;
        let peak = rss_peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(k) = rss_kib(pid, "VmRSS:") {
                    peak.fetch_max(k, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    });
    let disk_samples = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let disk_sampler = match (&child, args.disk_every) {
        (Some(c), Some(every)) => {
            let dir = c._dir.as_ref().map(|d| d.path().to_path_buf());
            let pid = c.pid;
            let samples = disk_samples.clone();
            let shared = shared.clone();
            Some(tokio::spawn(async move {
                let Some(dir) = dir else { return };
                loop {
                    let (bytes, search) = tokio::task::spawn_blocking({
                        let dir = dir.clone();
                        move || (dir_bytes(&dir), dir_bytes(&dir.join("search")))
                    })
                    .await
                    .unwrap_or((0, 0));
                    samples.lock().expect("lock").push(json!({
                        "seconds": began.elapsed().as_secs(),
                        "completed_workflows": shared.completed_workflows.load(Ordering::Relaxed),
                        "data_dir_mib": bytes as f64 / (1024.0 * 1024.0),
                        "search_index_mib": search as f64 / (1024.0 * 1024.0),
                        "server_rss_mib": rss_kib(pid, "VmRSS:").map(|k| k as f64 / 1024.0),
                    }));
                    tokio::time::sleep(Duration::from_secs(every.max(1))).await;
                }
            }))
        }
        _ => None,
    };
    let interval = (args.rate > 0).then(|| Duration::from_secs_f64(1.0 / args.rate as f64));
    let start_errors = Arc::new(AtomicU64::new(0));
    for i in 0..workflows {
        if let Some(iv) = interval {
            let due = began + iv.mul_f64(i as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = sem.clone().acquire_owned().await?;
        let mut client = WorkflowServiceClient::new(channel.clone());
        let shared = shared.clone();
        let errors = start_errors.clone();
        let name = name.clone();
        let (http, base, protocol) = (http.clone(), http_base.clone(), args.protocol);
        tokio::spawn(async move {
            let t0 = Instant::now();
            let started = match protocol {
                Protocol::Grpc => start_one(&mut client, &name, i)
                    .await
                    .map_err(anyhow::Error::from),
                Protocol::Http => crate::bench_http::start_one(&http, &base, &name, i).await,
            };
            match started {
                Ok(id) => {
                    shared.started_at.lock().expect("lock").insert(id, t0);
                }
                Err(e) => {
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("start failed: {e}");
                    }
                }
            }
            drop(permit);
        });
    }
    let started_all = began.elapsed();
    // Wait for completion (or a stall).
    let mut last = 0;
    let mut last_change = Instant::now();
    loop {
        let done = shared.completed_workflows.load(Ordering::Relaxed);
        if done + start_errors.load(Ordering::Relaxed) >= workflows {
            break;
        }
        if done != last {
            last = done;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_secs(30) {
            eprintln!("stalled: {done} of {workflows} workflows completed");
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = began.elapsed();
    if let Some(s) = sampler {
        s.abort();
    }
    if let Some(s) = disk_sampler {
        s.abort();
    }
    let disk_samples = std::mem::take(&mut *disk_samples.lock().expect("lock"));
    for h in &worker_handles {
        h.abort();
    }
    let done = shared.completed_workflows.load(Ordering::Relaxed);
    let tasks_done = shared.completed_tasks.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    let dispatch = shared
        .dispatch_us
        .lock()
        .expect("lock")
        .take()
        .unwrap_or_else(hist);
    let e2e = shared
        .e2e_us
        .lock()
        .expect("lock")
        .take()
        .unwrap_or_else(hist);
    let hwm = child.as_ref().and_then(|c| rss_kib(c.pid, "VmHWM:"));
    let cpu_used = match (cpu_before, child.as_ref().and_then(|c| cpu_seconds(c.pid))) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let report = json!({
        "workflows": workflows,
        "tasks_per_workflow": tasks,
        "workers": workers,
        "protocol": format!("{:?}", args.protocol).to_lowercase(),
        "rate": args.rate,
        "completed_workflows": done,
        "completed_tasks": tasks_done,
        "refused_results": shared.refused.load(Ordering::Relaxed),
        "start_errors": start_errors.load(Ordering::Relaxed),
        "seconds": secs,
        "start_phase_seconds": started_all.as_secs_f64(),
        "workflows_per_second": done as f64 / secs,
        "tasks_per_second": tasks_done as f64 / secs,
        "ms_per_task": if args.sequential.is_some() { secs * 1000.0 / tasks_done.max(1) as f64 } else { f64::NAN },
        "dispatch_ms": {"p50": pct(&dispatch, 0.5), "p99": pct(&dispatch, 0.99), "p999": pct(&dispatch, 0.999), "max": dispatch.max() as f64 / 1000.0},
        "end_to_end_ms": {"p50": pct(&e2e, 0.5), "p99": pct(&e2e, 0.99), "p999": pct(&e2e, 0.999), "max": e2e.max() as f64 / 1000.0},
        "server_rss_peak_mib": rss_peak.load(Ordering::Relaxed) as f64 / 1024.0,
        "server_rss_hwm_mib": hwm.map(|k| k as f64 / 1024.0),
        "server_cpu_seconds": cpu_used,
        "server_cpu_us_per_task": cpu_used.map(|c| c * 1e6 / tasks_done.max(1) as f64),
        "at_ms": now_ms(),
        "disk": disk_samples,
    });
    if let Some(mut c) = child {
        let _ = c.kill9().await;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "workflows     {done}/{workflows} of {tasks} task(s), {workers} {} worker(s), rate {}",
            format!("{:?}", args.protocol).to_lowercase(),
            if args.rate == 0 {
                "flat out".to_string()
            } else {
                format!("{}/s", args.rate)
            }
        );
        println!("elapsed       {secs:.2} s");
        println!(
            "workflows/s   {:.0}",
            report["workflows_per_second"].as_f64().unwrap_or(0.0)
        );
        println!(
            "tasks/s       {:.0}",
            report["tasks_per_second"].as_f64().unwrap_or(0.0)
        );
        if args.sequential.is_some() {
            println!(
                "ms per task   {:.3}",
                report["ms_per_task"].as_f64().unwrap_or(0.0)
            );
        }
        println!(
            "dispatch ms   p50 {:.3}  p99 {:.3}  p99.9 {:.3}",
            pct(&dispatch, 0.5),
            pct(&dispatch, 0.99),
            pct(&dispatch, 0.999)
        );
        println!(
            "end-to-end ms p50 {:.3}  p99 {:.3}  p99.9 {:.3}",
            pct(&e2e, 0.5),
            pct(&e2e, 0.99),
            pct(&e2e, 0.999)
        );
        println!(
            "server RSS    peak {:.1} MiB",
            report["server_rss_peak_mib"].as_f64().unwrap_or(0.0)
        );
        if !disk_samples.is_empty() {
            println!(
                "disk          seconds  completed  data dir MiB  of it search MiB  server RSS MiB"
            );
            for d in &disk_samples {
                println!(
                    "              {:>7}  {:>9}  {:>12.1}  {:>16.1}  {:>14.1}",
                    d["seconds"].as_u64().unwrap_or(0),
                    d["completed_workflows"].as_u64().unwrap_or(0),
                    d["data_dir_mib"].as_f64().unwrap_or(0.0),
                    d["search_index_mib"].as_f64().unwrap_or(0.0),
                    d["server_rss_mib"].as_f64().unwrap_or(0.0)
                );
            }
        }
    }
    if done < workflows {
        bail!("only {done} of {workflows} workflows completed");
    }
    Ok(())
}
