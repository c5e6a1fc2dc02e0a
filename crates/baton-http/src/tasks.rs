//! `/api/tasks`: polls, results, updates by reference, reads, logs and queues.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_core::{TaskLog, TaskStatus};
use baton_server::{EngineError, ErrorKind, Service};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Body, OptBody, Pairs, Q, decode, int};
use crate::model::{
    ErrorBody, LogLine, Object, PollData, ResultStatus, Task, TaskExecLog, TaskResult, WorkerInfo,
    Workflow,
};
use crate::views;
use crate::workflows::text;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(poll_one))
        .routes(routes!(poll_batch))
        .routes(routes!(update))
        .routes(routes!(update_v2))
        .routes(routes!(update_by_ref))
        .routes(routes!(update_by_ref_sync))
        .routes(routes!(get_task))
        .routes(routes!(add_log, get_logs))
        .routes(routes!(queue_sizes))
        .routes(routes!(queue_size))
        .routes(routes!(queue_all))
        .routes(routes!(queue_all_verbose))
        .routes(routes!(poll_data))
        .routes(routes!(poll_data_all))
        .routes(routes!(requeue))
        .routes(routes!(workers))
}

/// Query of a poll.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PollQuery {
    /// Who polls.
    workerid: Option<String>,
    /// The domain to take from (the default queue when absent).
    domain: Option<String>,
    /// Most tasks to take, 1-1000 (1 when absent).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    count: Option<String>,
    /// Milliseconds to wait for a first task, 0-60000 (100 when absent).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 60000)]
    timeout: Option<String>,
}

/// Query of a single poll.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PollOneQuery {
    /// Who polls.
    workerid: Option<String>,
    /// The domain to take from (the default queue when absent).
    domain: Option<String>,
}

