//! Search: `/api/workflow/search*` and `/api/tasks/search*`, in Conductor's shapes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use baton_core::query::{TaskSummary, WorkflowSummary};
use baton_server::Service;
use baton_server::service::{Hits, SearchParams};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Q, int};
use crate::model::{ErrorBody, Task, Workflow};
use crate::views;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(search_workflows))
        .routes(routes!(search_workflows_v2))
        .routes(routes!(search_workflows_by_tasks))
        .routes(routes!(search_workflows_by_tasks_v2))
        .routes(routes!(search_tasks))
        .routes(routes!(search_tasks_v2))
}

/// Parameters of a search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Results to skip (0 when absent); at most 95,000, deeper pages narrow the query.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 95000)]
    start: Option<String>,
    /// Results to return, at most 5,000 (100 when absent).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 5000)]
    size: Option<String>,
    /// Sort keys, `field:ASC|DESC`, several joined by `|`.
    sort: Option<String>,
    /// Free text over ids, inputs, outputs and failure reasons; `*` matches all.
    free_text: Option<String>,
    /// The query: `field OP value` joined by AND / OR, for example
    /// `workflowType IN (a,b) AND status = FAILED AND startTime > 1700000000000`.
    query: Option<String>,
}

impl SearchQuery {
    fn params(self) -> Result<SearchParams, ApiError> {
        let start: i64 = int(self.start.as_deref(), "start")?.unwrap_or(0);
        let size: i64 = int(self.size.as_deref(), "size")?.unwrap_or(100);
        if start < 0 {
            return Err(ApiError::bad_request(format!(
                "start must be 0 or more, found {start}"
            )));
        }
        if size < 0 {
            return Err(ApiError::bad_request(format!(
                "size must be 0 or more, found {size}"
            )));
        }
        Ok(SearchParams {
            query: self.query.unwrap_or_default(),
            free_text: self.free_text.unwrap_or_default(),
            sort: self.sort.into_iter().collect(),
            start: usize::try_from(start).unwrap_or(usize::MAX),
            size: usize::try_from(size).unwrap_or(usize::MAX),
        })
    }
}

/// An execution as a search lists it (Conductor's WorkflowSummary): times as ISO-8601
/// UTC text, input and output as JSON text.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummaryJson {
    /// Definition name.
    workflow_type: String,
    /// Definition version.
    version: i32,
    /// Execution id.
    workflow_id: String,
    /// Correlation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    /// When it started.
    start_time: String,
    /// Last change.
    update_time: String,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    /// Status.
    #[schema(example = "COMPLETED")]
    status: String,
    /// The input, as JSON text.
    input: String,
    /// The output, as JSON text.
    output: String,
    /// Why it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_for_incompletion: Option<String>,
    /// Milliseconds from start to end (0 while running).
    execution_time: i64,
    /// Event that started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    /// Reference names of the failed tasks, comma-joined.
    failed_reference_task_names: String,
    /// Names of the failed tasks.
    failed_task_names: Vec<String>,
    /// Priority 0-99.
    priority: i32,
    /// Who started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<String>,
    /// Task name (or "*") to domain.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    task_to_domain: BTreeMap<String, String>,
    /// Idempotency key given at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    /// Bytes of input JSON.
    input_size: i64,
    /// Bytes of output JSON.
    output_size: i64,
}

/// A task instance as a search lists it (Conductor's TaskSummary).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummaryJson {
    /// Owning execution.
    workflow_id: String,
    /// Owning execution's definition name.
    workflow_type: String,
    /// The execution's correlation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    /// When scheduled.
    scheduled_time: String,
    /// When a worker took it.
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    /// Last change.
    update_time: String,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    /// Status.
    #[schema(example = "COMPLETED")]
    status: String,
    /// Why it did not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_for_incompletion: Option<String>,
    /// Milliseconds from start to end (0 until it ends).
    execution_time: i64,
    /// Milliseconds from scheduled to started (0 until it starts).
    queue_wait_time: i64,
    /// Task definition name.
    task_def_name: String,
    /// Task type (a worker task's name, or an operator).
    task_type: String,
    /// The input, as JSON text.
    input: String,
    /// The output, as JSON text.
    output: String,
    /// Task instance id.
    task_id: String,
    /// The execution's priority.
    workflow_priority: i32,
    /// Domain of its queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
}

