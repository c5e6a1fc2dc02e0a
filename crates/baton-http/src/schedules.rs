//! `/api/scheduler/...`: Conductor's scheduler endpoints (schedules saved, read, listed,
//! deleted, paused and resumed, one by one or in bulk; the next times of a cron
//! expression; a search over what schedules did) and Baton's extensions under the same
//! prefix (run now, backfill, history, next slots of a saved schedule).

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, State};
use baton_core::Object;
use baton_core::schedule::{OverlapPolicy, ScheduleDef, SpecKind};
use baton_server::Service;
use baton_server::service::{MAX_HISTORY, PreviewOf, ScheduleEvent, ScheduleView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Body, OptBody, Q, int};
use crate::model::{BulkResponse, ErrorBody};
use crate::workflows::bulk_response;

pub(crate) fn routes() -> OpenApiRouter<Service> {
    OpenApiRouter::new()
        .routes(routes!(save_schedule, list_schedules))
        .routes(routes!(get_schedule, delete_schedule))
        .routes(routes!(pause_schedule, pause_schedule_get))
        .routes(routes!(resume_schedule, resume_schedule_get))
        .routes(routes!(bulk_pause_schedules))
        .routes(routes!(bulk_resume_schedules))
        .routes(routes!(next_few_schedules))
        .routes(routes!(search_executions))
        .routes(routes!(trigger_schedule))
        .routes(routes!(backfill_schedule))
        .routes(routes!(schedule_history))
        .routes(routes!(next_slots))
}

/// Latest time a preview looks at: the end of year 9999 (epoch ms).
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Times listed by `nextFewSchedules` when no `limit` is given.
const DEFAULT_NEXT_FEW: usize = 3;

/// Entries of a history or search page when no size is given.
const DEFAULT_PAGE: usize = 100;

/// A blank name names no schedule: 404, as for any other unknown name.
fn known(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::not_found(format!(
            "schedule {name:?} does not exist"
        )));
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A schedule as Conductor writes it: its definition (`name`, `cronExpression`, `zoneId`,
/// `cronSchedules`, `startWorkflowRequest`, `runCatchupScheduleInstances`,
/// `scheduleStartTime`, `scheduleEndTime`, `description`, `createdBy`, `updatedBy` and
/// Baton's extensions such as `misfirePolicy` or `overlapPolicy`) with `paused`,
/// `pausedReason`, `createTime`, `updatedTime` and `nextRunTime` as they stand.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ScheduleJson {
    /// Unique name.
    name: String,
    /// Whether it is paused.
    paused: bool,
    /// Why it is paused; absent when running.
    #[serde(skip_serializing_if = "Option::is_none")]
    paused_reason: Option<String>,
    /// When the next slot fires (epoch ms); absent while paused or when none is left.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_run_time: Option<i64>,
    /// When it was created (epoch ms).
    create_time: i64,
    /// When it was last changed (epoch ms).
    updated_time: i64,
    /// The workflow each slot starts (Conductor's StartWorkflowRequest).
    #[schema(value_type = Object)]
    start_workflow_request: Value,
    /// The rest of the definition's fields, as they were saved.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    rest: serde_json::Map<String, Value>,
}

fn schedule_json(v: ScheduleView) -> Result<ScheduleJson, ApiError> {
    let mut rest = match serde_json::to_value(&v.def) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    for k in [
        "name",
        "paused",
        "pausedReason",
        "createTime",
        "updatedTime",
        "startWorkflowRequest",
    ] {
        rest.remove(k);
    }
    let start = serde_json::to_value(&v.def.start_workflow_request)
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(ScheduleJson {
        name: v.def.name,
        paused: v.paused,
        paused_reason: if v.paused { v.note } else { None },
        next_run_time: v.next_run_ms,
        create_time: v.created_ms,
        updated_time: v.updated_ms,
        start_workflow_request: start,
        rest,
    })
}

