//! Carries out the jobs the decider asks for (scripts, jq, HTTP calls) off the executor
//! threads, and reports each outcome to the execution that asked, as an event.
//!
//! Scripts and jq run on tokio's blocking pool, each under the limits of
//! [`ScriptLimits`]; HTTP calls run as tasks on the runtime with one shared client. A job
//! is released only after the decision that asked for it is durable; after a restart the
//! decider asks again for every job still awaited, so a job may run more than once.

use std::sync::Arc;

use baton_core::decider::{ChildStart, Event, Job, JobOutcome, TaskResult};
use baton_core::event_handler::{ActionKind, EventAction, StartWorkflowAction, TaskAction};
use baton_core::expr;
use baton_core::model::Object;
use baton_core::state::{TaskStatus, WorkflowStatus};
use baton_systask::http::HttpLimits;
use baton_systask::jq::JqLimits;
use baton_systask::{Outcome, ScriptLimits};
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::error::EngineError;
use crate::runtime::ingress::{Ingress, StartRequest};
use crate::runtime::msg::Router;

/// Limits for the jobs the runtime carries out.
#[derive(Debug, Clone, Default)]
pub struct JobLimits {
    /// Per-evaluation limits of scripts.
    pub script: ScriptLimits,
    /// Per-evaluation limits of jq queries.
    pub jq: JqLimits,
    /// Limits of HTTP calls.
    pub http: HttpLimits,
}

/// Runs jobs and reports their outcomes.
pub(crate) struct JobRunner {
    router: Router,
    handle: Handle,
    http: reqwest::Client,
    limits: Arc<JobLimits>,
    /// Bounds the scripts and queries evaluated at once, so that a burst of them cannot
    /// take every blocking thread.
    cpu: Arc<Semaphore>,
    /// The way into the executors, for the workflows executions ask to start and the
    /// results event handlers report.
    ingress: Arc<Ingress>,
}

impl JobRunner {
    /// A runner on the current tokio runtime.
    pub(crate) fn new(ingress: Arc<Ingress>, limits: JobLimits) -> Result<Self, EngineError> {
        let router = ingress.router.clone();
        let cpu = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
        let http = baton_systask::http::default_client(&limits.http)
            .map_err(|e| EngineError::Storage(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            router,
            handle: Handle::current(),
            http,
            limits: Arc::new(limits),
            cpu: Arc::new(Semaphore::new(cpu)),
            ingress,
        })
    }

    /// Retries `child_id`, the ended child of the SUB_WORKFLOW task `task_id` of
    /// `workflow_id`, in place; if it cannot be retried, the task hears that the child
    /// failed, with the reason.
    pub(crate) fn retry_child(&self, workflow_id: String, task_id: String, child_id: String) {
        let (ingress, router) = (self.ingress.clone(), self.router.clone());
        self.handle.spawn(async move {
            let retried = ingress
                .event(
                    &child_id,
                    Event::Retry {
                        resume_subworkflow_tasks: true,
                    },
                )
                .await;
            let Err(e) = retried else {
                return;
            };
            router.tell(
                &workflow_id,
                Event::ChildEnded {
                    task_id,
                    child_id: child_id.clone(),
                    status: WorkflowStatus::Failed,
                    output: Object::new(),
                    reason: Some(format!("cannot retry sub-workflow {child_id}: {e}")),
                },
            );
        });
    }

    /// Starts the workflow `request` describes, for `workflow_id` (and its task `task_id`),
    /// and reports back: a START_WORKFLOW task hears of the start, a SUB_WORKFLOW task of a
    /// child that could not start or had already ended.
    pub(crate) fn start_workflow(
        &self,
        workflow_id: String,
        task_id: Option<String>,
        request: ChildStart,
    ) {
        let (ingress, router) = (self.ingress.clone(), self.router.clone());
        self.handle.spawn(async move {
            let child_id = request.workflow_id.clone();
            let name = request.name.clone();
            let sub_workflow = request.parent.is_some();
            let started = ingress.start_requested(request).await;
            let event = match (task_id, started) {
                (None, Ok(_)) | (None, Err(EngineError::AlreadyExists(_))) => return,
                (None, Err(e)) => {
                    tracing::warn!(workflow = %workflow_id, failure_workflow = %name, error = %e,
                        "cannot start the failure workflow");
                    return;
                }
                (Some(_), Ok(_)) if sub_workflow => return,
                (Some(task_id), Ok(id)) => Event::JobDone {
                    task_id,
                    outcome: started_outcome(&id),
                },
                (Some(task_id), Err(EngineError::AlreadyExists(_))) if sub_workflow => {
                    // Asked again after a restart: report a child that ended meanwhile.
                    let store = ingress.store.clone();
                    let id = child_id.clone();
                    let loaded =
                        tokio::task::spawn_blocking(move || store.load_workflow(&id)).await;
                    let Ok(Ok(Some(child))) = loaded else {
                        return;
                    };
                    if !child.status.is_terminal() {
                        return;
                    }
                    Event::ChildEnded {
                        task_id,
                        child_id,
                        status: child.status,
                        output: child.output,
                        reason: child.reason_for_incompletion,
                    }
                }
                (Some(task_id), Err(EngineError::AlreadyExists(_))) => Event::JobDone {
                    task_id,
                    outcome: started_outcome(&child_id),
                },
                (Some(task_id), Err(e)) if sub_workflow => Event::ChildNotStarted {
                    task_id,
                    child_id,
                    reason: format!("cannot start sub-workflow {name}: {e}"),
                },
                (Some(task_id), Err(e)) => Event::JobDone {
                    task_id,
                    outcome: JobOutcome {
                        status: TaskStatus::Failed,
                        output: Object::new(),
                        reason: Some(format!("cannot start workflow {name}: {e}")),
                    },
                },
            };
            router.tell(&workflow_id, event);
        });
    }