/// Takes one task of a type, without waiting; 204 when none is ready.
#[utoipa::path(
    get, path = "/api/tasks/poll/{taskType}", tag = "tasks",
    params(("taskType" = String, Path, description = "Task type"), PollOneQuery),
    responses(
        (status = 200, description = "A task, now IN_PROGRESS", body = Task),
        (status = 204, description = "No task ready"),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn poll_one(
    State(svc): State<Service>,
    Path(task_type): Path<String>,
    Q(q): Q<PollOneQuery>,
) -> Result<Response, ApiError> {
    let got = svc
        .poll(
            &task_type,
            q.domain.as_deref().unwrap_or(""),
            q.workerid.as_deref().unwrap_or(""),
            1,
            0,
        )
        .await?;
    Ok(match got.first() {
        Some(a) => Json(views::assignment(a, &svc)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Takes up to `count` tasks of a type, waiting up to `timeout` ms for the first; `[]`
/// when none came.
#[utoipa::path(
    get, path = "/api/tasks/poll/batch/{taskType}", tag = "tasks",
    params(("taskType" = String, Path, description = "Task type"), PollQuery),
    responses(
        (status = 200, description = "Tasks, now IN_PROGRESS", body = [Task]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn poll_batch(
    State(svc): State<Service>,
    Path(task_type): Path<String>,
    Q(q): Q<PollQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let count = int(q.count.as_deref(), "count")?.unwrap_or(1);
    let timeout = int(q.timeout.as_deref(), "timeout")?.unwrap_or(100);
    let got = svc
        .poll(
            &task_type,
            q.domain.as_deref().unwrap_or(""),
            q.workerid.as_deref().unwrap_or(""),
            count,
            timeout,
        )
        .await?;
    Ok(Json(
        got.iter().map(|a| views::assignment(a, &svc)).collect(),
    ))
}

/// A log line's time in epoch ms: small values are seconds, as some clients send them;
/// none (or a time before 1970) is now.
fn log_time(t: i64) -> i64 {
    if t <= 0 {
        baton_server::now_ms()
    } else if t < 100_000_000_000 {
        t * 1000
    } else {
        t
    }
}

/// A checked result: the execution it names, the engine's result, and whether it only
/// extends the lease.
struct Checked {
    workflow_id: String,
    result: baton_core::TaskResult,
    extend_lease: bool,
}

fn check(r: TaskResult) -> Result<Checked, ApiError> {
    let task_id = r
        .task_id
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::field("taskId", "is required"))?;
    let workflow_id = r
        .workflow_instance_id
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::field("workflowInstanceId", "is required"))?;
    if r.external_output_payload_storage_path
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(ApiError::field(
            "externalOutputPayloadStoragePath",
            "external payload storage is not used: send the output in outputData",
        ));
    }
    let status_text = r
        .status
        .ok_or_else(|| ApiError::field("status", "is required"))?;
    let status = TaskStatus::parse(&status_text)
        .filter(|s| s.is_reportable())
        .ok_or_else(|| {
            ApiError::field(
                "status",
                format!(
                    "{status_text:?}: a result may be COMPLETED, FAILED, \
                     FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS"
                ),
            )
        })?;
    let logs = r
        .logs
        .unwrap_or_default()
        .into_iter()
        .filter(|l| !l.log.is_empty())
        .map(|l| TaskLog {
            log: l.log,
            created_time: log_time(l.created_time),
        })
        .collect();
    Ok(Checked {
        workflow_id,
        extend_lease: r.extend_lease.unwrap_or(false) && status == TaskStatus::InProgress,
        result: baton_core::TaskResult {
            task_id,
            token: None,
            status,
            output: r.output_data.unwrap_or_default(),
            reason_for_incompletion: r.reason_for_incompletion.filter(|s| !s.is_empty()),
            logs,
            callback_after_seconds: r.callback_after_seconds.unwrap_or(0),
            worker_id: r.worker_id.filter(|s| !s.is_empty()),
        },
    })
}

/// Applies a checked result: a lease extension, or a result with its logs.
async fn apply(svc: &Service, c: Checked) -> Result<(), EngineError> {
    if c.extend_lease {
        let t = svc.task(&c.result.task_id).await?;
        let token = t.token.filter(|_| t.status == TaskStatus::InProgress);
        let Some(token) = token else {
            return Err(EngineError::FailedPrecondition(format!(
                "task {} is {}, not held by a worker: there is no lease to extend",
                t.task_id,
                t.status.as_str()
            )));
        };
        svc.extend_lease(&c.result.task_id, &token, &c.workflow_id)
            .await?;
        return Ok(());
    }
    svc.update_task(&c.workflow_id, c.result).await
}

/// Reports a worker's result; answers the task id as text.
#[utoipa::path(
    post, path = "/api/tasks", tag = "tasks",
    request_body = TaskResult,
    responses(
        (status = 200, description = "The task id", body = String, content_type = "text/plain"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 409, description = "The task has ended, or is not held", body = ErrorBody),
    )
)]
async fn update(
    State(svc): State<Service>,
    Body(r): Body<TaskResult>,
) -> Result<Response, ApiError> {
    let c = check(r)?;
    let id = c.result.task_id.clone();
    apply(&svc, c).await?;
    Ok(text(id))
}

/// Reports a worker's result and takes the next task of the same type, domain and worker
/// at once; 204 when none is ready. A task that does not exist is 400, not 404, so that
/// it never reads as a missing route.
#[utoipa::path(
    post, path = "/api/tasks/update-v2", tag = "tasks",
    request_body = TaskResult,
    responses(
        (status = 200, description = "The next task, now IN_PROGRESS", body = Task),
        (status = 204, description = "Result taken; no task ready"),
        (status = 400, description = "Bad request or no such task", body = ErrorBody),
        (status = 409, description = "The task has ended, or is not held", body = ErrorBody),
    )
)]
async fn update_v2(
    State(svc): State<Service>,
    Body(r): Body<TaskResult>,
) -> Result<Response, ApiError> {
    let worker = r.worker_id.clone().unwrap_or_default();
    let c = check(r)?;
    let id = c.result.task_id.clone();
    let not_found_as_400 = |e: EngineError| match e.kind() {
        ErrorKind::NotFound => ApiError::bad_request(e.to_string()),
        _ => ApiError::from(e),
    };
    apply(&svc, c).await.map_err(not_found_as_400)?;
    let t = svc.task(&id).await.map_err(not_found_as_400)?;
    let next = svc
        .poll(
            &t.task_def_name,
            t.domain.as_deref().unwrap_or(""),
            &worker,
            1,
            0,
        )
        .await?;
    Ok(match next.first() {
        Some(a) => Json(views::assignment(a, &svc)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Query of an update by reference.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ByRefQuery {
    /// Who reports.
    workerid: Option<String>,
}

async fn by_ref(
    svc: &Service,
    workflow_id: &str,
    reference: &str,
    status: &str,
    worker: Option<String>,
    output: Option<Object>,
) -> Result<String, ApiError> {
    let st = TaskStatus::parse(status)
        .filter(|s| s.is_reportable())
        .ok_or_else(|| {
            ApiError::field(
                "status",
                format!(
                    "{status:?}: a task may be updated to COMPLETED, FAILED, \
                     FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS"
                ),
            )
        })?;
    let result = baton_core::TaskResult {
        task_id: String::new(),
        token: None,
        status: st,
        output: output.unwrap_or_default(),
        reason_for_incompletion: None,
        logs: Vec::new(),
        callback_after_seconds: 0,
        worker_id: worker.filter(|w| !w.is_empty()),
    };
    Ok(svc
        .update_task_by_ref(workflow_id, reference, result)
        .await?)
}

/// Updates the latest instance of a task reference (a WAIT or HUMAN task, or a worker
/// task without its id); answers the task id as text.
#[utoipa::path(
    post, path = "/api/tasks/{id}/{taskRefName}/{status}", tag = "tasks",
    params(
        ("id" = String, Path, description = "For this route, the execution id"),
        ("taskRefName" = String, Path, description = "Task reference name"),
        ("status" = ResultStatus, Path, description = "COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS"),
        ByRefQuery,
    ),
    request_body(content = Object, description = "The task's output"),
    responses(
        (status = 200, description = "The task id", body = String, content_type = "text/plain"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution or reference", body = ErrorBody),
        (status = 409, description = "The task has ended or is not scheduled yet", body = ErrorBody),
    )
)]
async fn update_by_ref(
    State(svc): State<Service>,
    Path((wid, reference, status)): Path<(String, String, String)>,
    Q(q): Q<ByRefQuery>,
    OptBody(output): OptBody<Object>,
) -> Result<Response, ApiError> {
    let id = by_ref(&svc, &wid, &reference, &status, q.workerid, output).await?;
    Ok(text(id))
}

/// As the update by reference, answering the execution as it stands after the update.
#[utoipa::path(
    post, path = "/api/tasks/{id}/{taskRefName}/{status}/sync", tag = "tasks",
    params(
        ("id" = String, Path, description = "For this route, the execution id"),
        ("taskRefName" = String, Path, description = "Task reference name"),
        ("status" = ResultStatus, Path, description = "COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS"),
        ByRefQuery,
    ),
    request_body(content = Object, description = "The task's output"),
    responses(
        (status = 200, description = "The execution", body = Workflow),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such execution or reference", body = ErrorBody),
        (status = 409, description = "The task has ended or is not scheduled yet", body = ErrorBody),
    )
)]
async fn update_by_ref_sync(
    State(svc): State<Service>,
    Path((wid, reference, status)): Path<(String, String, String)>,
    Q(q): Q<ByRefQuery>,
    OptBody(output): OptBody<Object>,
) -> Result<Json<Workflow>, ApiError> {
    by_ref(&svc, &wid, &reference, &status, q.workerid, output).await?;
    let e = svc.execution(&wid).await?;
    Ok(Json(views::workflow(
        &e.workflow,
        &e.tasks,
        Some(&e.def),
        &svc,
    )))
}

/// Reads a task instance.
#[utoipa::path(
    get, path = "/api/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
async fn get_task(
    State(svc): State<Service>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let t = svc.task(&id).await?;
    let defs = views::Defs {
        workflow: None,
        svc: &svc,
    };
    Ok(Json(views::task(&t, &defs)))
}

/// Adds a log line to a task. The body is the line: a JSON string, or raw text.
#[utoipa::path(
    post, path = "/api/tasks/{id}/log", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    request_body(content = LogLine, description = "The log line", content_type = "text/plain"),
    responses(
        (status = 200, description = "Added"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
async fn add_log(
    State(svc): State<Service>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    // Clients send the line as a JSON string or as raw text; take either as it came.
    let line = match decode::<String>(&body) {
        Ok(s) => s,
        Err(_) => String::from_utf8(body.to_vec())
            .map_err(|_| ApiError::bad_request("the log line is not UTF-8 text"))?,
    };
    if line.is_empty() {
        return Err(ApiError::bad_request("the log line is empty"));
    }
    svc.add_task_logs(
        &id,
        vec![TaskLog {
            log: line,
            created_time: baton_server::now_ms(),
        }],
    )
    .await?;
    Ok(StatusCode::OK)
}

/// A task's log lines; 204 when it has none.
#[utoipa::path(
    get, path = "/api/tasks/{id}/log", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The lines, oldest first", body = [TaskExecLog]),
        (status = 204, description = "No lines"),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
async fn get_logs(
    State(svc): State<Service>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let t = svc.task(&id).await?;
    if t.logs.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let logs: Vec<TaskExecLog> = t
        .logs
        .into_iter()
        .map(|l| TaskExecLog {
            log: l.log,
            task_id: Some(id.clone()),
            created_time: l.created_time,
        })
        .collect();
    Ok(Json(logs).into_response())
}

/// Conductor's name of a queue: the task type, prefixed with `domain:` for a domain.
fn queue_name(task_type: &str, domain: Option<&str>) -> String {
    match domain {
        Some(d) => format!("{d}:{task_type}"),
        None => task_type.to_string(),
    }
}

/// Tasks waiting in the default queue of each task type named (`taskType` repeated).
#[utoipa::path(
    get, path = "/api/tasks/queue/sizes", tag = "tasks",
    params(("taskType" = Vec<String>, Query, description = "Task types (repeat the parameter)")),
    responses((status = 200, description = "Task type to tasks waiting", body = BTreeMap<String, i64>))
)]
async fn queue_sizes(
    State(svc): State<Service>,
    Pairs(pairs): Pairs,
) -> Json<BTreeMap<String, i64>> {
    let depths = svc.queue_depths(None);
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if k != "taskType" {
            continue;
        }
        for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let n = depths
                .iter()
                .find(|d| d.queue.task_type == t && d.queue.domain.is_none())
                .map_or(0, |d| d.depth as i64);
            out.insert(t.to_string(), n);
        }
    }
    Json(out)
}