/// Creates a schedule, or replaces the definition of the one of that name keeping its
/// state. The body is Conductor's schedule JSON (`name`, `cronExpression` and/or
/// `cronSchedules`, `zoneId`, `startWorkflowRequest`, ...) with Baton's extensions; read-only
/// fields (`createTime`, `nextRunTime`, ...) are ignored.
#[utoipa::path(
    post, path = "/api/scheduler/schedules", tag = "scheduler",
    request_body(content = Object, description = "A schedule, as Conductor writes it"),
    responses(
        (status = 200, description = "The schedule as saved", body = ScheduleJson),
        (status = 400, description = "Invalid schedule (the field is named), or its workflow is not defined", body = ErrorBody),
    )
)]
async fn save_schedule(
    State(svc): State<Service>,
    Body(def): Body<ScheduleDef>,
) -> Result<Json<ScheduleJson>, ApiError> {
    Ok(Json(schedule_json(svc.save_schedule(def).await?)?))
}

/// Filter of the schedule listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only schedules starting this workflow.
    workflow_name: Option<String>,
}

/// Every schedule (at most 10,000) in name order, or those starting one workflow.
#[utoipa::path(
    get, path = "/api/scheduler/schedules", tag = "scheduler",
    params(ListQuery),
    responses(
        (status = 200, description = "Schedules by name", body = [ScheduleJson]),
        (status = 400, description = "Bad request", body = ErrorBody),
    )
)]
async fn list_schedules(
    State(svc): State<Service>,
    Q(q): Q<ListQuery>,
) -> Result<Json<Vec<ScheduleJson>>, ApiError> {
    let found = svc.list_schedules(q.workflow_name.as_deref()).await?;
    found
        .into_iter()
        .map(schedule_json)
        .collect::<Result<_, _>>()
        .map(Json)
}

/// One schedule.
#[utoipa::path(
    get, path = "/api/scheduler/schedules/{name}", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleJson),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn get_schedule(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    Ok(Json(schedule_json(svc.get_schedule(&name).await?)?))
}