/// A page of execution summaries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummarySearchResult {
    /// Matches over all pages.
    total_hits: i64,
    /// The page.
    results: Vec<WorkflowSummaryJson>,
}

/// A page of executions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSearchResult {
    /// Matches over all pages.
    total_hits: i64,
    /// The page.
    results: Vec<Workflow>,
}

/// A page of task summaries.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummarySearchResult {
    /// Matches over all pages.
    total_hits: i64,
    /// The page.
    results: Vec<TaskSummaryJson>,
}

/// A page of task instances.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskSearchResult {
    /// Matches over all pages.
    total_hits: i64,
    /// The page.
    results: Vec<Task>,
}

/// Epoch ms as Conductor's ISO-8601 UTC text (`2024-01-31T12:00:00.000Z`).
fn iso(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

fn json_text(v: &serde_json::Value) -> String {
    if v.is_null() {
        "{}".to_string()
    } else {
        v.to_string()
    }
}

fn workflow_summary(w: WorkflowSummary) -> WorkflowSummaryJson {
    WorkflowSummaryJson {
        workflow_type: w.workflow_type,
        version: w.version,
        workflow_id: w.workflow_id,
        correlation_id: w.correlation_id,
        start_time: iso(w.start_time),
        update_time: iso(w.update_time),
        end_time: w.end_time.map(iso),
        status: w.status.as_str().to_string(),
        input: json_text(&w.input),
        output: json_text(&w.output),
        reason_for_incompletion: w.reason_for_incompletion,
        execution_time: w.execution_time.unwrap_or(0),
        event: w.event,
        failed_reference_task_names: w.failed_reference_task_names.join(","),
        failed_task_names: w.failed_task_names,
        priority: w.priority,
        created_by: w.created_by,
        task_to_domain: w.task_to_domain,
        idempotency_key: w.idempotency_key,
        input_size: w.input_size,
        output_size: w.output_size,
    }
}

fn task_summary(t: TaskSummary) -> TaskSummaryJson {
    TaskSummaryJson {
        workflow_id: t.workflow_id,
        workflow_type: t.workflow_type,
        correlation_id: t.correlation_id,
        scheduled_time: iso(t.scheduled_time),
        start_time: t.start_time.map(iso),
        update_time: iso(t.update_time),
        end_time: t.end_time.map(iso),
        status: t.status.as_str().to_string(),
        reason_for_incompletion: t.reason_for_incompletion,
        execution_time: t.execution_time.unwrap_or(0),
        queue_wait_time: t.queue_wait_time.unwrap_or(0),
        task_def_name: t.task_def_name,
        task_type: t.task_type,
        input: json_text(&t.input),
        output: json_text(&t.output),
        task_id: t.task_id,
        workflow_priority: t.workflow_priority,
        domain: t.domain,
    }
}

fn summaries(hits: Hits<WorkflowSummary>) -> WorkflowSummarySearchResult {
    WorkflowSummarySearchResult {
        total_hits: hits.total_hits as i64,
        results: hits.results.into_iter().map(workflow_summary).collect(),
    }
}

/// The executions of a page of summaries, read from the store (without their tasks);
/// an execution removed since it was indexed is left out.
async fn workflows(
    svc: &Service,
    hits: Hits<WorkflowSummary>,
) -> Result<WorkflowSearchResult, ApiError> {
    let mut results = Vec::with_capacity(hits.results.len());
    for s in &hits.results {
        match svc.workflow(&s.workflow_id, false).await {
            Ok((w, _)) => results.push(views::workflow(&w, &[], None, svc)),
            Err(e) if e.kind() == baton_server::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(WorkflowSearchResult {
        total_hits: hits.total_hits as i64,
        results,
    })
}

/// Searches executions; answers summaries.
#[utoipa::path(
    get, path = "/api/workflow/search", tag = "workflow",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of summaries", body = WorkflowSummarySearchResult),
        (status = 400, description = "Malformed query, unknown field, or a page beyond the limits", body = ErrorBody),
    )
)]
async fn search_workflows(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<WorkflowSummarySearchResult>, ApiError> {
    let hits = svc.search_workflows(q.params()?).await?;
    Ok(Json(summaries(hits)))
}

/// Searches executions; answers the executions (without their tasks).
#[utoipa::path(
    get, path = "/api/workflow/search-v2", tag = "workflow",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of executions", body = WorkflowSearchResult),
        (status = 400, description = "Malformed query, unknown field, or a page beyond the limits", body = ErrorBody),
    )
)]
async fn search_workflows_v2(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<WorkflowSearchResult>, ApiError> {
    let hits = svc.search_workflows(q.params()?).await?;
    Ok(Json(workflows(&svc, hits).await?))
}

/// Searches executions by their tasks: the query and sort name task fields; each
/// execution with a matching task is listed once.
#[utoipa::path(
    get, path = "/api/workflow/search-by-tasks", tag = "workflow",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of summaries", body = WorkflowSummarySearchResult),
        (status = 400, description = "Malformed query, unknown field, or a page beyond the limits", body = ErrorBody),
    )
)]
async fn search_workflows_by_tasks(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<WorkflowSummarySearchResult>, ApiError> {
    let hits = svc.search_workflows_by_tasks(q.params()?).await?;
    Ok(Json(summaries(hits)))
}

/// Searches executions by their tasks; answers the executions.
#[utoipa::path(
    get, path = "/api/workflow/search-by-tasks-v2", tag = "workflow",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of executions", body = WorkflowSearchResult),
        (status = 400, description = "Malformed query, unknown field, or a page beyond the limits", body = ErrorBody),
    )
)]
async fn search_workflows_by_tasks_v2(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<WorkflowSearchResult>, ApiError> {
    let hits = svc.search_workflows_by_tasks(q.params()?).await?;
    Ok(Json(workflows(&svc, hits).await?))
}

/// Searches task instances; answers summaries.
#[utoipa::path(
    get, path = "/api/tasks/search", tag = "tasks",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of summaries", body = TaskSummarySearchResult),
        (status = 400, description = "Malformed query, unknown field, or a page beyond the limits", body = ErrorBody),
    )
)]
async fn search_tasks(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<TaskSummarySearchResult>, ApiError> {
    let hits = svc.search_tasks(q.params()?).await?;
    Ok(Json(TaskSummarySearchResult {
        total_hits: hits.total_hits as i64,
        results: hits.results.into_iter().map(task_summary).collect(),
    }))
}

/// Searches task instances; answers the task instances.
#[utoipa::path(
    get, path = "/api/tasks/search-v2", tag = "tasks",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of task instances", body = TaskSearchResult),
        (status = 400, description = "Malformed query, unknown field, or a page beyond the limits", body = ErrorBody),
    )
)]
async fn search_tasks_v2(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<TaskSearchResult>, ApiError> {
    let hits = svc.search_tasks(q.params()?).await?;
    let mut results = Vec::with_capacity(hits.results.len());
    for s in &hits.results {
        match svc.task(&s.task_id).await {
            Ok(t) => {
                let defs = views::Defs {
                    workflow: None,
                    svc: &svc,
                };
                results.push(views::task(&t, &defs));
            }
            Err(e) if e.kind() == baton_server::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(TaskSearchResult {
        total_hits: hits.total_hits as i64,
        results,
    }))
}
