//! `/api/workflow`: start, execute, read, steer and bulk operations on executions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_core::decider::definition_reference;
use baton_core::{TaskResult, TaskStatus};
use baton_server::service::{BulkOp, ExecuteRequest};
use baton_server::{EngineError, IdempotencyStrategy, Service, StartRequest};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Body, OptBody, Q, flag, int};
use crate::model::{
    BulkResponse, CorrelationIds, ErrorBody, Object, RerunWorkflowRequest, SkipTaskRequest,
    StartWorkflowRequest, TaskMock, Workflow, WorkflowIds, WorkflowRun, WorkflowTestRequest,
};
use crate::views;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(get_workflow, start_by_name, terminate))
        .routes(routes!(execute))
        .routes(routes!(wait))
        .routes(routes!(watch))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(restart))
        .routes(routes!(retry))
        .routes(routes!(rerun))
        .routes(routes!(skip_task))
        .routes(routes!(remove))
        .routes(routes!(decide))
        .routes(routes!(reset_callbacks))
        .routes(routes!(test_run))
        .routes(routes!(correlated))
        .routes(routes!(correlated_many))
        .routes(routes!(running))
        .routes(routes!(bulk_pause))
        .routes(routes!(bulk_resume))
        .routes(routes!(bulk_restart))
        .routes(routes!(bulk_retry))
        .routes(routes!(bulk_terminate))
        .routes(routes!(bulk_remove))
        .routes(routes!(bulk_terminate_remove))
}

pub(crate) fn text(s: impl Into<String>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        s.into(),
    )
        .into_response()
}

fn start_request(svc: &Service, r: StartWorkflowRequest) -> Result<StartRequest, ApiError> {
    let definition = match r.workflow_def {
        Some(v) => Some(Arc::new(svc.parse_workflow_def(&v)?)),
        None => None,
    };
    let name = match (&definition, r.name.filter(|n| !n.is_empty())) {
        (Some(d), _) => d.name.clone(),
        (None, Some(n)) => n,
        (None, None) => return Err(ApiError::field("name", "a workflow name is required")),
    };
    Ok(StartRequest {
        name,
        version: definition.as_ref().map(|d| d.version).or(r.version),
        input: r.input.unwrap_or_default(),
        correlation_id: r.correlation_id,
        priority: r.priority.unwrap_or(0),
        task_to_domain: r.task_to_domain.unwrap_or_default(),
        idempotency_key: r.idempotency_key,
        idempotency_strategy: idempotency_strategy(r.idempotency_strategy.as_deref())?,
        definition,
    })
}

/// The idempotency strategy named (FAIL when absent); any other name is refused rather
/// than read as FAIL.
fn idempotency_strategy(name: Option<&str>) -> Result<IdempotencyStrategy, ApiError> {
    match name {
        None => Ok(IdempotencyStrategy::Fail),
        Some(s @ ("FAIL" | "RETURN_EXISTING" | "FAIL_ON_RUNNING")) => {
            Ok(IdempotencyStrategy::parse(s))
        }
        Some(other) => Err(ApiError::field(
            "idempotencyStrategy",
            format!("{other:?}: the strategy may be FAIL, RETURN_EXISTING or FAIL_ON_RUNNING"),
        )),
    }
}

/// Starts an execution; answers its id as text.
#[utoipa::path(
    post, path = "/api/workflow", tag = "workflow",
    request_body = StartWorkflowRequest,
    responses(
        (status = 200, description = "The new execution's id", body = String, content_type = "text/plain"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition", body = ErrorBody),
        (status = 409, description = "Idempotency key already used", body = ErrorBody),
    )
)]
async fn start(
    State(svc): State<Service>,
    Body(req): Body<StartWorkflowRequest>,
) -> Result<Response, ApiError> {
    let req = start_request(&svc, req)?;
    Ok(text(svc.start_workflow(req).await?))
}

/// Query of a start by name.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct StartByName {
    /// Definition version (latest when absent).
    #[param(value_type = Option<i32>)]
    version: Option<String>,
    /// Correlation id.
    correlation_id: Option<String>,
    /// Priority 0-99.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 99)]
    priority: Option<String>,
}

