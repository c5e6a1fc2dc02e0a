//! Test support: the real `baton server` binary on a temporary data dir, and a Rust worker
//! on the worker stream.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_grpc::convert::{object_to_struct, struct_to_object};
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

/// A running `baton server` child process.
pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts a server on `data_dir` and a free port.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_on(data_dir, "127.0.0.1:0")
    }

    /// Starts a server on `data_dir` listening on `listen`.
    pub fn start_on(data_dir: &Path, listen: &str) -> Server {
        Self::start_with(data_dir, listen, &[])
    }

    /// Starts a server on `data_dir` listening on `listen`, with more flags.
    pub fn start_with(data_dir: &Path, listen: &str, flags: &[&str]) -> Server {
        Self::start_with_env(data_dir, listen, flags, &[])
    }

    /// Starts a server on `data_dir` listening on `listen`, with more flags and
    /// environment variables. The OpenTelemetry variables of the test's own environment
    /// are not passed on (only those in `envs`).
    pub fn start_with_env(
        data_dir: &Path,
        listen: &str,
        flags: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["server", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", listen])
            .args(flags)
            .env(
                "BATON_LOG",
                std::env::var("BATON_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start baton server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read server line");
        let addr = line
            .trim()
            .strip_prefix("baton server listening on ")
            .unwrap_or_else(|| panic!("unexpected server output {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Channel::from_shared(self.url()).unwrap().connect().await {
                Ok(c) => return c,
                Err(e) if Instant::now() > deadline => panic!("cannot connect: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe_kill(self.child.id(), "TERM");
        self.child.wait().expect("wait")
    }
}

fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client for the tests (plain HTTP; the TLS provider installed once).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// Runs the `baton` CLI against `server`: whether it succeeded, its stdout and stderr.
pub fn cli(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .args(["--server", &server.url()])
        .output()
        .expect("run baton");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn text_def(v: &Value) -> pb::Definition {
    pb::Definition {
        body: Some(pb::definition::Body::JsonText(v.to_string())),
    }
}

pub async fn register_task_defs(ch: &Channel, defs: Value) {
    MetadataServiceClient::new(ch.clone())
        .register_task_defs(pb::RegisterTaskDefsRequest {
            definitions: vec![text_def(&defs)],
        })
        .await
        .expect("register task defs");
}

pub async fn register_workflow(ch: &Channel, def: &Value) {
    MetadataServiceClient::new(ch.clone())
        .update_workflow_def(pb::UpdateWorkflowDefRequest {
            definitions: vec![text_def(def)],
        })
        .await
        .expect("register workflow");
}

pub async fn start(ch: &Channel, name: &str, input: Value) -> String {
    WorkflowServiceClient::new(ch.clone())
        .start_workflow(pb::StartWorkflowRequest {
            name: name.into(),
            input: Some(object_to_struct(input.as_object().expect("object input"))),
            ..Default::default()
        })
        .await
        .expect("start workflow")
        .into_inner()
        .workflow_id
}

pub async fn get(ch: &Channel, id: &str) -> pb::Workflow {
    WorkflowServiceClient::new(ch.clone())
        .get_workflow(pb::GetWorkflowRequest {
            workflow_id: id.into(),
            include_tasks: true,
        })
        .await
        .expect("get workflow")
        .into_inner()
        .workflow
        .expect("workflow")
}

pub fn status(w: &pb::Workflow) -> pb::WorkflowStatus {
    pb::WorkflowStatus::try_from(w.status).unwrap()
}

pub fn task_status(t: &pb::Task) -> pb::TaskStatus {
    pb::TaskStatus::try_from(t.status).unwrap()
}

pub fn output(w: &pb::Workflow) -> Value {
    Value::Object(w.output.as_ref().map(struct_to_object).unwrap_or_default())
}

pub fn input_of(t: &pb::TaskAssignment) -> Value {
    Value::Object(t.input.as_ref().map(struct_to_object).unwrap_or_default())
}

/// Waits until the workflow is terminal (or panics after `secs`).
pub async fn wait_terminal(ch: &Channel, id: &str, secs: u64) -> pb::Workflow {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let w = get(ch, id).await;
        if !matches!(
            status(&w),
            pb::WorkflowStatus::Running | pb::WorkflowStatus::Paused
        ) {
            return w;
        }
        if Instant::now() > deadline {
            panic!("workflow {id} still {:?} after {secs}s: {w:#?}", status(&w));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the workflow satisfies `ready` (or panics after `secs`), and returns it.
pub async fn wait_until(
    ch: &Channel,
    id: &str,
    secs: u64,
    what: &str,
    ready: impl Fn(&pb::Workflow) -> bool,
) -> pb::Workflow {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let w = get(ch, id).await;
        if ready(&w) {
            return w;
        }
        if Instant::now() > deadline {
            panic!("workflow {id}: {what} did not happen within {secs}s: {w:#?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the test worker does with a task.
#[derive(Clone, Debug)]
pub enum Action {
    Complete(Value),
    Fail(String),
    FailTerminal(String),
    /// Never answer (the lease will expire).
    Stall,
    /// Close the stream while holding the task.
    Disconnect,
}

/// Everything a test worker saw.
#[derive(Default, Debug)]
pub struct Seen {
    pub tasks: Vec<pb::TaskAssignment>,
    pub acks: Vec<pb::Ack>,
}

pub type Handler = Arc<dyn Fn(&pb::TaskAssignment) -> Action + Send + Sync>;

/// A worker on the stream. Returns when the stream ends or it disconnects on purpose.
pub async fn run_worker(
    ch: Channel,
    task_types: &[&str],
    credits: i32,
    handler: Handler,
    seen: Arc<Mutex<Seen>>,
) {
    let (tx, rx) = mpsc::unbounded_channel::<pb::WorkRequest>();
    tx.send(pb::WorkRequest {
        kind: Some(pb::work_request::Kind::Subscribe(pb::Subscribe {
            task_types: task_types.iter().map(|s| s.to_string()).collect(),
            domain: String::new(),
            worker_id: "rust-test-worker".into(),
            credits,
            ..Default::default()
        })),
    })
    .unwrap();
    let Ok(resp) = TaskServiceClient::new(ch)
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
    else {
        return;
    };
    let mut inbound = resp.into_inner();
    while let Some(Ok(msg)) = inbound.next().await {
        match msg.kind {
            Some(pb::work_response::Kind::Task(t)) => {
                seen.lock().unwrap().tasks.push(t.clone());
                let (status, output, reason) = match handler(&t) {
                    Action::Complete(v) => (pb::TaskStatus::Completed, v, String::new()),
                    Action::Fail(r) => (pb::TaskStatus::Failed, json!({}), r),
                    Action::FailTerminal(r) => {
                        (pb::TaskStatus::FailedWithTerminalError, json!({}), r)
                    }
                    Action::Stall => continue,
                    Action::Disconnect => return,
                };
                let _ = tx.send(pb::WorkRequest {
                    kind: Some(pb::work_request::Kind::Result(pb::TaskResult {
                        task_id: t.task_id.clone(),
                        token: t.token.clone(),
                        workflow_id: t.workflow_id.clone(),
                        status: status as i32,
                        output: Some(object_to_struct(output.as_object().unwrap())),
                        reason_for_incompletion: reason,
                        worker_id: "rust-test-worker".into(),
                        ..Default::default()
                    })),
                });
                let _ = tx.send(pb::WorkRequest {
                    kind: Some(pb::work_request::Kind::Credits(pb::GrantCredits {
                        credits: 1,
                    })),
                });
            }
            Some(pb::work_response::Kind::ResultAck(a)) => seen.lock().unwrap().acks.push(a),
            _ => {}
        }
    }
}

/// Spawns a worker in the background.
pub fn spawn_worker(
    ch: Channel,
    task_types: &[&str],
    credits: i32,
    handler: Handler,
) -> (tokio::task::JoinHandle<()>, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let types: Vec<String> = task_types.iter().map(|s| s.to_string()).collect();
    let s = seen.clone();
    let h = tokio::spawn(async move {
        let refs: Vec<&str> = types.iter().map(|s| s.as_str()).collect();
        run_worker(ch, &refs, credits, handler, s).await
    });
    (h, seen)
}

/// The Conductor corpus folder beside the project.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conductor-corpus")
}

/// Counts how often each task id was acknowledged ok.
pub fn ok_acks(seen: &Seen) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for a in seen.acks.iter().filter(|a| a.ok) {
        *m.entry(a.task_id.clone()).or_default() += 1;
    }
    m
}

/// A ScheduleService client on `ch`.
pub fn schedule_client(
    ch: &Channel,
) -> baton_proto::v1::schedule_service_client::ScheduleServiceClient<Channel> {
    baton_proto::v1::schedule_service_client::ScheduleServiceClient::new(ch.clone())
}

/// A workflow `name` of one SET_VARIABLE task (it ends without a worker) that keeps the
/// slot it was started for.
pub fn scheduled_workflow(name: &str) -> Value {
    json!({"name": name, "version": 1, "tasks": [
        {"name": "s", "taskReferenceName": "s", "type": "SET_VARIABLE",
         "inputParameters": {"at": "${workflow.input._scheduledTime}"}}]})
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