/// Query of one queue's size.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SizeQuery {
    /// Task type.
    #[param(required = true, min_length = 1)]
    task_type: Option<String>,
    /// Domain (the default queue when absent).
    domain: Option<String>,
    /// Accepted for Conductor's clients; Baton has no isolation groups.
    isolation_group_id: Option<String>,
    /// Accepted for Conductor's clients; Baton has no execution namespaces.
    execution_namespace: Option<String>,
}

/// Tasks waiting in one queue.
#[utoipa::path(
    get, path = "/api/tasks/queue/size", tag = "tasks",
    params(SizeQuery),
    responses(
        (status = 200, description = "Tasks waiting", body = i64, content_type = "application/json"),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn queue_size(State(svc): State<Service>, Q(q): Q<SizeQuery>) -> Result<Json<i64>, ApiError> {
    let _ = (&q.isolation_group_id, &q.execution_namespace);
    let t = q
        .task_type
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::field("taskType", "is required"))?;
    let domain = q.domain.filter(|d| !d.is_empty() && d != "NO_DOMAIN");
    let n = svc
        .queue_depths(Some(&t))
        .iter()
        .find(|d| d.queue.domain == domain)
        .map_or(0, |d| d.depth as i64);
    Ok(Json(n))
}

/// Tasks waiting in every queue, by Conductor's queue name (`domain:type` for a domain).
#[utoipa::path(
    get, path = "/api/tasks/queue/all", tag = "tasks",
    responses((status = 200, description = "Queue name to tasks waiting", body = BTreeMap<String, i64>))
)]
async fn queue_all(State(svc): State<Service>) -> Json<BTreeMap<String, i64>> {
    Json(
        svc.queue_depths(None)
            .into_iter()
            .map(|d| {
                (
                    queue_name(&d.queue.task_type, d.queue.domain.as_deref()),
                    d.depth as i64,
                )
            })
            .collect(),
    )
}