/// Starts an execution of the definition named in the path, with the body as input;
/// answers its id as text.
#[utoipa::path(
    post, path = "/api/workflow/{workflowId}", tag = "workflow",
    params(("workflowId" = String, Path, description = "For this route, the definition's name"), StartByName),
    request_body(content = Object, description = "The input", content_type = "application/json"),
    responses(
        (status = 200, description = "The new execution's id", body = String, content_type = "text/plain"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition", body = ErrorBody),
    )
)]
async fn start_by_name(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<StartByName>,
    OptBody(input): OptBody<Object>,
) -> Result<Response, ApiError> {
    let req = StartRequest {
        name,
        version: int(q.version.as_deref(), "version")?,
        input: input.unwrap_or_default(),
        correlation_id: q.correlation_id,
        priority: int(q.priority.as_deref(), "priority")?.unwrap_or(0),
        ..Default::default()
    };
    Ok(text(svc.start_workflow(req).await?))
}

/// Query of an execute.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ExecuteQuery {
    /// Echoed in the answer.
    request_id: Option<String>,
    /// Answer once one of these task references (comma-separated) has finished.
    wait_until_task_ref: Option<String>,
    /// Seconds to wait, 1-300 (10 when absent or 0).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 300)]
    wait_for_seconds: Option<String>,
}

/// Starts an execution and waits until it ends (or a named task finishes, or the wait
/// passes); answers the run as it then stands. Version 0 is the latest.
#[utoipa::path(
    post, path = "/api/workflow/execute/{name}/{version}", tag = "workflow",
    params(
        ("name" = String, Path, description = "Definition name"),
        ("version" = i32, Path, description = "Definition version; 0 for the latest"),
        ExecuteQuery,
    ),
    request_body = StartWorkflowRequest,
    responses(
        (status = 200, description = "The run", body = WorkflowRun),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition or task reference", body = ErrorBody),
    )
)]
async fn execute(
    State(svc): State<Service>,
    Path((name, version)): Path<(String, String)>,
    Q(q): Q<ExecuteQuery>,
    OptBody(body): OptBody<StartWorkflowRequest>,
) -> Result<Json<WorkflowRun>, ApiError> {
    let version: i32 = int(Some(&version), "version")?.unwrap_or(0);
    let mut body = body.unwrap_or_default();
    body.name = Some(name);
    if version > 0 {
        body.version = Some(version);
    }
    let start = start_request(&svc, body)?;
    let refs: Vec<String> = q
        .wait_until_task_ref
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let wait_seconds = int(q.wait_for_seconds.as_deref(), "waitForSeconds")?.unwrap_or(10);
    let outcome = if refs.len() <= 1 {
        svc.execute_workflow(ExecuteRequest {
            start,
            wait_seconds,
            wait_until_task_ref: refs.into_iter().next().unwrap_or_default(),
        })
        .await?
    } else {
        execute_until_any(&svc, start, wait_seconds, &refs).await?
    };
    Ok(Json(run_answer(&svc, &outcome, q.request_id)))
}

/// The answer of an execute or a wait: the run as it stood when the wait ended, in
/// Conductor's shape, with the caller's request id.
fn run_answer(
    svc: &Service,
    outcome: &baton_server::service::ExecuteOutcome,
    request_id: Option<String>,
) -> WorkflowRun {
    let (wf, tasks) = &outcome.view;
    let def = svc
        .workflow_def(&wf.workflow_name, Some(wf.workflow_version))
        .ok();
    views::run(views::workflow(wf, tasks, def.as_deref(), svc), request_id)
}