/// Deletes a schedule and its history; runs it started go on.
#[utoipa::path(
    delete, path = "/api/scheduler/schedules/{name}", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name")),
    responses(
        (status = 200, description = "Deleted"),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn delete_schedule(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<(), ApiError> {
    svc.delete_schedule(&name).await?;
    Ok(())
}

/// Why a schedule is paused.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PauseQuery {
    /// Why; kept as `pausedReason`.
    reason: Option<String>,
}

async fn pause(
    svc: Service,
    name: String,
    reason: Option<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    known(&name)?;
    Ok(Json(schedule_json(
        svc.pause_schedule(&name, reason).await?,
    )?))
}

/// Pauses a schedule: no slot fires until it is resumed (slots already due are handled
/// first).
#[utoipa::path(
    put, path = "/api/scheduler/schedules/{name}/pause", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name"), PauseQuery),
    responses(
        (status = 200, description = "The schedule, paused", body = ScheduleJson),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn pause_schedule(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<PauseQuery>,
) -> Result<Json<ScheduleJson>, ApiError> {
    pause(svc, name, q.reason).await
}

/// Pauses a schedule (the GET form Conductor's clients use too).
#[utoipa::path(
    get, path = "/api/scheduler/schedules/{name}/pause", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name"), PauseQuery),
    responses(
        (status = 200, description = "The schedule, paused", body = ScheduleJson),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn pause_schedule_get(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<PauseQuery>,
) -> Result<Json<ScheduleJson>, ApiError> {
    pause(svc, name, q.reason).await
}

async fn resume(svc: Service, name: String) -> Result<Json<ScheduleJson>, ApiError> {
    known(&name)?;
    Ok(Json(schedule_json(
        svc.resume_schedule(&name, None).await?,
    )?))
}

/// Resumes a paused schedule; slots that came during the pause follow its misfire policy.
#[utoipa::path(
    put, path = "/api/scheduler/schedules/{name}/resume", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name")),
    responses(
        (status = 200, description = "The schedule, running", body = ScheduleJson),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn resume_schedule(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    resume(svc, name).await
}

/// Resumes a paused schedule (the GET form Conductor's clients use too).
#[utoipa::path(
    get, path = "/api/scheduler/schedules/{name}/resume", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name")),
    responses(
        (status = 200, description = "The schedule, running", body = ScheduleJson),
        (status = 400, description = "Bad request", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn resume_schedule_get(
    State(svc): State<Service>,
    Path(name): Path<String>,
) -> Result<Json<ScheduleJson>, ApiError> {
    resume(svc, name).await
}

/// Pauses many schedules (at most 1,000 names); each name's outcome is reported.
#[utoipa::path(
    put, path = "/api/scheduler/bulk/pause", tag = "scheduler",
    params(PauseQuery),
    request_body(content = [String], description = "Schedule names"),
    responses(
        (status = 200, description = "Outcome per name", body = BulkResponse),
        (status = 400, description = "No names, or too many", body = ErrorBody),
    )
)]
async fn bulk_pause_schedules(
    State(svc): State<Service>,
    Q(q): Q<PauseQuery>,
    Body(names): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    let out = svc.bulk_pause_schedules(names, true, q.reason).await?;
    Ok(Json(bulk_response(out)))
}

/// Resumes many schedules (at most 1,000 names); each name's outcome is reported.
#[utoipa::path(
    put, path = "/api/scheduler/bulk/resume", tag = "scheduler",
    request_body(content = [String], description = "Schedule names"),
    responses(
        (status = 200, description = "Outcome per name", body = BulkResponse),
        (status = 400, description = "No names, or too many", body = ErrorBody),
    )
)]
async fn bulk_resume_schedules(
    State(svc): State<Service>,
    Body(names): Body<Vec<String>>,
) -> Result<Json<BulkResponse>, ApiError> {
    let out = svc.bulk_pause_schedules(names, false, None).await?;
    Ok(Json(bulk_response(out)))
}

/// What `nextFewSchedules` previews.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct NextFewQuery {
    /// A cron expression: 5 fields (minute first), 6 (second first), 7 (year last) or a
    /// macro such as `@daily`.
    cron_expression: String,
    /// Zone the expression is read in (IANA name); UTC when absent (Baton).
    zone_id: Option<String>,
    /// Times after this instant (epoch ms); now when absent or 0.
    #[param(value_type = Option<i64>)]
    schedule_start_time: Option<String>,
    /// Times up to this instant (epoch ms); no bound when absent or 0.
    #[param(value_type = Option<i64>)]
    schedule_end_time: Option<String>,
    /// How many times, 1 to 1,000 (3 when absent).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// The next times a cron expression fires (epoch ms, in order).
#[utoipa::path(
    get, path = "/api/scheduler/nextFewSchedules", tag = "scheduler",
    params(NextFewQuery),
    responses(
        (status = 200, description = "Fire times (epoch ms)", body = [i64]),
        (status = 400, description = "Invalid expression, zone or range (the field is named)", body = ErrorBody),
    )
)]
async fn next_few_schedules(
    State(svc): State<Service>,
    Q(q): Q<NextFewQuery>,
) -> Result<Json<Vec<i64>>, ApiError> {
    let from = int::<i64>(q.schedule_start_time.as_deref(), "scheduleStartTime")?
        .filter(|t| *t > 0)
        .unwrap_or_else(now_ms)
        .clamp(0, MAX_TIME_MS);
    let until = int::<i64>(q.schedule_end_time.as_deref(), "scheduleEndTime")?
        .filter(|t| *t > 0)
        .unwrap_or(MAX_TIME_MS)
        .clamp(0, MAX_TIME_MS);
    let limit = limit_of(q.limit.as_deref(), DEFAULT_NEXT_FEW, 1000)?;
    let of = PreviewOf::Cron {
        expression: q.cron_expression,
        zone: q.zone_id.filter(|z| !z.is_empty()),
    };
    let preview = svc.preview_schedule(of, from, until, limit)?;
    Ok(Json(preview.slots.into_iter().map(|s| s.at_ms).collect()))
}