    /// Starts `job` for `task_id` of `workflow_id`; its outcome comes back as
    /// [`Event::JobDone`].
    pub(crate) fn run(&self, workflow_id: String, task_id: String, job: Job) {
        let router = self.router.clone();
        let limits = Arc::clone(&self.limits);
        // An event's message is known by the id of the EVENT task that published it.
        let message_id = task_id.clone();
        let report = move |outcome: JobOutcome| {
            router.tell(&workflow_id, Event::JobDone { task_id, outcome });
        };
        match job {
            Job::Publish { event, payload } => {
                let ingress = self.ingress.clone();
                let handle = self.handle.clone();
                self.handle.spawn(async move {
                    let started = std::time::Instant::now();
                    let published = publish(&ingress, &handle, &limits, event, message_id, payload);
                    let outcome = published.await;
                    crate::telemetry::job("event", outcome.status.as_str(), started.elapsed());
                    report(outcome);
                });
            }
            Job::Http { input } => {
                let client = self.http.clone();
                self.handle.spawn(async move {
                    let started = std::time::Instant::now();
                    let outcome = baton_systask::http::call(&client, &input, &limits.http).await;
                    let outcome = from_outcome(outcome);
                    crate::telemetry::job("http", outcome.status.as_str(), started.elapsed());
                    report(outcome);
                });
            }
            cpu_job => {
                let cpu = Arc::clone(&self.cpu);
                let handle = self.handle.clone();
                self.handle.spawn(async move {
                    let Ok(_permit) = cpu.acquire_owned().await else {
                        return;
                    };
                    let kind = match &cpu_job {
                        Job::Jq { .. } => "jq",
                        _ => "script",
                    };
                    // Timed on the blocking thread: the wait for a CPU permit is not the job's.
                    let done = handle
                        .spawn_blocking(move || {
                            let started = std::time::Instant::now();
                            let outcome = evaluate(cpu_job, &limits);
                            crate::telemetry::job(kind, outcome.status.as_str(), started.elapsed());
                            outcome
                        })
                        .await;
                    let outcome = done.unwrap_or_else(|e| failed(format!("the job panicked: {e}")));
                    report(outcome);
                });
            }
        }
    }
}

/// Runs a script or jq job.
fn evaluate(job: Job, limits: &JobLimits) -> JobOutcome {
    match job {
        Job::Script {
            script,
            bindings,
            body,
        } => {
            let input = Value::Object(bindings);
            let value = if body {
                baton_systask::script::eval_lambda(&script, &input, &limits.script)
            } else {
                baton_systask::script::eval(&script, &input, &limits.script)
            };
            match value {
                Ok(v) => {
                    let mut output = Object::new();
                    output.insert("result".to_string(), v);
                    JobOutcome {
                        status: TaskStatus::Completed,
                        output,
                        reason: None,
                    }
                }
                // As in Conductor, an expression (INLINE) that fails the same way on every
                // try fails for good; a LAMBDA body and a timed-out script fail retryably.
                Err(e) if !body && !e.is_transient() => JobOutcome {
                    status: TaskStatus::FailedWithTerminalError,
                    ..failed(e.to_string())
                },
                Err(e) => failed(e.to_string()),
            }
        }
        Job::Jq { input } => from_outcome(baton_systask::jq::jq_transform(&input, &limits.jq)),
        Job::Http { .. } | Job::Publish { .. } => failed("not a CPU job".to_string()),
    }
}