/// Starts and waits until any of several task references has finished.
async fn execute_until_any(
    svc: &Service,
    start: StartRequest,
    wait_seconds: i32,
    refs: &[String],
) -> Result<baton_server::service::ExecuteOutcome, ApiError> {
    // 0 means the default wait, as for a single reference.
    let wait_seconds = if wait_seconds == 0 { 10 } else { wait_seconds };
    if !(1..=300).contains(&wait_seconds) {
        return Err(ApiError::field(
            "waitForSeconds",
            format!("{wait_seconds} is outside 1-300"),
        ));
    }
    let id = svc.start_workflow(start).await?;
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let (status, done) = svc
        .wait_for_tasks(&id, &refs, Duration::from_secs(wait_seconds as u64))
        .await?;
    let view = svc.workflow(&id, true).await?;
    Ok(baton_server::service::ExecuteOutcome {
        finished: status.is_terminal() || view.0.status.is_terminal(),
        view,
        task_ref_finished: done,
    })
}

/// Query of a wait on an existing execution.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct WaitQuery {
    /// Echoed in the answer.
    request_id: Option<String>,
    /// Answer once this task reference has finished.
    wait_until_task_ref: Option<String>,
    /// Seconds to wait, 1-300 (10 when absent or 0).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 300)]
    wait_for_seconds: Option<String>,
}

/// Waits for an execution that is already running to end (or a named task of it to
/// finish, or the wait to pass) without starting anything; answers the run as it then
/// stands, as an execute does.
#[utoipa::path(
    get, path = "/api/workflow/{workflowId}/wait", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id"), WaitQuery),
    responses(
        (status = 200, description = "The run", body = WorkflowRun),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution or task reference", body = ErrorBody),
    )
)]
async fn wait(
    State(svc): State<Service>,
    Path(id): Path<String>,
    Q(q): Q<WaitQuery>,
) -> Result<Json<WorkflowRun>, ApiError> {
    let wait_seconds = int(q.wait_for_seconds.as_deref(), "waitForSeconds")?.unwrap_or(10);
    let outcome = svc
        .wait_workflow(
            &id,
            wait_seconds,
            q.wait_until_task_ref.as_deref().unwrap_or(""),
        )
        .await?;
    Ok(Json(run_answer(&svc, &outcome, q.request_id)))
}

/// Query of a read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct GetQuery {
    /// Include the task instances (true when absent).
    #[param(value_type = Option<bool>)]
    include_tasks: Option<String>,
}

/// Reads an execution.
#[utoipa::path(
    get, path = "/api/workflow/{workflowId}", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id"), GetQuery),
    responses(
        (status = 200, description = "The execution", body = Workflow),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution", body = ErrorBody),
    )
)]
async fn get_workflow(
    State(svc): State<Service>,
    Path(id): Path<String>,
    Q(q): Q<GetQuery>,
) -> Result<Json<Workflow>, ApiError> {
    let include = flag(q.include_tasks.as_deref(), "includeTasks", true)?;
    if include {
        let e = svc.execution(&id).await?;
        Ok(Json(views::workflow(
            &e.workflow,
            &e.tasks,
            Some(&e.def),
            &svc,
        )))
    } else {
        let (w, _) = svc.workflow(&id, false).await?;
        Ok(Json(views::workflow(&w, &[], None, &svc)))
    }
}

/// Least time between two pushes of one watched execution.
const WATCH_SPACING: Duration = Duration::from_millis(250);