/// A count parameter from 1 to `max`; absent or empty means `default`.
fn limit_of(value: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    let n = int::<i64>(value, "limit")?.unwrap_or(default as i64);
    if n < 1 || n > max as i64 {
        return Err(ApiError::field(
            "limit",
            format!("{n} is out of range (1 to {max})"),
        ));
    }
    Ok(n as usize)
}

/// Parameters of a search over what schedules did.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Results to skip (0 when absent).
    #[param(value_type = Option<i64>, minimum = 0)]
    start: Option<String>,
    /// Results to return, at most 1,000 (100 when absent).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 1000)]
    size: Option<String>,
    /// `scheduledTime:ASC` or `scheduledTime:DESC` (the default: newest first).
    sort: Option<String>,
    /// Text found in the schedule name, workflow id or reason; `*` or empty matches all.
    free_text: Option<String>,
    /// Clauses joined by AND: `scheduleName = 'x'`, `scheduleName IN (a,b)`,
    /// `state = EXECUTED` or `state IN (...)`, `workflowId = 'id'`.
    query: Option<String>,
    /// Only this schedule (Baton; the same as `scheduleName = 'x'` in `query`).
    schedule_name: Option<String>,
}

/// One thing a schedule did (Conductor's WorkflowScheduleExecutionModel).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ScheduleExecution {
    /// The schedule.
    schedule_name: String,
    /// The slot it is about (epoch ms).
    scheduled_time: i64,
    /// When it was recorded (epoch ms).
    execution_time: i64,
    /// The workflow the schedule starts.
    workflow_name: String,
    /// The run started, for `EXECUTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_id: Option<String>,
    /// `EXECUTED` (a run started) or what became of the slot or run (`FAILED`, `SKIPPED`,
    /// `COMPLETED`, ...), or `ALERT`.
    state: String,
    /// Why, when the record says.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The history entry as recorded.
    #[schema(value_type = Object)]
    event: Value,
}

/// A page of schedule executions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ScheduleExecutionSearchResult {
    /// Matches over all pages.
    total_hits: i64,
    /// The page.
    results: Vec<ScheduleExecution>,
}

/// The clauses of a schedule execution search.
#[derive(Debug, Default)]
struct Filter {
    names: Option<BTreeSet<String>>,
    states: Option<BTreeSet<String>>,
    workflow_ids: Option<BTreeSet<String>>,
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(|c| c == '\'' || c == '"').to_string()
}

fn parse_filter(query: &str) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    let query = query.trim();
    if query.is_empty() || query == "*" {
        return Ok(f);
    }
    let upper = query.to_ascii_uppercase();
    let mut clauses = Vec::new();
    let mut at = 0;
    while let Some(i) = upper[at..].find(" AND ") {
        clauses.push(&query[at..at + i]);
        at += i + 5;
    }
    clauses.push(&query[at..]);
    for clause in clauses {
        let c = clause.trim();
        let (field, values) = if let Some((f, v)) = c.split_once('=') {
            (f.trim(), BTreeSet::from([unquote(v)]))
        } else if let Some(i) = c.to_ascii_uppercase().find(" IN ") {
            let list = c[i + 4..].trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| {
                    ApiError::field("query", format!("{c:?}: IN takes a list in parentheses"))
                })?;
            (c[..i].trim(), inner.split(',').map(unquote).collect())
        } else {
            return Err(ApiError::field(
                "query",
                format!("{c:?} is not `field = value` or `field IN (a,b)`"),
            ));
        };
        let slot = match field {
            "scheduleName" => &mut f.names,
            "state" => &mut f.states,
            "workflowId" => &mut f.workflow_ids,
            other => {
                return Err(ApiError::field(
                    "query",
                    format!("{other:?} cannot be searched (scheduleName, state, workflowId can)"),
                ));
            }
        };
        *slot = Some(match slot.take() {
            Some(prev) => prev.intersection(&values).cloned().collect(),
            None => values,
        });
    }
    Ok(f)
}

