//! The command-line client: definitions, event handlers, workflow and task operations over
//! gRPC.

use std::path::PathBuf;

use anyhow::{Context, bail};
use baton_grpc::convert::{object_to_struct, struct_to_object};
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::task_service_client::TaskServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the server is and how to print.
#[derive(Args, Clone)]
pub struct Conn {
    /// Server address: `http://host:port`, or `https://host:port` for a server with TLS.
    #[arg(
        long,
        env = "BATON_SERVER",
        default_value = "http://127.0.0.1:7070",
        global = true
    )]
    pub(crate) server: String,
    /// Print JSON for scripts instead of readable text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) tls: crate::tls::ClientTls,
}

/// `baton def ...`
#[derive(Subcommand)]
pub enum DefCommand {
    /// Registers or replaces definitions from a Conductor JSON file: a workflow definition,
    /// a task definition, or an array of either.
    Apply {
        /// The JSON file ("-" reads standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists workflow definitions (latest versions), or task definitions with --tasks.
    List {
        /// List task definitions instead.
        #[arg(long)]
        tasks: bool,
        /// List every version of workflow definitions.
        #[arg(long)]
        all_versions: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Prints one definition as JSON.
    Get {
        /// Definition name.
        name: String,
        /// Workflow definition version (latest when absent).
        #[arg(long)]
        version: Option<i32>,
        /// Read a task definition instead.
        #[arg(long)]
        task: bool,
        #[command(flatten)]
        conn: Conn,
    },
}

/// `baton workflow ...`
#[derive(Subcommand)]
pub enum WorkflowCommand {
    /// Starts an execution and prints its id.
    Start {
        /// Workflow definition name.
        name: String,
        /// Input as a JSON object.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Definition version (latest when absent).
        #[arg(long)]
        version: Option<i32>,
        /// Correlation id.
        #[arg(long)]
        correlation_id: Option<String>,
        /// Priority 0-99.
        #[arg(long, default_value_t = 0)]
        priority: i32,
        /// Idempotency key.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// Wait up to this many seconds for the execution to finish, then print it.
        #[arg(long)]
        wait: Option<i32>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Prints an execution with its tasks.
    Get {
        /// Workflow id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Pauses an execution.
    Pause {
        /// Workflow id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Resumes a paused execution.
    Resume {
        /// Workflow id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Terminates an execution.
    Terminate {
        /// Workflow id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Retries a failed execution from its failed task.
    Retry {
        /// Workflow id.
        id: String,
        /// Retry a failed sub-workflow's child in place instead of starting a new child.
        #[arg(long)]
        resume_subworkflow_tasks: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Restarts a finished execution from the beginning.
    Restart {
        /// Workflow id.
        id: String,
        /// Use the latest definition instead of the one the run started with.
        #[arg(long)]
        use_latest: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Deletes an execution.
    Remove {
        /// Workflow id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Runs an execution again from one of its task instances: that task and every task
    /// scheduled after it are removed and the task is scheduled anew.
    Rerun {
        /// Workflow id.
        id: String,
        /// Id of the task instance to run again from.
        #[arg(long = "task")]
        task_id: String,
        /// New input for that task, as a JSON object (worker tasks only).
        #[arg(long)]
        task_input: Option<String>,
        /// New workflow input, as a JSON object.
        #[arg(long)]
        workflow_input: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Skips a task of a running execution by reference name: now when it is scheduled or
    /// running, else when the flow reaches it.
    SkipTask {
        /// Workflow id.
        id: String,
        /// Task reference name.
        task_ref: String,
        /// Input to record on the skipped task, as a JSON object.
        #[arg(long)]
        input: Option<String>,
        /// Output of the skipped task, as a JSON object.
        #[arg(long)]
        output: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Makes tasks that wait out a callbackAfterSeconds ready now.
    ResetCallbacks {
        /// Workflow id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Re-evaluates an execution now (schedules whatever is due).
    Decide {
        /// Workflow id.
        id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists the tasks of an execution, a page at a time.
    Tasks {
        /// Workflow id.
        id: String,
        /// Only tasks in this status (COMPLETED, FAILED, ...); repeat for several.
        #[arg(long = "status")]
        statuses: Vec<String>,
        /// Matching tasks to pass over first.
        #[arg(long, default_value_t = 0)]
        offset: i32,
        /// Most tasks to list (1-1000).
        #[arg(long, default_value_t = 100)]
        limit: i32,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists executions, newest first, filtered by name, status, correlation id and time
    /// (all optional, combined with AND, and with --query when given).
    List {
        /// Only executions of these workflow definitions.
        #[arg(long = "name")]
        names: Vec<String>,
        /// Only executions in these statuses (RUNNING, COMPLETED, FAILED, ...).
        #[arg(long = "status")]
        statuses: Vec<String>,
        /// Only executions with this correlation id.
        #[arg(long)]
        correlation_id: Option<String>,
        /// Only executions started at or after this time (RFC 3339 or epoch milliseconds).
        #[arg(long)]
        since: Option<String>,
        /// Only executions started at or before this time (RFC 3339 or epoch milliseconds).
        #[arg(long)]
        until: Option<String>,
        /// A further query in the search language, combined with AND.
        #[arg(long)]
        query: Option<String>,
        /// Free text over ids, inputs, outputs and failure reasons.
        #[arg(long, default_value = "")]
        free_text: String,
        #[command(flatten)]
        page: PageArgs,
        #[command(flatten)]
        conn: Conn,
    },
    /// Searches executions with the query language, for example
    /// "workflowType = 'order' AND status IN (FAILED, TIMED_OUT) AND startTime > 1700000000000".
    Search {
        /// The query (empty matches every execution).
        #[arg(default_value = "")]
        query: String,
        /// Free text over ids, inputs, outputs and failure reasons.
        #[arg(long, default_value = "")]
        free_text: String,
        /// The query and sort name task fields; lists each execution with a matching task.
        #[arg(long)]
        by_tasks: bool,
        #[command(flatten)]
        page: PageArgs,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists the ids of the running and paused executions of a workflow definition.
    Running {
        /// Workflow definition name.
        name: String,
        /// Only this version.
        #[arg(long)]
        version: Option<i32>,
        /// Only executions created at or after this time (RFC 3339 or epoch milliseconds).
        #[arg(long)]
        created_after: Option<String>,
        /// Only executions created at or before this time (RFC 3339 or epoch milliseconds).
        #[arg(long)]
        created_before: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists the executions of a workflow definition for one or more correlation ids.
    ByCorrelation {
        /// Workflow definition name.
        name: String,
        /// Correlation ids.
        #[arg(required = true)]
        correlation_ids: Vec<String>,
        /// Also list finished executions.
        #[arg(long)]
        include_closed: bool,
        /// Include each execution's tasks.
        #[arg(long)]
        include_tasks: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Starts an execution and waits until it finishes (or a given task does), then
    /// prints it.
    Execute {
        /// Workflow definition name.
        name: String,
        /// Input as a JSON object.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Definition version (latest when absent).
        #[arg(long)]
        version: Option<i32>,
        /// Correlation id.
        #[arg(long)]
        correlation_id: Option<String>,
        /// Seconds to wait (1-300).
        #[arg(long, default_value_t = 10)]
        wait: i32,
        /// Return once the task with this reference name has finished.
        #[arg(long)]
        wait_until: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Waits for an execution that is running already to finish (or a given task of it
    /// to), then prints it. Fails when the wait runs out first.
    Wait {
        /// Id of the execution.
        workflow_id: String,
        /// Seconds to wait (1-300).
        #[arg(long, default_value_t = 10)]
        wait: i32,
        /// Return once the task with this reference name has finished.
        #[arg(long)]
        wait_until: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Applies one operation to many executions (at most 1000) and reports each outcome.
    Bulk {
        /// The operation.
        #[arg(value_enum)]
        operation: BulkOp,
        /// Workflow ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// For terminate: why.
        #[arg(long, default_value = "")]
        reason: String,
        /// For restart: use the latest definitions.
        #[arg(long)]
        use_latest: bool,
        #[command(flatten)]
        conn: Conn,
    },
}

/// An operation of `baton workflow bulk`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum BulkOp {
    /// Pause.
    Pause,
    /// Resume.
    Resume,
    /// Restart from the beginning.
    Restart,
    /// Retry from the failed task.
    Retry,
    /// Terminate.
    Terminate,
    /// Delete.
    Remove,
}

/// `baton task ...`
#[derive(Subcommand)]
pub enum TaskCommand {
    /// Reports a result for the latest instance of a task, found by workflow id and
    /// reference name (how WAIT and HUMAN tasks are completed by hand).
    UpdateByRef {
        /// Workflow id.
        workflow_id: String,
        /// Task reference name.
        task_ref: String,
        /// COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS.
        #[arg(long)]
        status: String,
        /// Output as a JSON object.
        #[arg(long, default_value = "{}")]
        output: String,
        /// Why the task failed.
        #[arg(long, default_value = "")]
        reason: String,
        /// A log line to keep with the task; repeat for several.
        #[arg(long = "log")]
        logs: Vec<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Adds a log line to a task.
    Log {
        /// Task id.
        task_id: String,
        /// The line.
        message: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Prints the log lines of a task.
    Logs {
        /// Task id.
        task_id: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists the ready queues: tasks waiting and stream workers subscribed.
    Queues {
        /// Only the queues of this task type.
        #[arg(long, default_value = "")]
        task_type: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Searches task instances with the query language, for example
    /// "taskType = 'charge' AND status = FAILED".
    Search {
        /// The query (empty matches every task instance).
        #[arg(default_value = "")]
        query: String,
        /// Free text over ids, inputs, outputs and failure reasons.
        #[arg(long, default_value = "")]
        free_text: String,
        #[command(flatten)]
        page: PageArgs,
        #[command(flatten)]
        conn: Conn,
    },
}

/// Order and page of a search.
#[derive(Args)]
pub struct PageArgs {
    /// Sort keys, `field:ASC` or `field:DESC` (repeat the flag for several).
    #[arg(long)]
    sort: Vec<String>,
    /// Results to skip.
    #[arg(long, default_value_t = 0)]
    start: i32,
    /// Results to show (at most 5,000).
    #[arg(long, default_value_t = 20)]
    size: i32,
}

/// `baton worker ...`
#[derive(Subcommand)]
pub enum WorkerCommand {
    /// Lists the workers: connected over a stream, or polled within the last minute.
    List {
        /// Only the workers that take this task type.
        #[arg(long, default_value = "")]
        task_type: String,
        #[command(flatten)]
        conn: Conn,
    },
}

/// `baton metrics`
#[derive(Args)]
pub struct MetricsArgs {
    /// Minutes of samples to print (at most 60, the history the server keeps).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=60))]
    minutes: u32,
    #[command(flatten)]
    conn: Conn,
}

/// `baton archive ...`
#[derive(Subcommand)]
pub enum ArchiveCommand {
    /// Loads archived executions back into a running server (archive files as retention
    /// writes them, zstd or plain JSON lines), so they can be read and searched again.
    /// Executions whose ids are stored already are skipped; restored executions stay
    /// until removed.
    Import {
        /// Archive files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Executions sent per request (at most 1,000).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
        batch: u16,
        #[command(flatten)]
        conn: Conn,
    },
    /// Shows what retention keeps by default, where it archives, the workflow names with
    /// their own settings, and what it has done since the server started.
    Retention {
        #[command(flatten)]
        conn: Conn,
    },
}

/// `baton event-handler ...`
#[derive(Subcommand)]
pub enum EventHandlerCommand {
    /// Adds event handlers from a Conductor JSON file (one handler or an array), replacing
    /// those that exist by name.
    Apply {
        /// The JSON file ("-" reads standard input).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Lists event handlers.
    List {
        /// Only handlers of this event ("provider:queue").
        #[arg(long)]
        event: Option<String>,
        /// Only active handlers.
        #[arg(long)]
        active_only: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Prints one event handler as JSON.
    Get {
        /// Handler name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Deletes an event handler.
    Delete {
        /// Handler name.
        name: String,
        #[command(flatten)]
        conn: Conn,
    },
}

pub(crate) async fn channel(conn: &Conn) -> anyhow::Result<crate::tls::Client> {
    conn.tls.connect(&conn.server, None).await
}

pub(crate) fn read_json(file: &PathBuf) -> anyhow::Result<Value> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))
}

/// A JSON object given on the command line.
pub(crate) fn json_object(
    flag: &str,
    text: &str,
) -> anyhow::Result<serde_json::Map<String, Value>> {
    let v: Value =
        serde_json::from_str(text).with_context(|| format!("{flag} is not valid JSON"))?;
    match v {
        Value::Object(o) => Ok(o),
        _ => bail!("{flag} must be a JSON object"),
    }
}

/// An optional JSON object given on the command line, as a `Struct`.
fn opt_struct(flag: &str, text: Option<&str>) -> anyhow::Result<Option<prost_types::Struct>> {
    text.map(|t| json_object(flag, t).map(|o| object_to_struct(&o)))
        .transpose()
}

/// A time given as RFC 3339 or epoch milliseconds.
pub(crate) fn timestamp(flag: &str, text: &str) -> anyhow::Result<prost_types::Timestamp> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(baton_grpc::convert::ts(ms));
    }
    text.parse::<prost_types::Timestamp>().map_err(|_| {
        anyhow::anyhow!(
            "{flag}: {text:?} is neither RFC 3339 (2024-05-01T10:00:00Z) nor epoch milliseconds"
        )
    })
}

/// A task status name (case does not matter) as its wire value.
fn task_status_arg(flag: &str, text: &str) -> anyhow::Result<i32> {
    let name = format!("TASK_STATUS_{}", text.to_ascii_uppercase());
    match pb::TaskStatus::from_str_name(&name) {
        Some(s) if s != pb::TaskStatus::Unspecified => Ok(s as i32),
        _ => bail!("{flag}: {text:?} is not a task status (COMPLETED, FAILED, IN_PROGRESS, ...)"),
    }
}

fn definition(v: &Value) -> pb::Definition {
    pb::Definition {
        body: Some(pb::definition::Body::JsonText(v.to_string())),
    }
}

pub(crate) fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Runs a `baton def` command.
pub async fn run_def(cmd: DefCommand) -> anyhow::Result<()> {
    match cmd {
        DefCommand::Apply { file, conn } => {
            let v = read_json(&file)?;
            let items = match v {
                Value::Array(a) => a,
                other => vec![other],
            };
            let (workflows, tasks): (Vec<Value>, Vec<Value>) =
                items.into_iter().partition(|d| d.get("tasks").is_some());
            let mut client = MetadataServiceClient::new(channel(&conn).await?);
            let mut out = Vec::new();
            if !tasks.is_empty() {
                let r = client
                    .register_task_defs(pb::RegisterTaskDefsRequest {
                        definitions: tasks.iter().map(definition).collect(),
                    })
                    .await?
                    .into_inner();
                for d in r.task_defs {
                    out.push(json!({"kind": "task", "name": d.name}));
                }
            }
            if !workflows.is_empty() {
                let r = client
                    .update_workflow_def(pb::UpdateWorkflowDefRequest {
                        definitions: workflows.iter().map(definition).collect(),
                    })
                    .await?
                    .into_inner();
                for d in r.workflow_defs {
                    out.push(json!({"kind": "workflow", "name": d.name, "version": d.version}));
                }
            }
            if conn.json {
                print_json(&Value::Array(out));
            } else {
                for d in out {
                    match d["kind"].as_str() {
                        Some("workflow") => println!(
                            "workflow {} v{} applied",
                            d["name"].as_str().unwrap_or(""),
                            d["version"]
                        ),
                        _ => println!("task {} applied", d["name"].as_str().unwrap_or("")),
                    }
                }
            }
        }
        DefCommand::List {
            tasks,
            all_versions,
            conn,
        } => {
            let mut client = MetadataServiceClient::new(channel(&conn).await?);
            if tasks {
                let r = client
                    .list_task_defs(pb::ListTaskDefsRequest {})
                    .await?
                    .into_inner();
                if conn.json {
                    print_json(&Value::Array(
                        r.task_defs
                            .iter()
                            .map(|d| {
                                Value::Object(
                                    d.definition
                                        .as_ref()
                                        .map(struct_to_object)
                                        .unwrap_or_default(),
                                )
                            })
                            .collect(),
                    ));
                } else {
                    for d in r.task_defs {
                        println!("{}", d.name);
                    }
                }
            } else {
                let r = client
                    .list_workflow_defs(pb::ListWorkflowDefsRequest {
                        all_versions,
                        name: String::new(),
                    })
                    .await?
                    .into_inner();
                if conn.json {
                    print_json(&Value::Array(
                        r.workflow_defs
                            .iter()
                            .map(|d| json!({"name": d.name, "version": d.version, "description": d.description}))
                            .collect(),
                    ));
                } else {
                    for d in r.workflow_defs {
                        println!("{}\tv{}\t{}", d.name, d.version, d.description);
                    }
                }
            }
        }
        DefCommand::Get {
            name,
            version,
            task,
            conn,
        } => {
            let mut client = MetadataServiceClient::new(channel(&conn).await?);
            let def = if task {
                client
                    .get_task_def(pb::GetTaskDefRequest { name })
                    .await?
                    .into_inner()
                    .task_def
                    .and_then(|d| d.definition)
            } else {
                client
                    .get_workflow_def(pb::GetWorkflowDefRequest { name, version })
                    .await?
                    .into_inner()
                    .workflow_def
                    .and_then(|d| d.definition)
            };
            print_json(&Value::Object(
                def.as_ref().map(struct_to_object).unwrap_or_default(),
            ));
        }
    }
    Ok(())
}

fn task_status_name(s: i32) -> String {
    pb::TaskStatus::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("TASK_STATUS_")
                .to_string()
        })
        .unwrap_or_default()
}

/// A workflow status without its enum prefix (COMPLETED, FAILED, ...); empty when unknown.
pub(crate) fn workflow_status_name(s: i32) -> String {
    pb::WorkflowStatus::try_from(s)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("WORKFLOW_STATUS_")
                .to_string()
        })
        .unwrap_or_default()
}

fn struct_json(s: &Option<prost_types::Struct>) -> Value {
    Value::Object(s.as_ref().map(struct_to_object).unwrap_or_default())
}

fn task_json(t: &pb::Task) -> Value {
    json!({
        "taskId": t.task_id,
        "referenceTaskName": t.reference_task_name,
        "taskType": t.task_type,
        "status": task_status_name(t.status),
        "seq": t.seq,
        "retryCount": t.retry_count,
        "pollCount": t.poll_count,
        "workerId": t.worker_id,
        "reasonForIncompletion": t.reason_for_incompletion,
        "scheduledTime": t.scheduled_time.as_ref().map(baton_grpc::convert::ms),
        "startTime": t.start_time.as_ref().map(baton_grpc::convert::ms),
        "endTime": t.end_time.as_ref().map(baton_grpc::convert::ms),
        "updateTime": t.update_time.as_ref().map(baton_grpc::convert::ms),
        "input": struct_json(&t.input),
        "output": struct_json(&t.output),
    })
}

fn workflow_json(w: &pb::Workflow) -> Value {
    let status = workflow_status_name;
    let obj = struct_json;
    json!({
        "workflowId": w.workflow_id,
        "workflowName": w.workflow_name,
        "workflowVersion": w.workflow_version,
        "status": status(w.status),
        "correlationId": w.correlation_id,
        "reasonForIncompletion": w.reason_for_incompletion,
        "input": obj(&w.input),
        "output": obj(&w.output),
        "tasks": w.tasks.iter().map(task_json).collect::<Vec<_>>(),
    })
}

fn print_workflow(w: &pb::Workflow, as_json: bool) {
    let v = workflow_json(w);
    if as_json {
        print_json(&v);
        return;
    }
    println!(
        "workflow {}  {} v{}",
        w.workflow_id, w.workflow_name, w.workflow_version
    );
    println!("status   {}", v["status"].as_str().unwrap_or(""));
    println!(
        "times    created {}  started {}  updated {}  ended {}",
        when(w.create_time.as_ref()),
        when(w.start_time.as_ref()),
        when(w.update_time.as_ref()),
        when(w.end_time.as_ref())
    );
    if !w.correlation_id.is_empty() {
        println!("correlation {}", w.correlation_id);
    }
    if !w.reason_for_incompletion.is_empty() {
        println!("reason   {}", w.reason_for_incompletion);
    }
    println!("input    {}", v["input"]);
    println!("output   {}", v["output"]);
    if !w.tasks.is_empty() {
        println!(
            "  {:<24} {:<26} {:>5} {:<24} {:<24} {:>9} {:>5} {:<16} REASON",
            "TASK", "STATUS", "RETRY", "SCHEDULED", "STARTED", "TOOK", "POLLS", "WORKER"
        );
    }
    for t in &w.tasks {
        let ended = t.end_time.is_some();
        let took_ms = match (&t.start_time, &t.end_time) {
            (Some(s), Some(e)) => baton_grpc::convert::ms(e) - baton_grpc::convert::ms(s),
            _ => 0,
        };
        println!(
            "  {:<24} {:<26} {:>5} {:<24} {:<24} {:>9} {:>5} {:<16} {}",
            t.reference_task_name,
            task_status_name(t.status),
            t.retry_count,
            when(t.scheduled_time.as_ref()),
            when(t.start_time.as_ref()),
            took(ended && t.start_time.is_some(), took_ms),
            t.poll_count,
            if t.worker_id.is_empty() {
                "-"
            } else {
                &t.worker_id
            },
            t.reason_for_incompletion
        );
    }
}

/// Runs a `baton workflow` command.
pub async fn run_workflow(cmd: WorkflowCommand) -> anyhow::Result<()> {
    match cmd {
        WorkflowCommand::Start {
            name,
            input,
            version,
            correlation_id,
            priority,
            idempotency_key,
            wait,
            conn,
        } => {
            let input: Value = serde_json::from_str(&input).context("--input is not valid JSON")?;
            let Value::Object(input) = input else {
                bail!("--input must be a JSON object");
            };
            let mut client = WorkflowServiceClient::new(channel(&conn).await?);
            let start = pb::StartWorkflowRequest {
                name,
                version,
                input: Some(object_to_struct(&input)),
                correlation_id: correlation_id.unwrap_or_default(),
                priority,
                idempotency_key: idempotency_key.unwrap_or_default(),
                ..Default::default()
            };
            if let Some(wait) = wait {
                let r = client
                    .execute_workflow(pb::ExecuteWorkflowRequest {
                        start: Some(start),
                        wait_seconds: wait,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                if let Some(w) = r.workflow {
                    print_workflow(&w, conn.json);
                }
                if !r.finished {
                    bail!("the workflow did not finish within {wait} seconds");
                }
            } else {
                let r = client.start_workflow(start).await?.into_inner();
                if conn.json {
                    print_json(&json!({"workflowId": r.workflow_id}));
                } else {
                    println!("{}", r.workflow_id);
                }
            }
        }
        WorkflowCommand::Get { id, conn } => {
            let mut client = WorkflowServiceClient::new(channel(&conn).await?);
            let r = client
                .get_workflow(pb::GetWorkflowRequest {
                    workflow_id: id,
                    include_tasks: true,
                })
                .await?
                .into_inner();
            if let Some(w) = r.workflow {
                print_workflow(&w, conn.json);
            }
        }
        WorkflowCommand::Pause { id, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.pause_workflow(pb::PauseWorkflowRequest {
                workflow_id: id.clone(),
            })
            .await?;
            done(&conn, "paused", &id);
        }
        WorkflowCommand::Resume { id, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.resume_workflow(pb::ResumeWorkflowRequest {
                workflow_id: id.clone(),
            })
            .await?;
            done(&conn, "resumed", &id);
        }
        WorkflowCommand::Terminate { id, reason, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.terminate_workflow(pb::TerminateWorkflowRequest {
                workflow_id: id.clone(),
                reason,
            })
            .await?;
            done(&conn, "terminated", &id);
        }
        WorkflowCommand::Retry {
            id,
            resume_subworkflow_tasks,
            conn,
        } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.retry_workflow(pb::RetryWorkflowRequest {
                workflow_id: id.clone(),
                resume_subworkflow_tasks,
            })
            .await?;
            done(&conn, "retried", &id);
        }
        WorkflowCommand::Restart {
            id,
            use_latest,
            conn,
        } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.restart_workflow(pb::RestartWorkflowRequest {
                workflow_id: id.clone(),
                use_latest_definitions: use_latest,
            })
            .await?;
            done(&conn, "restarted", &id);
        }
        WorkflowCommand::Remove { id, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.remove_workflow(pb::RemoveWorkflowRequest {
                workflow_id: id.clone(),
            })
            .await?;
            done(&conn, "removed", &id);
        }
        WorkflowCommand::Rerun {
            id,
            task_id,
            task_input,
            workflow_input,
            conn,
        } => {
            let task_input = opt_struct("--task-input", task_input.as_deref())?;
            let workflow_input = opt_struct("--workflow-input", workflow_input.as_deref())?;
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.rerun_workflow(pb::RerunWorkflowRequest {
                workflow_id: id.clone(),
                task_id: task_id.clone(),
                task_input,
                workflow_input,
            })
            .await?;
            done(&conn, &format!("rerun from task {task_id}"), &id);
        }
        WorkflowCommand::SkipTask {
            id,
            task_ref,
            input,
            output,
            conn,
        } => {
            let task_input = opt_struct("--input", input.as_deref())?;
            let task_output = opt_struct("--output", output.as_deref())?;
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let r = c
                .skip_task(pb::SkipTaskRequest {
                    workflow_id: id.clone(),
                    task_ref_name: task_ref.clone(),
                    task_input,
                    task_output,
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&json!({
                    "workflowId": id, "taskRefName": task_ref, "skippedNow": r.skipped_now
                }));
            } else if r.skipped_now {
                println!("{id} task {task_ref} skipped");
            } else {
                println!("{id} task {task_ref} will be skipped when the flow reaches it");
            }
        }
        WorkflowCommand::ResetCallbacks { id, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.reset_callbacks(pb::ResetCallbacksRequest {
                workflow_id: id.clone(),
            })
            .await?;
            done(&conn, "callbacks reset", &id);
        }
        WorkflowCommand::Decide { id, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.decide_workflow(pb::DecideWorkflowRequest {
                workflow_id: id.clone(),
            })
            .await?;
            done(&conn, "decided", &id);
        }
        WorkflowCommand::Tasks {
            id,
            statuses,
            offset,
            limit,
            conn,
        } => {
            let statuses = statuses
                .iter()
                .map(|s| task_status_arg("--status", s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let r = c
                .list_workflow_tasks(pb::ListWorkflowTasksRequest {
                    workflow_id: id,
                    statuses,
                    offset,
                    limit,
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&json!({
                    "tasks": r.tasks.iter().map(task_json).collect::<Vec<_>>(),
                    "total": r.total,
                    "nextOffset": r.next_offset,
                }));
            } else {
                for t in &r.tasks {
                    println!(
                        "{:>4}  {:<24} {:<16} {:<26} {}",
                        t.seq,
                        t.reference_task_name,
                        t.task_type,
                        task_status_name(t.status),
                        t.task_id
                    );
                }
                let shown = r.tasks.len();
                match r.next_offset {
                    0 => println!("({shown} of {} tasks)", r.total),
                    next => println!("({shown} of {} tasks; more with --offset {next})", r.total),
                }
            }
        }
        WorkflowCommand::List {
            names,
            statuses,
            correlation_id,
            since,
            until,
            query,
            free_text,
            mut page,
            conn,
        } => {
            let mut parts: Vec<String> = Vec::new();
            if !names.is_empty() {
                parts.push(format!("workflowType IN ({})", quoted_list(&names)));
            }
            if !statuses.is_empty() {
                let up: Vec<String> = statuses.iter().map(|s| s.to_ascii_uppercase()).collect();
                parts.push(format!("status IN ({})", up.join(",")));
            }
            if let Some(c) = correlation_id {
                parts.push(format!("correlationId = {}", quoted(&c)));
            }
            if let Some(t) = since {
                let t = baton_grpc::convert::ms(&timestamp("--since", &t)?);
                parts.push(format!("startTime > {}", t - 1));
            }
            if let Some(t) = until {
                let t = baton_grpc::convert::ms(&timestamp("--until", &t)?);
                parts.push(format!("startTime < {}", t + 1));
            }
            if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
                parts.push(format!("({q})"));
            }
            if page.sort.is_empty() {
                page.sort.push("startTime:DESC".into());
            }
            search_workflows(parts.join(" AND "), free_text, false, page, conn).await?;
        }
        WorkflowCommand::Search {
            query,
            free_text,
            by_tasks,
            page,
            conn,
        } => search_workflows(query, free_text, by_tasks, page, conn).await?,
        WorkflowCommand::Running {
            name,
            version,
            created_after,
            created_before,
            conn,
        } => {
            let created_after = created_after
                .map(|t| timestamp("--created-after", &t))
                .transpose()?;
            let created_before = created_before
                .map(|t| timestamp("--created-before", &t))
                .transpose()?;
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let r = c
                .get_running_workflows(pb::GetRunningWorkflowsRequest {
                    name,
                    version,
                    created_after,
                    created_before,
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&json!({"workflowIds": r.workflow_ids}));
            } else {
                for id in r.workflow_ids {
                    println!("{id}");
                }
            }
        }
        WorkflowCommand::ByCorrelation {
            name,
            correlation_ids,
            include_closed,
            include_tasks,
            conn,
        } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let r = c
                .get_workflows_by_correlation_ids(pb::GetWorkflowsByCorrelationIdsRequest {
                    name,
                    correlation_ids,
                    include_closed,
                    include_tasks,
                })
                .await?
                .into_inner();
            if conn.json {
                let mut out = serde_json::Map::new();
                for g in &r.results {
                    out.insert(
                        g.correlation_id.clone(),
                        Value::Array(g.workflows.iter().map(workflow_json).collect()),
                    );
                }
                print_json(&Value::Object(out));
            } else {
                for g in &r.results {
                    println!("{}:", g.correlation_id);
                    for w in &g.workflows {
                        let v = workflow_json(w);
                        println!(
                            "  {}  {}",
                            w.workflow_id,
                            v["status"].as_str().unwrap_or("")
                        );
                    }
                }
            }
        }
        WorkflowCommand::Execute {
            name,
            input,
            version,
            correlation_id,
            wait,
            wait_until,
            conn,
        } => {
            let input = json_object("--input", &input)?;
            let mut client = WorkflowServiceClient::new(channel(&conn).await?);
            let r = client
                .execute_workflow(pb::ExecuteWorkflowRequest {
                    start: Some(pb::StartWorkflowRequest {
                        name,
                        version,
                        input: Some(object_to_struct(&input)),
                        correlation_id: correlation_id.unwrap_or_default(),
                        ..Default::default()
                    }),
                    wait_seconds: wait,
                    wait_until_task_ref: wait_until.clone().unwrap_or_default(),
                })
                .await?
                .into_inner();
            report_wait(
                r.workflow,
                r.finished || r.task_ref_finished,
                wait_until,
                wait,
                conn.json,
            )?;
        }
        WorkflowCommand::Wait {
            workflow_id,
            wait,
            wait_until,
            conn,
        } => {
            let mut client = WorkflowServiceClient::new(channel(&conn).await?);
            let r = client
                .wait_workflow(pb::WaitWorkflowRequest {
                    workflow_id,
                    wait_seconds: wait,
                    wait_until_task_ref: wait_until.clone().unwrap_or_default(),
                })
                .await?
                .into_inner();
            report_wait(
                r.workflow,
                r.finished || r.task_ref_finished,
                wait_until,
                wait,
                conn.json,
            )?;
        }
        WorkflowCommand::Bulk {
            operation,
            ids,
            reason,
            use_latest,
            conn,
        } => {
            let op = match operation {
                BulkOp::Pause => pb::BulkOperation::Pause,
                BulkOp::Resume => pb::BulkOperation::Resume,
                BulkOp::Restart => pb::BulkOperation::Restart,
                BulkOp::Retry => pb::BulkOperation::Retry,
                BulkOp::Terminate => pb::BulkOperation::Terminate,
                BulkOp::Remove => pb::BulkOperation::Remove,
            };
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let r = c
                .run_bulk_operation(pb::RunBulkOperationRequest {
                    operation: op as i32,
                    workflow_ids: ids,
                    reason,
                    use_latest_definitions: use_latest,
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&Value::Array(
                    r.results
                        .iter()
                        .map(|b| {
                            json!({"workflowId": b.workflow_id, "ok": b.ok,
                                   "code": b.code, "message": b.message})
                        })
                        .collect(),
                ));
            } else {
                for b in &r.results {
                    if b.ok {
                        println!("{} ok", b.workflow_id);
                    } else {
                        println!("{} {}: {}", b.workflow_id, b.code, b.message);
                    }
                }
            }
            let failed = r.results.iter().filter(|b| !b.ok).count();
            if failed > 0 {
                bail!("{failed} of {} operations failed", r.results.len());
            }
        }
    }
    Ok(())
}

/// Runs a `baton task` command.
pub async fn run_task(cmd: TaskCommand) -> anyhow::Result<()> {
    match cmd {
        TaskCommand::UpdateByRef {
            workflow_id,
            task_ref,
            status,
            output,
            reason,
            logs,
            conn,
        } => {
            let status = task_status_arg("--status", &status)?;
            let output = json_object("--output", &output)?;
            let mut c = TaskServiceClient::new(channel(&conn).await?);
            let r = c
                .update_task_by_ref(pb::UpdateTaskByRefRequest {
                    workflow_id,
                    task_ref_name: task_ref,
                    status,
                    output: Some(object_to_struct(&output)),
                    reason_for_incompletion: reason,
                    logs: logs
                        .into_iter()
                        .map(|message| pb::TaskLog {
                            message,
                            time: None,
                        })
                        .collect(),
                    worker_id: String::new(),
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&json!({"taskId": r.task_id, "result": "updated"}));
            } else {
                println!("task {} updated", r.task_id);
            }
        }
        TaskCommand::Log {
            task_id,
            message,
            conn,
        } => {
            let mut c = TaskServiceClient::new(channel(&conn).await?);
            c.add_task_logs(pb::AddTaskLogsRequest {
                task_id: task_id.clone(),
                logs: vec![pb::TaskLog {
                    message,
                    time: None,
                }],
            })
            .await?;
            if conn.json {
                print_json(&json!({"taskId": task_id, "result": "logged"}));
            } else {
                println!("task {task_id} logged");
            }
        }
        TaskCommand::Logs { task_id, conn } => {
            let mut c = TaskServiceClient::new(channel(&conn).await?);
            let r = c
                .get_task_logs(pb::GetTaskLogsRequest { task_id })
                .await?
                .into_inner();
            let time = |l: &pb::TaskLog| l.time.as_ref().map(|t| t.to_string()).unwrap_or_default();
            if conn.json {
                print_json(&Value::Array(
                    r.logs
                        .iter()
                        .map(|l| json!({"message": l.message, "time": time(l)}))
                        .collect(),
                ));
            } else {
                for l in &r.logs {
                    println!("{}  {}", time(l), l.message);
                }
            }
        }
        TaskCommand::Search {
            query,
            free_text,
            page,
            conn,
        } => {
            let mut c = TaskServiceClient::new(channel(&conn).await?);
            let r = c
                .search_tasks(pb::SearchTasksRequest {
                    query,
                    free_text,
                    sort: page.sort,
                    start: page.start,
                    size: Some(page.size),
                })
                .await?
                .into_inner();
            if conn.json {
                let rows: Vec<Value> = r
                    .results
                    .iter()
                    .map(|t| {
                        json!({
                            "taskId": t.task_id,
                            "taskType": t.task_type,
                            "taskDefName": t.task_def_name,
                            "status": task_status_name(t.status),
                            "workflowId": t.workflow_id,
                            "workflowType": t.workflow_type,
                            "correlationId": t.correlation_id,
                            "scheduledTime": t.scheduled_time.as_ref().map(baton_grpc::convert::ms),
                            "startTime": t.start_time.as_ref().map(baton_grpc::convert::ms),
                            "updateTime": t.update_time.as_ref().map(baton_grpc::convert::ms),
                            "endTime": t.end_time.as_ref().map(baton_grpc::convert::ms),
                            "executionTime": t.execution_time_ms,
                            "queueWaitTime": t.queue_wait_time_ms,
                            "reasonForIncompletion": t.reason_for_incompletion,
                            "domain": t.domain,
                            "input": struct_json(&t.input),
                            "output": struct_json(&t.output),
                        })
                    })
                    .collect();
                print_json(&json!({"totalHits": r.total_hits, "results": rows}));
            } else {
                println!(
                    "{:<38} {:<20} {:<11} {:<24} {:>9} {:<38}",
                    "TASK ID", "TYPE", "STATUS", "SCHEDULED", "TOOK", "WORKFLOW ID"
                );
                for t in &r.results {
                    println!(
                        "{:<38} {:<20} {:<11} {:<24} {:>9} {:<38}",
                        t.task_id,
                        t.task_type,
                        task_status_name(t.status),
                        when(t.scheduled_time.as_ref()),
                        took(t.end_time.is_some(), t.execution_time_ms),
                        t.workflow_id
                    );
                }
                println!("{}", page_line(page.start, r.results.len(), r.total_hits));
            }
        }
        TaskCommand::Queues { task_type, conn } => {
            let mut c = TaskServiceClient::new(channel(&conn).await?);
            let r = c
                .list_queues(pb::ListQueuesRequest { task_type })
                .await?
                .into_inner();
            if conn.json {
                print_json(&Value::Array(
                    r.queues
                        .iter()
                        .map(|q| {
                            json!({"taskType": q.task_type, "domain": q.domain,
                                   "depth": q.depth, "subscribers": q.subscribers})
                        })
                        .collect(),
                ));
            } else {
                println!(
                    "{:<32} {:<16} {:>8} {:>11}",
                    "TASK TYPE", "DOMAIN", "WAITING", "SUBSCRIBED"
                );
                for q in &r.queues {
                    let domain = if q.domain.is_empty() { "-" } else { &q.domain };
                    println!(
                        "{:<32} {:<16} {:>8} {:>11}",
                        q.task_type, domain, q.depth, q.subscribers
                    );
                }
            }
        }
    }
    Ok(())
}

/// Runs a `baton worker` command.
pub async fn run_archive(cmd: ArchiveCommand) -> anyhow::Result<()> {
    match cmd {
        ArchiveCommand::Import { files, batch, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let (mut imported, mut present) = (0u64, 0u64);
            for file in files {
                // The file is read on its own thread, a batch at a time, so that an
                // archive of any size is sent without holding it all in memory.
                let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Vec<Vec<u8>>)>(2);
                let path = file.clone();
                let batch = usize::from(batch);
                let reader = tokio::task::spawn_blocking(move || {
                    let mut lines = Vec::new();
                    let mut first = 1;
                    baton_server::archive::read_file(&path, |n, line| {
                        if lines.is_empty() {
                            first = n;
                        }
                        lines.push(line.to_vec());
                        if lines.len() >= batch {
                            // The receiver is gone only when sending failed: stop reading.
                            let _ = tx.blocking_send((first, std::mem::take(&mut lines)));
                        }
                        Ok(())
                    })?;
                    if !lines.is_empty() {
                        let _ = tx.blocking_send((first, lines));
                    }
                    Ok::<_, baton_server::archive::ArchiveError>(())
                });
                while let Some((first, lines)) = rx.recv().await {
                    let r = c
                        .import_workflows(pb::ImportWorkflowsRequest { lines })
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "{}, lines from {first}: {}",
                                file.display(),
                                e.message()
                            )
                        })?
                        .into_inner();
                    imported += r.imported;
                    present += r.already_present;
                }
                reader.await??;
            }
            if conn.json {
                print_json(&json!({"imported": imported, "alreadyPresent": present}));
            } else {
                println!("imported {imported} executions ({present} already present)");
            }
        }
        ArchiveCommand::Retention { conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            let r = c
                .get_retention(pb::GetRetentionRequest {})
                .await?
                .into_inner();
            let age = |s: i64| (s > 0).then(|| format!("{s}s"));
            let count = |n: u64| (n > 0).then_some(n);
            if conn.json {
                print_json(&json!({
                    "maxAgeSeconds": (r.max_age_seconds > 0).then_some(r.max_age_seconds),
                    "keepLast": count(r.keep_last),
                    "maxRemovalsPerSec": r.max_removals_per_sec,
                    "archiveDir": (!r.archive_dir.is_empty()).then_some(&r.archive_dir),
                    "passes": r.passes, "removed": r.removed, "archived": r.archived,
                    "changed": r.changed, "heldByParent": r.held_by_parent,
                    "failures": r.failures,
                    "overrides": r.overrides.iter().map(|o| json!({
                        "workflowName": o.workflow_name,
                        "maxAgeSeconds": (o.max_age_seconds > 0).then_some(o.max_age_seconds),
                        "keepLast": count(o.keep_last),
                    })).collect::<Vec<_>>(),
                }));
            } else {
                let bound = |a: Option<String>, n: Option<u64>| match (a, n) {
                    (None, None) => "kept forever".to_string(),
                    (Some(a), None) => format!("removed {a} after they end"),
                    (None, Some(n)) => format!("the newest {n} kept"),
                    (Some(a), Some(n)) => {
                        format!("removed {a} after they end, the newest {n} kept at most")
                    }
                };
                println!(
                    "default: finished runs {}",
                    bound(age(r.max_age_seconds), count(r.keep_last))
                );
                println!(
                    "rate: at most {} removals per second",
                    r.max_removals_per_sec
                );
                if r.archive_dir.is_empty() {
                    println!("archive: none (expired runs are removed outright)");
                } else {
                    println!("archive: {}", r.archive_dir);
                }
                for o in &r.overrides {
                    println!(
                        "{}: finished runs {}",
                        o.workflow_name,
                        bound(age(o.max_age_seconds), count(o.keep_last))
                    );
                }
                println!(
                    "since start: {} passes, {} removed, {} archived, {} kept as they changed, {} held for an open parent, {} failed passes",
                    r.passes, r.removed, r.archived, r.changed, r.held_by_parent, r.failures
                );
            }
        }
    }
    Ok(())
}

/// Prints the server's metrics history: one line per ten-second sample.
pub async fn run_metrics(args: MetricsArgs) -> anyhow::Result<()> {
    let mut c = baton_proto::v1::monitor_service_client::MonitorServiceClient::new(
        channel(&args.conn).await?,
    );
    let r = c
        .get_metrics_history(pb::GetMetricsHistoryRequest {
            minutes: args.minutes as i32,
        })
        .await?
        .into_inner();
    let ms = |t: &Option<prost_types::Timestamp>| {
        t.as_ref()
            .map_or(0, |t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
    };
    let q = |l: &Option<pb::LatencyQuantiles>| l.unwrap_or_default();
    if args.conn.json {
        let quantiles = |l: pb::LatencyQuantiles| json!({"count": l.count, "p50Ms": l.p50_ms, "p99Ms": l.p99_ms, "maxMs": l.max_ms});
        print_json(&json!({
            "serverTime": ms(&r.server_time),
            "sampleEveryMs": r.sample_every_ms,
            "samples": r.samples.iter().map(|s| json!({
                "at": ms(&s.at), "intervalMs": s.interval_ms,
                "workflowsStarted": s.workflows_started,
                "workflowsCompleted": s.workflows_completed,
                "workflowsFailed": s.workflows_failed,
                "workflowsTerminated": s.workflows_terminated,
                "tasksCompleted": s.tasks_completed, "tasksFailed": s.tasks_failed,
                "queueWait": quantiles(q(&s.queue_wait)), "runTime": quantiles(q(&s.run_time)),
                "queueDepth": s.queue_depth, "workers": s.workers,
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    if r.samples.is_empty() {
        println!(
            "no samples yet: the server takes one every {} s after it starts",
            r.sample_every_ms / 1000
        );
        return Ok(());
    }
    println!(
        "{:<20} {:>8} {:>9} {:>7} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "INTERVAL END",
        "STARTED",
        "COMPLETED",
        "FAILED",
        "TERMINATED",
        "TASKS OK",
        "TASKS KO",
        "RUN P50",
        "RUN P99",
        "WAIT P99",
        "QUEUED",
        "WORKERS"
    );
    for s in &r.samples {
        let (run, wait) = (q(&s.run_time), q(&s.queue_wait));
        println!(
            "{:<20} {:>8} {:>9} {:>7} {:>10} {:>9} {:>8} {:>6}ms {:>6}ms {:>6}ms {:>7} {:>7}",
            when(s.at.as_ref()),
            s.workflows_started,
            s.workflows_completed,
            s.workflows_failed,
            s.workflows_terminated,
            s.tasks_completed,
            s.tasks_failed,
            run.p50_ms,
            run.p99_ms,
            wait.p99_ms,
            s.queue_depth,
            s.workers
        );
    }
    Ok(())
}

/// Runs `baton worker ...`.
pub async fn run_worker(cmd: WorkerCommand) -> anyhow::Result<()> {
    match cmd {
        WorkerCommand::List { task_type, conn } => {
            let mut c = TaskServiceClient::new(channel(&conn).await?);
            let r = c
                .list_workers(pb::ListWorkersRequest { task_type })
                .await?
                .into_inner();
            let kind = |w: &pb::WorkerInfo| match pb::WorkerKind::try_from(w.kind) {
                Ok(pb::WorkerKind::Stream) => "stream",
                Ok(pb::WorkerKind::Poll) => "poll",
                _ => "unknown",
            };
            let ms = |t: &Option<prost_types::Timestamp>| {
                t.as_ref()
                    .map(|t| t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
            };
            if conn.json {
                print_json(&Value::Array(
                    r.workers
                        .iter()
                        .map(|w| {
                            json!({"workerId": w.worker_id, "kind": kind(w).to_uppercase(),
                                   "connectionId": w.connection_id, "taskTypes": w.task_types,
                                   "domain": w.domain, "credits": w.credits,
                                   "inFlight": w.in_flight, "pollsWaiting": w.polls_waiting,
                                   "connectedTime": ms(&w.connected_time),
                                   "lastSeenTime": ms(&w.last_seen_time)})
                        })
                        .collect(),
                ));
            } else {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let ago = |t: Option<i64>| match t {
                    Some(t) => format!("{:.1}s ago", (now - t).max(0) as f64 / 1000.0),
                    None => "-".to_string(),
                };
                println!(
                    "{:<24} {:<6} {:<32} {:<12} {:>7} {:>9} {:>12} {:>12}",
                    "WORKER",
                    "KIND",
                    "TASK TYPES",
                    "DOMAIN",
                    "CREDITS",
                    "IN FLIGHT",
                    "CONNECTED",
                    "LAST SEEN"
                );
                for w in &r.workers {
                    let domain = if w.domain.is_empty() { "-" } else { &w.domain };
                    println!(
                        "{:<24} {:<6} {:<32} {:<12} {:>7} {:>9} {:>12} {:>12}",
                        w.worker_id,
                        kind(w),
                        w.task_types.join(","),
                        domain,
                        w.credits,
                        w.in_flight,
                        ago(ms(&w.connected_time)),
                        ago(ms(&w.last_seen_time)),
                    );
                }
                if r.workers.is_empty() {
                    println!("(no workers)");
                }
            }
        }
    }
    Ok(())
}

fn handler_json(h: &pb::EventHandlerInfo) -> Value {
    struct_json(&h.definition)
}

/// Runs a `baton event-handler` command.
pub async fn run_event_handler(cmd: EventHandlerCommand) -> anyhow::Result<()> {
    match cmd {
        EventHandlerCommand::Apply { file, conn } => {
            let items = match read_json(&file)? {
                Value::Array(a) => a,
                other => vec![other],
            };
            if items.is_empty() {
                bail!("{} holds no event handler", file.display());
            }
            let mut c = MetadataServiceClient::new(channel(&conn).await?);
            let mut out = Vec::new();
            for h in &items {
                let added = c
                    .add_event_handler(pb::AddEventHandlerRequest {
                        handler: Some(definition(h)),
                    })
                    .await;
                let (info, what) = match added {
                    Ok(r) => (r.into_inner().handler, "added"),
                    Err(e) if e.code() == tonic::Code::AlreadyExists => (
                        c.update_event_handler(pb::UpdateEventHandlerRequest {
                            handler: Some(definition(h)),
                        })
                        .await?
                        .into_inner()
                        .handler,
                        "updated",
                    ),
                    Err(e) => return Err(e.into()),
                };
                let name = info.map(|i| i.name).unwrap_or_default();
                out.push(json!({"name": name, "result": what}));
            }
            if conn.json {
                print_json(&Value::Array(out));
            } else {
                for o in out {
                    println!(
                        "event handler {} {}",
                        o["name"].as_str().unwrap_or(""),
                        o["result"].as_str().unwrap_or("")
                    );
                }
            }
        }
        EventHandlerCommand::List {
            event,
            active_only,
            conn,
        } => {
            let mut c = MetadataServiceClient::new(channel(&conn).await?);
            let r = c
                .list_event_handlers(pb::ListEventHandlersRequest {
                    event: event.unwrap_or_default(),
                    active_only,
                })
                .await?
                .into_inner();
            if conn.json {
                print_json(&Value::Array(r.handlers.iter().map(handler_json).collect()));
            } else {
                for h in &r.handlers {
                    let state = if h.active { "active" } else { "inactive" };
                    println!("{}\t{}\t{state}", h.name, h.event);
                }
            }
        }
        EventHandlerCommand::Get { name, conn } => {
            let mut c = MetadataServiceClient::new(channel(&conn).await?);
            let r = c
                .get_event_handler(pb::GetEventHandlerRequest { name })
                .await?
                .into_inner();
            print_json(&r.handler.as_ref().map(handler_json).unwrap_or_default());
        }
        EventHandlerCommand::Delete { name, conn } => {
            let mut c = MetadataServiceClient::new(channel(&conn).await?);
            c.delete_event_handler(pb::DeleteEventHandlerRequest { name: name.clone() })
                .await?;
            if conn.json {
                print_json(&json!({"name": name, "result": "deleted"}));
            } else {
                println!("event handler {name} deleted");
            }
        }
    }
    Ok(())
}

fn done(conn: &Conn, what: &str, id: &str) {
    if conn.json {
        print_json(&json!({"workflowId": id, "result": what}));
    } else {
        println!("{id} {what}");
    }
}

/// A value quoted for the query language.
fn quoted(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Values quoted and comma-joined for IN (...).
fn quoted_list(vs: &[String]) -> String {
    vs.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(",")
}

/// Prints the run an execute or a wait answered; an error when what was waited for did not
/// happen within `wait` seconds.
fn report_wait(
    workflow: Option<pb::Workflow>,
    done: bool,
    wait_until: Option<String>,
    wait: i32,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(w) = workflow {
        print_workflow(&w, json);
    }
    if done {
        return Ok(());
    }
    match wait_until {
        Some(t) => bail!("neither task {t} nor the workflow finished within {wait} seconds"),
        None => bail!("the workflow did not finish within {wait} seconds"),
    }
}

/// A time for a table: RFC 3339 to the second, or "-".
fn when(t: Option<&prost_types::Timestamp>) -> String {
    match t {
        Some(t) if t.seconds > 0 => {
            let t = prost_types::Timestamp {
                seconds: t.seconds,
                nanos: 0,
            };
            t.to_string()
        }
        _ => "-".into(),
    }
}

/// A duration for a table: "-" until it ended.
fn took(ended: bool, ms: i64) -> String {
    if !ended {
        "-".into()
    } else if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// The line under a table: which rows of how many.
fn page_line(start: i32, shown: usize, total: i64) -> String {
    if shown == 0 {
        format!("no results of {total}")
    } else {
        format!("{}-{} of {total}", start + 1, start as usize + shown)
    }
}

/// Runs a workflow search and prints it.
async fn search_workflows(
    query: String,
    free_text: String,
    by_tasks: bool,
    page: PageArgs,
    conn: Conn,
) -> anyhow::Result<()> {
    let mut c = WorkflowServiceClient::new(channel(&conn).await?);
    let r = c
        .search_workflows(pb::SearchWorkflowsRequest {
            query,
            free_text,
            sort: page.sort,
            start: page.start,
            size: Some(page.size),
            by_tasks,
        })
        .await?
        .into_inner();
    let status = workflow_status_name;
    if conn.json {
        let rows: Vec<Value> = r
            .results
            .iter()
            .map(|w| {
                json!({
                    "workflowId": w.workflow_id,
                    "workflowType": w.workflow_type,
                    "version": w.version,
                    "status": status(w.status),
                    "correlationId": w.correlation_id,
                    "startTime": w.start_time.as_ref().map(baton_grpc::convert::ms),
                    "updateTime": w.update_time.as_ref().map(baton_grpc::convert::ms),
                    "endTime": w.end_time.as_ref().map(baton_grpc::convert::ms),
                    "executionTime": w.execution_time_ms,
                    "reasonForIncompletion": w.reason_for_incompletion,
                    "failedReferenceTaskNames": w.failed_reference_task_names,
                    "priority": w.priority,
                    "idempotencyKey": w.idempotency_key,
                    "input": struct_json(&w.input),
                    "output": struct_json(&w.output),
                })
            })
            .collect();
        print_json(&json!({"totalHits": r.total_hits, "results": rows}));
    } else {
        println!(
            "{:<38} {:<24} {:>4} {:<10} {:<24} {:>9} {:<}",
            "WORKFLOW ID", "NAME", "VER", "STATUS", "STARTED", "TOOK", "CORRELATION ID"
        );
        for w in &r.results {
            println!(
                "{:<38} {:<24} {:>4} {:<10} {:<24} {:>9} {}",
                w.workflow_id,
                w.workflow_type,
                w.version,
                status(w.status),
                when(w.start_time.as_ref()),
                took(w.end_time.is_some(), w.execution_time_ms),
                w.correlation_id.as_deref().unwrap_or("-")
            );
        }
        println!("{}", page_line(page.start, r.results.len(), r.total_hits));
    }
    Ok(())
}