/// Pushes an execution (with its tasks, as a read answers it) as server-sent events: one
/// `workflow` event at once and another after each stored change, at most four a second;
/// the stream stays open across the run's end (a retry or restart shows too) and closes
/// with a `removed` event when the execution is deleted.
#[utoipa::path(
    get, path = "/api/workflow/{workflowId}/watch", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Server-sent events: `workflow` (data: the execution \
            as GET /api/workflow/{workflowId} answers it) and `removed`", content_type = "text/event-stream"),
        (status = 404, description = "No such execution", body = ErrorBody),
    )
)]
async fn watch(State(svc): State<Service>, Path(id): Path<String>) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // Watched before the first read, so no change between the two goes unseen.
    let watch = svc.watch_workflow(&id);
    let first = svc.execution(&id).await?;
    let first = serde_json::to_string(&views::workflow(
        &first.workflow,
        &first.tasks,
        Some(&first.def),
        &svc,
    ))
    .unwrap_or_default();
    struct Watching {
        svc: Service,
        id: String,
        watch: baton_server::runtime::waiters::Watch,
        last: String,
        pending: Option<Event>,
        gone: bool,
    }
    let state = Watching {
        svc,
        id,
        watch,
        pending: Some(Event::default().event("workflow").data(first.clone())),
        last: first,
        gone: false,
    };
    let events = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(e) = st.pending.take() {
            return Some((Ok::<_, std::convert::Infallible>(e), st));
        }
        if st.gone {
            return None;
        }
        loop {
            tokio::time::sleep(WATCH_SPACING).await;
            if !st.watch.changed().await {
                // The execution ended (or was removed); a new watch sees it reopen.
                st.watch = st.svc.watch_workflow(&st.id);
            }
            match st.svc.execution(&st.id).await {
                Ok(e) => {
                    let json = serde_json::to_string(&views::workflow(
                        &e.workflow,
                        &e.tasks,
                        Some(&e.def),
                        &st.svc,
                    ))
                    .unwrap_or_default();
                    if json != st.last {
                        st.last = json.clone();
                        let e = Event::default().event("workflow").data(json);
                        return Some((Ok(e), st));
                    }
                }
                Err(EngineError::NotFound(_)) => {
                    st.gone = true;
                    let e = Event::default().event("removed").data(st.id.clone());
                    return Some((Ok(e), st));
                }
                Err(e) => {
                    tracing::debug!(workflow_id = %st.id, error = %e, "watch read failed");
                }
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Query of a terminate.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReasonQuery {
    /// Why.
    reason: Option<String>,
}

/// Terminates an execution.
#[utoipa::path(
    delete, path = "/api/workflow/{workflowId}", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id"), ReasonQuery),
    responses(
        (status = 200, description = "Terminated"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution", body = ErrorBody),
        (status = 409, description = "Already ended", body = ErrorBody),
    )
)]
async fn terminate(
    State(svc): State<Service>,
    Path(id): Path<String>,
    Q(q): Q<ReasonQuery>,
) -> Result<StatusCode, ApiError> {
    svc.terminate(&id, q.reason).await?;
    Ok(StatusCode::OK)
}

/// Pauses an execution.
#[utoipa::path(
    put, path = "/api/workflow/{workflowId}/pause", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Paused"),
        (status = 404, description = "No such execution", body = ErrorBody),
        (status = 409, description = "Not running", body = ErrorBody),
    )
)]
async fn pause(State(svc): State<Service>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    svc.pause(&id).await?;
    Ok(StatusCode::OK)
}

/// Resumes a paused execution.
#[utoipa::path(
    put, path = "/api/workflow/{workflowId}/resume", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Resumed"),
        (status = 404, description = "No such execution", body = ErrorBody),
        (status = 409, description = "Not paused", body = ErrorBody),
    )
)]
async fn resume(
    State(svc): State<Service>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    svc.resume(&id).await?;
    Ok(StatusCode::OK)
}

/// Query of a restart.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RestartQuery {
    /// Run the latest version of the definition.
    #[param(value_type = Option<bool>)]
    use_latest_definitions: Option<String>,
}

/// Restarts an ended execution from the beginning.
#[utoipa::path(
    post, path = "/api/workflow/{workflowId}/restart", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id"), RestartQuery),
    responses(
        (status = 200, description = "Restarted"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution", body = ErrorBody),
        (status = 409, description = "Not ended", body = ErrorBody),
    )
)]
async fn restart(
    State(svc): State<Service>,
    Path(id): Path<String>,
    Q(q): Q<RestartQuery>,
) -> Result<StatusCode, ApiError> {
    let latest = flag(
        q.use_latest_definitions.as_deref(),
        "useLatestDefinitions",
        false,
    )?;
    svc.restart(&id, latest).await?;
    Ok(StatusCode::OK)
}

/// Query of a retry.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RetryQuery {
    /// Retry inside failed sub-workflows instead of starting them again.
    #[param(value_type = Option<bool>)]
    resume_subworkflow_tasks: Option<String>,
}