fn execution(name: &str, workflow: &str, e: ScheduleEvent) -> ScheduleExecution {
    let text = |k: &str| e.event.get(k).and_then(Value::as_str).map(str::to_string);
    let kind = text("type").unwrap_or_default();
    let (state, workflow_id, reason) = match kind.as_str() {
        "STARTED" => ("EXECUTED".to_string(), text("workflowId"), None),
        "RECORD" => (
            text("outcome").unwrap_or_else(|| "RECORD".into()),
            text("workflowId"),
            text("reason"),
        ),
        "ALERT" => ("ALERT".to_string(), None, text("message")),
        other => (other.to_string(), None, None),
    };
    ScheduleExecution {
        schedule_name: name.to_string(),
        scheduled_time: e.slot_ms,
        execution_time: e.recorded_ms,
        workflow_name: workflow.to_string(),
        workflow_id,
        state,
        reason,
        event: e.event,
    }
}

/// Searches what schedules did (runs started, what became of slots and runs, alerts),
/// newest slot first, in Conductor's search-result shape. Up to 1,000 latest entries per
/// schedule are searched. `query` supports `scheduleName`, `state` and `workflowId` with
/// `=` or `IN (...)`, joined by AND.
#[utoipa::path(
    get, path = "/api/scheduler/search/executions", tag = "scheduler",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of matches", body = ScheduleExecutionSearchResult),
        (status = 400, description = "Bad query or paging", body = ErrorBody),
    )
)]
async fn search_executions(
    State(svc): State<Service>,
    Q(q): Q<SearchQuery>,
) -> Result<Json<ScheduleExecutionSearchResult>, ApiError> {
    let start = int::<i64>(q.start.as_deref(), "start")?.unwrap_or(0);
    let size = int::<i64>(q.size.as_deref(), "size")?.unwrap_or(DEFAULT_PAGE as i64);
    if start < 0 {
        return Err(ApiError::field("start", format!("{start} is below 0")));
    }
    if !(0..=1000).contains(&size) {
        return Err(ApiError::field(
            "size",
            format!("{size} is out of range (0 to 1000)"),
        ));
    }
    let ascending = match q.sort.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(s) => match s.split_once(':') {
            Some(("scheduledTime", d)) if d.eq_ignore_ascii_case("ASC") => true,
            Some(("scheduledTime", d)) if d.eq_ignore_ascii_case("DESC") => false,
            None if s == "scheduledTime" => true,
            _ => {
                return Err(ApiError::field(
                    "sort",
                    format!("{s:?}: only scheduledTime:ASC or scheduledTime:DESC"),
                ));
            }
        },
    };
    let mut filter = parse_filter(q.query.as_deref().unwrap_or(""))?;
    if let Some(n) = q.schedule_name.filter(|n| !n.is_empty()) {
        let one = BTreeSet::from([n]);
        filter.names = Some(match filter.names.take() {
            Some(prev) => prev.intersection(&one).cloned().collect(),
            None => one,
        });
    }
    let free = q
        .free_text
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t != "*");
    let mut found = Vec::new();
    for s in svc.list_schedules(None).await? {
        let name = s.def.name.clone();
        if filter.names.as_ref().is_some_and(|n| !n.contains(&name)) {
            continue;
        }
        let workflow = s.def.start_workflow_request.name.clone();
        let entries = match svc
            .schedule_history(&name, i64::MIN, i64::MAX, MAX_HISTORY)
            .await
        {
            Ok(e) => e,
            Err(e) if e.kind() == baton_server::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for e in entries {
            let x = execution(&name, &workflow, e);
            if filter
                .states
                .as_ref()
                .is_some_and(|s| !s.contains(&x.state))
            {
                continue;
            }
            if filter
                .workflow_ids
                .as_ref()
                .is_some_and(|w| !x.workflow_id.as_ref().is_some_and(|id| w.contains(id)))
            {
                continue;
            }
            if let Some(t) = &free {
                let hit = x.schedule_name.contains(t.as_str())
                    || x.workflow_id
                        .as_deref()
                        .is_some_and(|w| w.contains(t.as_str()))
                    || x.reason.as_deref().is_some_and(|r| r.contains(t.as_str()));
                if !hit {
                    continue;
                }
            }
            found.push(x);
        }
    }
    found.sort_by(|a, b| {
        let o = a
            .scheduled_time
            .cmp(&b.scheduled_time)
            .then(a.execution_time.cmp(&b.execution_time));
        if ascending { o } else { o.reverse() }
    });
    let total_hits = found.len() as i64;
    let results = found
        .into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(size as usize)
        .collect();
    Ok(Json(ScheduleExecutionSearchResult {
        total_hits,
        results,
    }))
}