/// Hands an event to the active handlers registered for it: each handler whose
/// condition holds runs its actions in order. The EVENT task completes with what was
/// done; a failing action is reported in its output without failing the task (the event
/// was published). The message is known by `message_id`, its EVENT task's id.
async fn publish(
    ingress: &Arc<Ingress>,
    handle: &Handle,
    limits: &Arc<JobLimits>,
    event: String,
    message_id: String,
    payload: Object,
) -> JobOutcome {
    let mut handled = Vec::new();
    let mut errors = Vec::new();
    for h in ingress.registry.event_handlers(Some(&event), true) {
        if let Some(condition) = h.condition.clone().filter(|c| !c.trim().is_empty()) {
            let input = Value::Object(payload.clone());
            let limits = Arc::clone(limits);
            let verdict = handle
                .spawn_blocking(move || {
                    baton_systask::script::eval(&condition, &input, &limits.script)
                })
                .await;
            match verdict {
                Ok(Ok(v)) if baton_systask::script::truthy(&v) => {}
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => {
                    errors.push(format!("handler {}: condition: {e}", h.name));
                    continue;
                }
                Err(e) => {
                    errors.push(format!("handler {}: condition: {e}", h.name));
                    continue;
                }
            }
        }
        for (i, action) in h.actions.iter().enumerate() {
            if let Err(e) = run_action(ingress, action, &payload, &event, &message_id).await {
                errors.push(format!(
                    "handler {} action {i} ({}): {e}",
                    h.name,
                    action.action.as_str()
                ));
            }
        }
        handled.push(Value::from(h.name.as_str()));
    }
    if !errors.is_empty() {
        tracing::warn!(%event, errors = ?errors, "event handler actions failed");
    }
    let mut output = Object::new();
    output.insert("handlers".to_string(), Value::Array(handled));
    if !errors.is_empty() {
        output.insert(
            "actionErrors".to_string(),
            Value::Array(errors.into_iter().map(Value::String).collect()),
        );
    }
    JobOutcome {
        status: TaskStatus::Completed,
        output,
        reason: None,
    }
}

/// Runs one handler action, its `${...}` expressions read from the event payload. As in
/// Conductor, a workflow it starts finds the event's name and message id in its input
/// (`conductor.event.name`, `conductor.event.messageId`).
async fn run_action(
    ingress: &Arc<Ingress>,
    action: &EventAction,
    payload: &Object,
    event: &str,
    message_id: &str,
) -> Result<(), String> {
    let mut scope = payload.clone();
    if action.expand_inline_json {
        for v in scope.values_mut() {
            if let Value::String(s) = v
                && let Ok(parsed) = serde_json::from_str::<Value>(s)
            {
                *v = parsed;
            }
        }
    }
    let resolve = |v: Value| expr::resolve_value(&v, &scope).map_err(|e| e.to_string());
    match action.action {
        ActionKind::StartWorkflow => {
            let p = action
                .start_workflow
                .as_ref()
                .ok_or("start_workflow has no parameters")?;
            let resolved = resolve(serde_json::to_value(p).map_err(|e| e.to_string())?)?;
            let mut p: StartWorkflowAction =
                serde_json::from_value(resolved).map_err(|e| e.to_string())?;
            p.input
                .insert("conductor.event.messageId".into(), Value::from(message_id));
            p.input
                .insert("conductor.event.name".into(), Value::from(event));
            ingress
                .start(StartRequest {
                    name: p.name,
                    version: p.version,
                    input: p.input,
                    correlation_id: p.correlation_id,
                    task_to_domain: p.task_to_domain,
                    ..Default::default()
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        ActionKind::CompleteTask | ActionKind::FailTask => {
            let complete = action.action == ActionKind::CompleteTask;
            let p = if complete {
                action.complete_task.as_ref()
            } else {
                action.fail_task.as_ref()
            }
            .ok_or("the action has no parameters")?;
            let resolved = resolve(serde_json::to_value(p).map_err(|e| e.to_string())?)?;
            let p: TaskAction = serde_json::from_value(resolved).map_err(|e| e.to_string())?;
            let result = TaskResult {
                task_id: p.task_id.clone().unwrap_or_default(),
                token: None,
                status: if complete {
                    TaskStatus::Completed
                } else {
                    TaskStatus::Failed
                },
                output: p.output,
                reason_for_incompletion: (!complete).then(|| "failed by an event".to_string()),
                logs: Vec::new(),
                callback_after_seconds: 0,
                worker_id: None,
            };
            match (p.workflow_id, p.task_ref_name, p.task_id) {
                (Some(wf), Some(reference), _) => ingress
                    .update_task_by_ref(&wf, &reference, result)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                (wf, _, Some(_)) => ingress
                    .update_task(wf.as_deref().unwrap_or(""), result)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                _ => Err("name the task by workflowId and taskRefName, or by taskId".to_string()),
            }
        }
    }
}

fn started_outcome(id: &str) -> JobOutcome {
    let mut output = Object::new();
    output.insert("workflowId".to_string(), Value::from(id));
    JobOutcome {
        status: TaskStatus::Completed,
        output,
        reason: None,
    }
}

fn failed(reason: String) -> JobOutcome {
    let mut output = Object::new();
    output.insert("error".to_string(), Value::String(reason.clone()));
    JobOutcome {
        status: TaskStatus::Failed,
        output,
        reason: Some(reason),
    }
}

fn from_outcome(o: Outcome) -> JobOutcome {
    match o {
        Outcome::Completed(output) => JobOutcome {
            status: TaskStatus::Completed,
            output,
            reason: None,
        },
        Outcome::InProgress(output) => JobOutcome {
            status: TaskStatus::InProgress,
            output,
            reason: None,
        },
        Outcome::Failed {
            reason,
            output,
            terminal,
        } => JobOutcome {
            status: if terminal {
                TaskStatus::FailedWithTerminalError
            } else {
                TaskStatus::Failed
            },
            output,
            reason: Some(reason),
        },
    }
}