/// Retries an ended execution from its last failed task.
#[utoipa::path(
    post, path = "/api/workflow/{workflowId}/retry", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id"), RetryQuery),
    responses(
        (status = 200, description = "Retried"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution", body = ErrorBody),
        (status = 409, description = "Nothing to retry", body = ErrorBody),
    )
)]
async fn retry(
    State(svc): State<Service>,
    Path(id): Path<String>,
    Q(q): Q<RetryQuery>,
) -> Result<StatusCode, ApiError> {
    let resume = flag(
        q.resume_subworkflow_tasks.as_deref(),
        "resumeSubworkflowTasks",
        false,
    )?;
    svc.retry(&id, resume).await?;
    Ok(StatusCode::OK)
}

/// Reruns an execution from one of its task instances (from the start when none is
/// named), with new inputs when given; answers the execution's id as text.
#[utoipa::path(
    post, path = "/api/workflow/{workflowId}/rerun", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id")),
    request_body = RerunWorkflowRequest,
    responses(
        (status = 200, description = "The execution's id", body = String, content_type = "text/plain"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution or task", body = ErrorBody),
    )
)]
async fn rerun(
    State(svc): State<Service>,
    Path(id): Path<String>,
    OptBody(body): OptBody<RerunWorkflowRequest>,
) -> Result<Response, ApiError> {
    let body = body.unwrap_or_default();
    if let Some(other) = body.re_run_from_workflow_id.as_deref()
        && !other.is_empty()
        && other != id
    {
        return Err(ApiError::field(
            "reRunFromWorkflowId",
            format!("{other} is not the execution in the path ({id})"),
        ));
    }
    match body.re_run_from_task_id.filter(|t| !t.is_empty()) {
        Some(task_id) => {
            svc.rerun(&id, &task_id, body.task_input, body.workflow_input)
                .await?
        }
        None => {
            // Without a task: from the first task of the execution.
            let (_, tasks) = svc.workflow(&id, true).await?;
            let first = tasks.first().ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    format!("workflow {id} has no task to rerun from"),
                )
            })?;
            svc.rerun(&id, &first.task_id, body.task_input, body.workflow_input)
                .await?
        }
    }
    Ok(text(id))
}

/// Skips a task of a running execution: now if it is scheduled, else when the flow
/// reaches it.
#[utoipa::path(
    put, path = "/api/workflow/{workflowId}/skiptask/{taskReferenceName}", tag = "workflow",
    params(
        ("workflowId" = String, Path, description = "Execution id"),
        ("taskReferenceName" = String, Path, description = "The task's reference name"),
    ),
    request_body = SkipTaskRequest,
    responses(
        (status = 200, description = "Skipped, or to be skipped"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution or task", body = ErrorBody),
        (status = 409, description = "Not running, or the task has ended", body = ErrorBody),
    )
)]
async fn skip_task(
    State(svc): State<Service>,
    Path((id, reference)): Path<(String, String)>,
    OptBody(body): OptBody<SkipTaskRequest>,
) -> Result<StatusCode, ApiError> {
    let body = body.unwrap_or_default();
    svc.skip_task(
        &id,
        &reference,
        body.task_input,
        body.task_output.unwrap_or_default(),
    )
    .await?;
    Ok(StatusCode::OK)
}

/// Query of a removal.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RemoveQuery {
    /// Accepted for Conductor's clients; the execution is deleted either way.
    #[param(value_type = Option<bool>)]
    archive_workflow: Option<String>,
}

/// Deletes an execution with its tasks.
#[utoipa::path(
    delete, path = "/api/workflow/{workflowId}/remove", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id"), RemoveQuery),
    responses(
        (status = 200, description = "Deleted"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution", body = ErrorBody),
    )
)]
async fn remove(
    State(svc): State<Service>,
    Path(id): Path<String>,
    Q(q): Q<RemoveQuery>,
) -> Result<StatusCode, ApiError> {
    flag(q.archive_workflow.as_deref(), "archiveWorkflow", true)?;
    svc.remove(&id).await?;
    Ok(StatusCode::OK)
}

/// Runs the decider over an execution now.
#[utoipa::path(
    put, path = "/api/workflow/decide/{workflowId}", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Decided"),
        (status = 404, description = "No such execution", body = ErrorBody),
    )
)]
async fn decide(
    State(svc): State<Service>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    svc.decide(&id).await?;
    Ok(StatusCode::OK)
}