/// The workflows a run-now started.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Triggered {
    /// Ids of the runs started; empty when the overlap policy skipped or buffered the run.
    workflow_ids: Vec<String>,
}

/// What a run does when the schedule's own runs are open (the names are read in any
/// case).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
enum OverlapName {
    /// Do not start it.
    #[schema(rename = "SKIP")]
    Skip,
    /// Start it when the open runs end; one waits at most.
    #[schema(rename = "BUFFER_ONE")]
    BufferOne,
    /// Start each when the previous ones end.
    #[schema(rename = "BUFFER_ALL")]
    BufferAll,
    /// Cancel the open runs, then start it.
    #[schema(rename = "CANCEL_OTHER")]
    CancelOther,
    /// Terminate the open runs and start it at once.
    #[schema(rename = "TERMINATE_OTHER")]
    TerminateOther,
    /// Start it at once.
    #[schema(rename = "ALLOW_ALL")]
    AllowAll,
}

/// An overlap policy for manual runs.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OverlapQuery {
    /// Overlap policy for these runs instead of the schedule's.
    #[param(inline, value_type = Option<OverlapName>)]
    overlap: Option<String>,
}

fn overlap_of(text: Option<&str>) -> Result<Option<OverlapPolicy>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|e: String| ApiError::field("overlap", e)),
    }
}

/// Runs a schedule's workflow now, paused or not, under its overlap policy or the one
/// given (Baton). An optional JSON object body is merged into the schedule's input.
#[utoipa::path(
    post, path = "/api/scheduler/schedules/{name}/trigger", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name"), OverlapQuery),
    request_body(content = Option<Object>, description = "Input merged over the schedule's (optional)"),
    responses(
        (status = 200, description = "The runs started", body = Triggered),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn trigger_schedule(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<OverlapQuery>,
    OptBody(input): OptBody<Option<Object>>,
) -> Result<Json<Triggered>, ApiError> {
    known(&name)?;
    let input = input.flatten();
    let overlap = overlap_of(q.overlap.as_deref())?;
    let workflow_ids = svc.trigger_schedule(&name, input, overlap).await?;
    Ok(Json(Triggered { workflow_ids }))
}

/// A range of slots.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RangeQuery {
    /// Start of the range (epoch ms, inclusive).
    #[param(value_type = i64)]
    from: String,
    /// End of the range (epoch ms, inclusive).
    #[param(value_type = i64)]
    until: String,
    /// Overlap policy for these runs instead of the schedule's.
    #[param(inline, value_type = Option<OverlapName>)]
    overlap: Option<String>,
}

fn required_time(value: &str, name: &str) -> Result<i64, ApiError> {
    int::<i64>(Some(value), name)?
        .ok_or_else(|| ApiError::field(name, "a time (epoch ms) is required"))
}