/// Every queue by task type, then domain (`DEFAULT` for none): tasks waiting (`size`)
/// and stream workers subscribed (`workers`).
#[utoipa::path(
    get, path = "/api/tasks/queue/all/verbose", tag = "tasks",
    responses((status = 200, description = "Task type to domain to figures", body = BTreeMap<String, BTreeMap<String, BTreeMap<String, i64>>>))
)]
async fn queue_all_verbose(
    State(svc): State<Service>,
) -> Json<BTreeMap<String, BTreeMap<String, BTreeMap<String, i64>>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeMap<String, i64>>> = BTreeMap::new();
    for d in svc.queue_depths(None) {
        let figures = BTreeMap::from([
            ("size".to_string(), d.depth as i64),
            ("workers".to_string(), d.subscribers as i64),
        ]);
        out.entry(d.queue.task_type.clone()).or_default().insert(
            d.queue.domain.clone().unwrap_or_else(|| "DEFAULT".into()),
            figures,
        );
    }
    Json(out)
}

fn poll_data_json(svc: &Service, task_type: Option<&str>) -> Vec<PollData> {
    svc.poll_data(task_type)
        .into_iter()
        .map(|p| PollData {
            queue_name: p.queue.task_type,
            domain: p.queue.domain,
            worker_id: p.worker_id,
            last_poll_time: p.last_poll_time,
        })
        .collect()
}