/// Makes the tasks of an execution that wait for a callback ready at once.
#[utoipa::path(
    post, path = "/api/workflow/{workflowId}/resetcallbacks", tag = "workflow",
    params(("workflowId" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "Reset"),
        (status = 404, description = "No such execution", body = ErrorBody),
    )
)]
async fn reset_callbacks(
    State(svc): State<Service>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    svc.reset_callbacks(&id).await?;
    Ok(StatusCode::OK)
}

/// Longest a test run waits for the execution to move.
const TEST_RUN_WAIT: Duration = Duration::from_secs(30);

/// Runs a workflow with mocked task outcomes: each task instance whose reference has a
/// mock left ends with it as soon as it is scheduled; tasks without one run for real.
/// Answers the execution once it has ended, or once only tasks without a mock (waiting
/// for a worker or a signal) are left open.
#[utoipa::path(
    post, path = "/api/workflow/test", tag = "workflow",
    request_body = WorkflowTestRequest,
    responses(
        (status = 200, description = "The execution", body = Workflow),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition", body = ErrorBody),
    )
)]
async fn test_run(
    State(svc): State<Service>,
    Body(req): Body<WorkflowTestRequest>,
) -> Result<Json<Workflow>, ApiError> {
    let mut mocks: HashMap<String, std::collections::VecDeque<TaskMock>> = req
        .task_ref_to_mock_output
        .into_iter()
        .map(|(k, v)| (k, v.into()))
        .collect();
    for (reference, list) in &mocks {
        for (i, m) in list.iter().enumerate() {
            mock_status(m).map_err(|e| {
                ApiError::field(&format!("taskRefToMockOutput.{reference}[{i}].status"), e)
            })?;
        }
    }
    let start = start_request(&svc, req.start)?;
    let id = svc.start_workflow(start).await?;
    let deadline = tokio::time::Instant::now() + TEST_RUN_WAIT;
    let mut mocked: HashSet<String> = HashSet::new();
    let mut pause = Duration::from_millis(2);
    loop {
        let exec = svc.execution(&id).await?;
        if exec.workflow.status.is_terminal() {
            return Ok(Json(views::workflow(
                &exec.workflow,
                &exec.tasks,
                Some(&exec.def),
                &svc,
            )));
        }
        let mut acted = false;
        let mut busy = false;
        for t in exec.tasks.iter().filter(|t| !t.status.is_terminal()) {
            if mocked.contains(&t.task_id) {
                busy = true;
                continue;
            }
            let key = if mocks.contains_key(&t.reference_task_name) {
                t.reference_task_name.clone()
            } else {
                definition_reference(&t.reference_task_name).to_string()
            };
            let Some(m) = mocks.get_mut(&key).and_then(|q| q.pop_front()) else {
                // A system task the engine carries out moves by itself.
                busy |= t.job_pending || (t.task_type != "SIMPLE" && !waits_outside(&t.task_type));
                continue;
            };
            let result = TaskResult {
                task_id: String::new(),
                token: None,
                status: mock_status(&m).map_err(ApiError::bad_request)?,
                output: m.output.unwrap_or_default(),
                reason_for_incompletion: None,
                logs: Vec::new(),
                callback_after_seconds: 0,
                worker_id: Some("mock".to_string()),
            };
            mocked.insert(t.task_id.clone());
            svc.update_task_by_ref(&id, &t.reference_task_name, result)
                .await?;
            acted = true;
        }
        let now = tokio::time::Instant::now();
        if (!acted && !busy) || now >= deadline {
            return Ok(Json(views::workflow(
                &exec.workflow,
                &exec.tasks,
                Some(&exec.def),
                &svc,
            )));
        }
        if acted {
            pause = Duration::from_millis(2);
            continue;
        }
        let _ = svc.wait_closed(&id, pause.min(deadline - now)).await?;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Operators that wait for something outside the engine (a worker, a signal, an event).
fn waits_outside(task_type: &str) -> bool {
    matches!(task_type, "WAIT" | "HUMAN" | "EVENT" | "SUB_WORKFLOW")
}

fn mock_status(m: &TaskMock) -> Result<TaskStatus, String> {
    let s = m.status.as_deref().unwrap_or("COMPLETED");
    match TaskStatus::parse(s) {
        Some(
            st @ (TaskStatus::Completed | TaskStatus::Failed | TaskStatus::FailedWithTerminalError),
        ) => Ok(st),
        _ => Err(format!(
            "{s:?}: a mock may be COMPLETED, FAILED or FAILED_WITH_TERMINAL_ERROR"
        )),
    }
}

/// Query of a correlation lookup.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct CorrelatedQuery {
    /// Include ended executions (false when absent).
    #[param(value_type = Option<bool>)]
    include_closed: Option<String>,
    /// Include task instances (false when absent).
    #[param(value_type = Option<bool>)]
    include_tasks: Option<String>,
}

/// The executions of a definition with a correlation id, oldest first.
#[utoipa::path(
    get, path = "/api/workflow/{workflowId}/correlated/{correlationId}", tag = "workflow",
    params(
        ("workflowId" = String, Path, description = "For this route, the definition's name"),
        ("correlationId" = String, Path, description = "Correlation id"),
        CorrelatedQuery,
    ),
    responses(
        (status = 200, description = "The executions", body = [Workflow]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn correlated(
    State(svc): State<Service>,
    Path((name, cid)): Path<(String, String)>,
    Q(q): Q<CorrelatedQuery>,
) -> Result<Json<Vec<Workflow>>, ApiError> {
    let closed = flag(q.include_closed.as_deref(), "includeClosed", false)?;
    let tasks = flag(q.include_tasks.as_deref(), "includeTasks", false)?;
    let views = svc
        .workflows_by_correlation_id(&name, &cid, closed, tasks)
        .await?;
    Ok(Json(
        views
            .iter()
            .map(|(w, t)| views::workflow(w, t, None, &svc))
            .collect(),
    ))
}

/// The executions of a definition for each of several correlation ids.
#[utoipa::path(
    post, path = "/api/workflow/{workflowId}/correlated", tag = "workflow",
    params(
        ("workflowId" = String, Path, description = "For this route, the definition's name"),
        CorrelatedQuery,
    ),
    request_body(content = CorrelationIds, description = "Correlation ids (1 to 1,000)"),
    responses(
        (status = 200, description = "Correlation id to its executions", body = BTreeMap<String, Vec<Workflow>>),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn correlated_many(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<CorrelatedQuery>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BTreeMap<String, Vec<Workflow>>>, ApiError> {
    let closed = flag(q.include_closed.as_deref(), "includeClosed", false)?;
    let tasks = flag(q.include_tasks.as_deref(), "includeTasks", false)?;
    let found = svc
        .workflows_by_correlation_ids(&name, &ids, closed, tasks)
        .await?;
    Ok(Json(
        found
            .into_iter()
            .map(|(cid, views)| {
                (
                    cid,
                    views
                        .iter()
                        .map(|(w, t)| views::workflow(w, t, None, &svc))
                        .collect(),
                )
            })
            .collect(),
    ))
}

/// Query of the running list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RunningQuery {
    /// Only this version.
    #[param(value_type = Option<i32>)]
    version: Option<String>,
    /// Only those created at or after (epoch ms).
    #[param(value_type = Option<i64>)]
    start_time: Option<String>,
    /// Only those created at or before (epoch ms).
    #[param(value_type = Option<i64>)]
    end_time: Option<String>,
}

/// Ids of the RUNNING and PAUSED executions of a definition, oldest first.
#[utoipa::path(
    get, path = "/api/workflow/running/{name}", tag = "workflow",
    params(("name" = String, Path, description = "Definition name"), RunningQuery),
    responses(
        (status = 200, description = "Execution ids", body = [String]),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such definition", body = ErrorBody),
    )
)]
async fn running(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<RunningQuery>,
) -> Result<Json<Vec<String>>, ApiError> {
    let ids = svc
        .running_workflow_ids(
            &name,
            int(q.version.as_deref(), "version")?,
            int(q.start_time.as_deref(), "startTime")?,
            int(q.end_time.as_deref(), "endTime")?,
        )
        .await?;
    Ok(Json(ids))
}

async fn bulk(
    svc: &Service,
    op: BulkOp,
    ids: Vec<String>,
    reason: Option<String>,
    latest: bool,
) -> Result<Json<BulkResponse>, ApiError> {
    let outcomes = svc.bulk(op, ids, reason, latest).await?;
    Ok(Json(bulk_response(outcomes)))
}

pub(crate) fn bulk_response(outcomes: Vec<(String, Result<(), EngineError>)>) -> BulkResponse {
    let mut out = BulkResponse::default();
    for (id, r) in outcomes {
        match r {
            Ok(()) => out.bulk_successful_results.push(id),
            Err(e) => {
                out.bulk_error_results.insert(id, e.to_string());
            }
        }
    }
    out.message = format!(
        "{} succeeded, {} failed",
        out.bulk_successful_results.len(),
        out.bulk_error_results.len()
    );
    out
}

/// Pauses many executions.
#[utoipa::path(
    put, path = "/api/workflow/bulk/pause", tag = "bulk",
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_pause(
    State(svc): State<Service>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    bulk(&svc, BulkOp::Pause, ids, None, false).await
}

/// Resumes many executions.
#[utoipa::path(
    put, path = "/api/workflow/bulk/resume", tag = "bulk",
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_resume(
    State(svc): State<Service>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    bulk(&svc, BulkOp::Resume, ids, None, false).await
}

/// Restarts many executions.
#[utoipa::path(
    post, path = "/api/workflow/bulk/restart", tag = "bulk",
    params(RestartQuery),
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_restart(
    State(svc): State<Service>,
    Q(q): Q<RestartQuery>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    let latest = flag(
        q.use_latest_definitions.as_deref(),
        "useLatestDefinitions",
        false,
    )?;
    bulk(&svc, BulkOp::Restart, ids, None, latest).await
}

/// Retries many executions.
#[utoipa::path(
    post, path = "/api/workflow/bulk/retry", tag = "bulk",
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_retry(
    State(svc): State<Service>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    bulk(&svc, BulkOp::Retry, ids, None, false).await
}

/// Terminates many executions.
#[utoipa::path(
    post, path = "/api/workflow/bulk/terminate", tag = "bulk",
    params(ReasonQuery),
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_terminate(
    State(svc): State<Service>,
    Q(q): Q<ReasonQuery>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    bulk(&svc, BulkOp::Terminate, ids, q.reason, false).await
}

/// Deletes many executions.
#[utoipa::path(
    delete, path = "/api/workflow/bulk/remove", tag = "bulk",
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_remove(
    State(svc): State<Service>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    bulk(&svc, BulkOp::Remove, ids, None, false).await
}

/// Terminates many executions (those still open), then deletes them.
#[utoipa::path(
    delete, path = "/api/workflow/bulk/terminate-remove", tag = "bulk",
    params(ReasonQuery),
    request_body(content = WorkflowIds, description = "Execution ids (1 to 1,000)"),
    responses((status = 200, description = "Outcome per id", body = BulkResponse), (status = 400, description = "Bad request", body = ErrorBody))
)]
async fn bulk_terminate_remove(
    State(svc): State<Service>,
    Q(q): Q<ReasonQuery>,
    Body(ids): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    let terminated = svc
        .bulk(BulkOp::Terminate, ids.clone(), q.reason, false)
        .await?;
    // An execution that had already ended cannot be terminated; it is removed all the same.
    let mut keep = Vec::new();
    let mut outcomes: Vec<(String, Result<(), EngineError>)> = Vec::new();
    for (id, r) in terminated {
        match r {
            Err(e) if e.kind() != baton_server::ErrorKind::FailedPrecondition => {
                outcomes.push((id, Err(e)))
            }
            _ => keep.push(id),
        }
    }
    if !keep.is_empty() {
        outcomes.extend(svc.bulk(BulkOp::Remove, keep, None, false).await?);
    }
    Ok(Json(bulk_response(outcomes)))
}