/// Runs every slot of `[from, until]` (up to now) that has not run, whatever the misfire
/// policy says (Baton); large ranges go on in the background.
#[utoipa::path(
    post, path = "/api/scheduler/schedules/{name}/backfill", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name"), RangeQuery),
    responses(
        (status = 200, description = "The schedule", body = ScheduleJson),
        (status = 400, description = "Bad range", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn backfill_schedule(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<RangeQuery>,
) -> Result<Json<ScheduleJson>, ApiError> {
    let from = required_time(&q.from, "from")?.clamp(0, MAX_TIME_MS);
    let until = required_time(&q.until, "until")?.clamp(0, MAX_TIME_MS);
    let overlap = overlap_of(q.overlap.as_deref())?;
    Ok(Json(schedule_json(
        svc.backfill_schedule(&name, from, until, overlap).await?,
    )?))
}

/// Which history to read.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    /// Entries with slots from this time (epoch ms); no bound when absent.
    #[param(value_type = Option<i64>)]
    from: Option<String>,
    /// Entries with slots up to this time (epoch ms); no bound when absent.
    #[param(value_type = Option<i64>)]
    until: Option<String>,
    /// Most entries, 1 to 1,000 (100 when absent).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// One history entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct HistoryEntry {
    /// The slot it is about (epoch ms).
    scheduled_time: i64,
    /// When it was recorded (epoch ms).
    recorded_time: i64,
    /// What happened: `{"type": "STARTED", "workflowId", ...}`, `{"type": "RECORD",
    /// "outcome", "reason"}` or `{"type": "ALERT", "kind", "message"}`.
    #[schema(value_type = Object)]
    event: Value,
}

/// A schedule's history, newest slot first (Baton).
#[utoipa::path(
    get, path = "/api/scheduler/schedules/{name}/history", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name"), HistoryQuery),
    responses(
        (status = 200, description = "Entries, newest first", body = [HistoryEntry]),
        (status = 400, description = "Bad range or limit", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn schedule_history(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<HistoryQuery>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let from = int::<i64>(q.from.as_deref(), "from")?.unwrap_or(i64::MIN);
    let until = int::<i64>(q.until.as_deref(), "until")?.unwrap_or(i64::MAX);
    let limit = limit_of(q.limit.as_deref(), DEFAULT_PAGE, MAX_HISTORY)?;
    let entries = svc.schedule_history(&name, from, until, limit).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| HistoryEntry {
                scheduled_time: e.slot_ms,
                recorded_time: e.recorded_ms,
                event: e.event,
            })
            .collect(),
    ))
}

/// How many next slots.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NextQuery {
    /// How many, 1 to 1,000 (5 when absent).
    #[param(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// One slot a saved schedule will fire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NextSlot {
    /// The slot (epoch ms).
    scheduled_time: i64,
    /// When it fires, jitter included (epoch ms).
    fire_time: i64,
    /// The spec that produced it: a cron expression, or `@every <n>s`.
    spec: String,
    /// `CRON` or `INTERVAL`.
    kind: String,
}

/// The next slots of a saved schedule as it stands (Baton): none while paused or once
/// `maxRuns` is reached.
#[utoipa::path(
    get, path = "/api/scheduler/schedules/{name}/next", tag = "scheduler",
    params(("name" = String, Path, description = "Schedule name"), NextQuery),
    responses(
        (status = 200, description = "Slots in order", body = [NextSlot]),
        (status = 400, description = "Bad limit", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
async fn next_slots(
    State(svc): State<Service>,
    Path(name): Path<String>,
    Q(q): Q<NextQuery>,
) -> Result<Json<Vec<NextSlot>>, ApiError> {
    let limit = limit_of(q.limit.as_deref(), 5, 1000)?;
    let slots = svc.upcoming_slots(&name, limit).await?;
    Ok(Json(
        slots
            .into_iter()
            .map(|(s, at)| NextSlot {
                scheduled_time: s.at_ms,
                fire_time: at,
                spec: s.spec,
                kind: match s.kind {
                    SpecKind::Cron => "CRON",
                    SpecKind::Interval => "INTERVAL",
                }
                .into(),
            })
            .collect(),
    ))
}
