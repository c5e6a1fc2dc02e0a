//! The command-line client: definitions and workflow operations over gRPC.

use std::path::PathBuf;

use anyhow::{Context, bail};
use baton_proto::v1 as pb;
use baton_proto::v1::metadata_service_client::MetadataServiceClient;
use baton_proto::v1::workflow_service_client::WorkflowServiceClient;
use baton_server::convert::{object_to_struct, struct_to_object};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Where the server is and how to print.
#[derive(Args, Clone)]
pub struct Conn {
    /// Server address.
    #[arg(
        long,
        env = "BATON_SERVER",
        default_value = "http://127.0.0.1:7070",
        global = true
    )]
    server: String,
    /// Print JSON for scripts instead of readable text.
    #[arg(long, global = true)]
    json: bool,
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
}

async fn channel(conn: &Conn) -> anyhow::Result<Channel> {
    Channel::from_shared(conn.server.clone())
        .with_context(|| format!("bad server address {}", conn.server))?
        .connect()
        .await
        .with_context(|| format!("cannot reach baton server at {}", conn.server))
}

fn read_json(file: &PathBuf) -> anyhow::Result<Value> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))
}

fn definition(v: &Value) -> pb::Definition {
    pb::Definition {
        body: Some(pb::definition::Body::JsonText(v.to_string())),
    }
}

fn print_json(v: &Value) {
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

fn workflow_json(w: &pb::Workflow) -> Value {
    let status = |s: i32| {
        pb::WorkflowStatus::try_from(s)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("WORKFLOW_STATUS_")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let tstatus = |s: i32| {
        pb::TaskStatus::try_from(s)
            .map(|s| {
                s.as_str_name()
                    .trim_start_matches("TASK_STATUS_")
                    .to_string()
            })
            .unwrap_or_default()
    };
    let obj = |s: &Option<prost_types::Struct>| {
        Value::Object(s.as_ref().map(struct_to_object).unwrap_or_default())
    };
    json!({
        "workflowId": w.workflow_id,
        "workflowName": w.workflow_name,
        "workflowVersion": w.workflow_version,
        "status": status(w.status),
        "correlationId": w.correlation_id,
        "reasonForIncompletion": w.reason_for_incompletion,
        "input": obj(&w.input),
        "output": obj(&w.output),
        "tasks": w.tasks.iter().map(|t| json!({
            "taskId": t.task_id,
            "referenceTaskName": t.reference_task_name,
            "taskType": t.task_type,
            "status": tstatus(t.status),
            "retryCount": t.retry_count,
            "pollCount": t.poll_count,
            "workerId": t.worker_id,
            "reasonForIncompletion": t.reason_for_incompletion,
            "input": obj(&t.input),
            "output": obj(&t.output),
        })).collect::<Vec<_>>(),
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
    if !w.correlation_id.is_empty() {
        println!("correlation {}", w.correlation_id);
    }
    if !w.reason_for_incompletion.is_empty() {
        println!("reason   {}", w.reason_for_incompletion);
    }
    println!("input    {}", v["input"]);
    println!("output   {}", v["output"]);
    for t in v["tasks"].as_array().into_iter().flatten() {
        println!(
            "  - {:<24} {:<28} retry {}  {}",
            t["referenceTaskName"].as_str().unwrap_or(""),
            t["status"].as_str().unwrap_or(""),
            t["retryCount"],
            t["reasonForIncompletion"].as_str().unwrap_or("")
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
        WorkflowCommand::Retry { id, conn } => {
            let mut c = WorkflowServiceClient::new(channel(&conn).await?);
            c.retry_workflow(pb::RetryWorkflowRequest {
                workflow_id: id.clone(),
                resume_subworkflow_tasks: false,
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