/// Query of poll data.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct PollDataQuery {
    /// Task type.
    #[param(required = true, min_length = 1)]
    task_type: Option<String>,
}

/// When each queue of a task type was last polled, and by whom.
#[utoipa::path(
    get, path = "/api/tasks/queue/polldata", tag = "tasks",
    params(PollDataQuery),
    responses(
        (status = 200, description = "One entry per queue", body = [PollData]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn poll_data(
    State(svc): State<Service>,
    Q(q): Q<PollDataQuery>,
) -> Result<Json<Vec<PollData>>, ApiError> {
    let t = q
        .task_type
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::field("taskType", "is required"))?;
    Ok(Json(poll_data_json(&svc, Some(&t))))
}

/// When every queue was last polled, and by whom.
#[utoipa::path(
    get, path = "/api/tasks/queue/polldata/all", tag = "tasks",
    responses((status = 200, description = "One entry per queue", body = [PollData]))
)]
async fn poll_data_all(State(svc): State<Service>) -> Json<Vec<PollData>> {
    Json(poll_data_json(&svc, None))
}

/// Puts back the pending tasks of a type. Baton keeps every ready task in its queue at
/// all times, so there is never anything to put back; answers how many tasks of the type
/// wait in its queues.
#[utoipa::path(
    post, path = "/api/tasks/queue/requeue/{taskType}", tag = "tasks",
    params(("taskType" = String, Path, description = "Task type")),
    responses((status = 200, description = "Tasks of the type waiting", body = String, content_type = "text/plain"))
)]
async fn requeue(State(svc): State<Service>, Path(task_type): Path<String>) -> Response {
    let n: usize = svc
        .queue_depths(Some(&task_type))
        .iter()
        .map(|d| d.depth)
        .sum();
    text(n.to_string())
}

/// Query of the worker list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct WorkersQuery {
    /// Only the workers that take this task type.
    task_type: Option<String>,
}

/// The workers: those connected over a gRPC Work stream (by worker id, then connection),
/// then those that polled within the last minute or are polling now (by worker id, then
/// domain), with their task types, domain, credit left, tasks in flight and when they were
/// last heard from.
#[utoipa::path(
    get, path = "/api/tasks/workers", tag = "tasks",
    params(WorkersQuery),
    responses(
        (status = 200, description = "The workers", body = [WorkerInfo]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn workers(
    State(svc): State<Service>,
    Q(q): Q<WorkersQuery>,
) -> Result<Json<Vec<WorkerInfo>>, ApiError> {
    let list = svc
        .workers(q.task_type.as_deref())
        .into_iter()
        .map(views::worker_info)
        .collect();
    Ok(Json(list))
}
