//! The JSON shapes of the HTTP API, as Conductor's clients read and write them: field names
//! in camelCase, times in epoch milliseconds, null fields left out, primitives always
//! present.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};

/// A JSON object.
pub type Object = Map<String, Value>;

/// Decodes a whole number that may be written with a fraction of zero (`419.0`), as
/// clients that write every number as a double send it; any other fraction is refused.
fn whole<'de, D, N>(d: D) -> Result<N, D::Error>
where
    D: serde::Deserializer<'de>,
    N: TryFrom<i64>,
{
    let n = serde_json::Number::deserialize(d)?;
    let whole = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        // A fraction below the precision of a double at that size is an artefact of
        // reading the decimal text, not a fraction the client meant.
        (None, Some(f))
            if (f - f.round()).abs() <= f.abs() * f64::EPSILON * 4.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64 =>
        {
            Some(f.round() as i64)
        }
        _ => None,
    };
    whole
        .and_then(|i| N::try_from(i).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number in range")))
}

/// As `whole`, for a field that may be null.
fn whole_opt<'de, D, N>(d: D) -> Result<Option<N>, D::Error>
where
    D: serde::Deserializer<'de>,
    N: TryFrom<i64>,
{
    #[derive(Deserialize)]
    struct Wrap<N: TryFrom<i64>>(#[serde(deserialize_with = "whole")] N);
    Ok(Option::<Wrap<N>>::deserialize(d)?.map(|Wrap(n)| n))
}

/// Whether the server serves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// True once the server serves every request.
    pub healthy: bool,
}

/// What went wrong with a request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status.
    pub status: u16,
    /// A short code: INVALID_INPUT, NOT_FOUND, CONFLICT, ...
    pub code: String,
    /// What went wrong, naming the field or thing at fault.
    pub message: String,
    /// The server that answered.
    pub instance: String,
    /// Whether the same request may succeed later.
    pub retryable: bool,
    /// The fields at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<ValidationError>,
}

/// One field at fault.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidationError {
    /// Where in the request.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
    /// The value given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_value: Option<String>,
}

/// An execution.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// RUNNING, COMPLETED, FAILED, TIMED_OUT, TERMINATED or PAUSED.
    pub status: String,
    /// When it was created.
    pub create_time: i64,
    /// When it last changed.
    pub update_time: i64,
    /// When it ended (0 while open).
    pub end_time: i64,
    /// When it started (its creation).
    pub start_time: i64,
    /// Its id.
    pub workflow_id: String,
    /// The definition's name.
    pub workflow_name: String,
    /// The definition's version.
    pub workflow_version: i32,
    /// The parent execution, for a sub-workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_workflow_id: Option<String>,
    /// The parent's SUB_WORKFLOW task, for a sub-workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_workflow_task_id: Option<String>,
    /// Task instances in scheduling order (empty when not asked for).
    pub tasks: Vec<Task>,
    /// Input.
    #[schema(value_type = Object)]
    pub input: Object,
    /// Output.
    #[schema(value_type = Object)]
    pub output: Object,
    /// The caller's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Why it did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Task name (or `*`) to domain.
    pub task_to_domain: BTreeMap<String, String>,
    /// Reference names of the failed tasks that ended it.
    pub failed_reference_task_names: Vec<String>,
    /// Names of the failed tasks that ended it.
    pub failed_task_names: Vec<String>,
    /// The definition it runs (when tasks are included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub workflow_definition: Option<Value>,
    /// Priority, 0-99.
    pub priority: i32,
    /// Workflow variables.
    #[schema(value_type = Object)]
    pub variables: Object,
    /// The idempotency key it was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A task instance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// An operator's name, or for a worker task the task's name.
    pub task_type: String,
    /// SCHEDULED, IN_PROGRESS, COMPLETED, COMPLETED_WITH_ERRORS, FAILED,
    /// FAILED_WITH_TERMINAL_ERROR, TIMED_OUT, CANCELED or SKIPPED.
    pub status: String,
    /// Input.
    #[schema(value_type = Object)]
    pub input_data: Object,
    /// Reference name (with `__N` inside a loop).
    pub reference_task_name: String,
    /// Retries before this instance.
    pub retry_count: i32,
    /// Position in the execution, from 1.
    pub seq: i32,
    /// The execution's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Times handed to a worker.
    pub poll_count: i32,
    /// The task definition's name.
    pub task_def_name: String,
    /// When scheduled.
    pub scheduled_time: i64,
    /// When a worker took it (0 not yet).
    pub start_time: i64,
    /// When it ended (0 not yet).
    pub end_time: i64,
    /// When it last changed.
    pub update_time: i64,
    /// Delay before it was ready, in seconds.
    pub start_delay_in_seconds: i64,
    /// The instance this one retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_task_id: Option<String>,
    /// True once a retry of this instance exists.
    pub retried: bool,
    /// True once it has ended.
    pub executed: bool,
    /// Whether a worker's callback is expected.
    pub callback_from_worker: bool,
    /// Lease length in seconds.
    pub response_timeout_seconds: i64,
    /// The owning execution.
    pub workflow_instance_id: String,
    /// The owning execution's definition name.
    pub workflow_type: String,
    /// Its id.
    pub task_id: String,
    /// Why it did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Seconds it stays hidden after an IN_PROGRESS report.
    pub callback_after_seconds: i64,
    /// The worker holding or last holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// Output.
    #[schema(value_type = Object)]
    pub output_data: Object,
    /// The definition's task it is an instance of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub workflow_task: Option<Value>,
    /// Domain of its queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Hand-outs allowed per window (0 unlimited).
    pub rate_limit_per_frequency: i32,
    /// The window of the rate limit, in seconds.
    pub rate_limit_frequency_in_seconds: i32,
    /// The execution's priority.
    pub workflow_priority: i32,
    /// DO_WHILE iteration (0 outside loops).
    pub iteration: i32,
    /// The child execution of a SUB_WORKFLOW task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_workflow_id: Option<String>,
    /// When the first attempt of this reference was scheduled.
    pub first_start_time: i64,
    /// Milliseconds between scheduling and a worker taking it.
    pub queue_wait_time: i64,
    /// Whether it runs inside a DO_WHILE.
    pub loop_over_task: bool,
    /// The task definition at run time, for worker tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub task_definition: Option<Value>,
}

/// What a result may report.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub enum ResultStatus {
    /// Done.
    #[schema(rename = "COMPLETED")]
    Completed,
    /// Failed; retried as its definition says.
    #[schema(rename = "FAILED")]
    Failed,
    /// Failed without retries.
    #[schema(rename = "FAILED_WITH_TERMINAL_ERROR")]
    FailedWithTerminalError,
    /// Still working (or, with `extendLease`, a lease extension).
    #[schema(rename = "IN_PROGRESS")]
    InProgress,
}

/// A task log line: text that is not empty (as raw text, or as a JSON string).
pub struct LogLine;

impl utoipa::PartialSchema for LogLine {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .into()
    }
}

impl ToSchema for LogLine {}

/// Ids of executions for a bulk operation: 1 to 1,000.
pub struct WorkflowIds;

impl utoipa::PartialSchema for WorkflowIds {
    fn schema() -> RefOr<Schema> {
        id_list(0)
    }
}

impl ToSchema for WorkflowIds {}

/// Correlation ids to look up: 1 to 1,000, none of them empty.
pub struct CorrelationIds;

impl utoipa::PartialSchema for CorrelationIds {
    fn schema() -> RefOr<Schema> {
        id_list(1)
    }
}

impl ToSchema for CorrelationIds {}

/// An array of 1 to 1,000 strings of at least `min_length` characters.
fn id_list(min_length: usize) -> RefOr<Schema> {
    let item = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min_length > 0).then_some(min_length));
    ArrayBuilder::new()
        .items(item)
        .min_items(Some(1))
        .max_items(Some(1000))
        .into()
}

/// A worker's result.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    /// The execution the task belongs to.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1)]
    pub workflow_instance_id: Option<String>,
    /// The task instance.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1)]
    pub task_id: Option<String>,
    /// COMPLETED, FAILED, FAILED_WITH_TERMINAL_ERROR or IN_PROGRESS.
    #[serde(default)]
    #[schema(value_type = ResultStatus, required = true)]
    pub status: Option<String>,
    /// Output (merged into earlier output for IN_PROGRESS).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub output_data: Option<Object>,
    /// Why it did not complete.
    #[serde(default)]
    pub reason_for_incompletion: Option<String>,
    /// With IN_PROGRESS: seconds to hide the task before it is handed out again.
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 0)]
    pub callback_after_seconds: Option<i64>,
    /// The reporting worker.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Log lines to add.
    #[serde(default)]
    pub logs: Option<Vec<TaskExecLog>>,
    /// With IN_PROGRESS: extend the lease instead of reporting progress.
    #[serde(default)]
    pub extend_lease: Option<bool>,
    /// Accepted and ignored: the child of a SUB_WORKFLOW is the engine's to set.
    #[serde(default)]
    pub sub_workflow_id: Option<String>,
    /// Refused when set: outputs are stored in the engine, not elsewhere.
    #[serde(default)]
    #[schema(max_length = 0)]
    pub external_output_payload_storage_path: Option<String>,
}

/// A log line of a task.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskExecLog {
    /// The text.
    #[serde(default)]
    pub log: String,
    /// The task it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When it was written: epoch ms (a value below 10^11 is taken as seconds, as some
    /// clients send).
    #[serde(default, deserialize_with = "whole")]
    pub created_time: i64,
}

/// What to start.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartWorkflowRequest {
    /// Definition name (the inline definition's name when one is given).
    #[serde(default)]
    pub name: Option<String>,
    /// Definition version; the latest when absent or 0.
    #[serde(default, deserialize_with = "whole_opt")]
    pub version: Option<i32>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
    /// Input.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub input: Option<Object>,
    /// Task name (or `*`) to domain.
    #[serde(default)]
    pub task_to_domain: Option<BTreeMap<String, String>>,
    /// A definition to run without registering it.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub workflow_def: Option<Value>,
    /// Priority, 0-99.
    #[serde(default, deserialize_with = "whole_opt")]
    #[schema(minimum = 0, maximum = 99)]
    pub priority: Option<i32>,
    /// Who started it (kept for Conductor's clients; not stored).
    #[serde(default)]
    pub created_by: Option<String>,
    /// Idempotency key: one execution per key and name.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// FAIL (when absent), RETURN_EXISTING or FAIL_ON_RUNNING.
    #[serde(default)]
    #[schema(value_type = Option<IdempotencyStrategy>)]
    pub idempotency_strategy: Option<String>,
    /// Accepted and ignored: inputs are stored in the engine.
    #[serde(default)]
    pub external_input_payload_storage_path: Option<String>,
}

/// What a second start with the same idempotency key does.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub enum IdempotencyStrategy {
    /// Refuse it (409).
    #[schema(rename = "FAIL")]
    Fail,
    /// Answer the earlier execution's id.
    #[schema(rename = "RETURN_EXISTING")]
    ReturnExisting,
    /// Refuse it while the earlier execution is running or paused.
    #[schema(rename = "FAIL_ON_RUNNING")]
    FailOnRunning,
}

/// A rerun from one task instance.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RerunWorkflowRequest {
    /// The execution (must match the path when given).
    #[serde(default)]
    pub re_run_from_workflow_id: Option<String>,
    /// New input of the workflow.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub workflow_input: Option<Object>,
    /// The task instance to rerun from.
    #[serde(default)]
    pub re_run_from_task_id: Option<String>,
    /// New input of that task.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub task_input: Option<Object>,
    /// Accepted and ignored: a rerun keeps the execution's correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

/// What a skipped task shows.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkipTaskRequest {
    /// Its input.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub task_input: Option<Object>,
    /// Its output.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub task_output: Option<Object>,
}

/// The outcome of one operation over many executions or definitions.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResponse {
    /// Id (or name) to why it failed.
    pub bulk_error_results: BTreeMap<String, String>,
    /// Ids (or names) it succeeded for.
    pub bulk_successful_results: Vec<String>,
    /// A summary.
    pub message: String,
}

/// An execution as a synchronous run sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRun {
    /// Its id.
    pub workflow_id: String,
    /// The request id given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The caller's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Input.
    #[schema(value_type = Object)]
    pub input: Object,
    /// Output.
    #[schema(value_type = Object)]
    pub output: Object,
    /// Task instances.
    pub tasks: Vec<Task>,
    /// Status when the wait ended.
    pub status: String,
    /// Priority.
    pub priority: i32,
    /// Workflow variables.
    #[schema(value_type = Object)]
    pub variables: Object,
    /// When it was created.
    pub create_time: i64,
    /// When it last changed.
    pub update_time: i64,
}

/// When a queue was last polled, and by whom.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollData {
    /// The task type.
    pub queue_name: String,
    /// The domain (absent: the default queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The worker that polled last.
    pub worker_id: String,
    /// When (epoch ms).
    pub last_poll_time: i64,
}

/// One worker the server knows of: connected over a stream, or polled within the last
/// minute (or polling now).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerInfo {
    /// How it takes tasks: `STREAM` (pushed over a gRPC Work stream) or `POLL`.
    #[schema(pattern = "^(STREAM|POLL)$")]
    pub kind: String,
    /// The id it gave (`anonymous` when none).
    pub worker_id: String,
    /// The stream's connection id, unique while the server runs; 0 for a poller.
    pub connection_id: u64,
    /// The task types it takes, sorted.
    pub task_types: Vec<String>,
    /// The domain it serves (absent: the default queues).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Credit left: tasks a stream worker would take now; 0 for a poller.
    pub credits: i64,
    /// Tasks handed to it and not yet finished.
    pub in_flight: i64,
    /// When the stream subscribed (epoch ms; absent for a poller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_time: Option<i64>,
    /// When it was last heard from (epoch ms).
    pub last_seen_time: i64,
    /// Polls it has waiting now; 0 for a stream worker.
    pub polls_waiting: i64,
}

/// A run of a workflow with mocked task outputs.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTestRequest {
    /// What to start, as for a start.
    #[serde(flatten)]
    pub start: StartWorkflowRequest,
    /// Task reference name to the outcomes its instances get, in order (a retried task
    /// takes the next one).
    #[serde(default)]
    pub task_ref_to_mock_output: BTreeMap<String, Vec<TaskMock>>,
    /// Accepted and ignored: a SUB_WORKFLOW runs its real child, mocks by reference apply
    /// to the parent only.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sub_workflow_test_request: Option<Value>,
}

/// One mocked outcome of a task instance.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskMock {
    /// COMPLETED (the default), FAILED or FAILED_WITH_TERMINAL_ERROR.
    #[serde(default)]
    pub status: Option<String>,
    /// Output.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub output: Option<Object>,
    /// Accepted and ignored: a mocked task ends as soon as it is scheduled.
    #[serde(default, deserialize_with = "whole_opt")]
    pub execution_time: Option<i64>,
    /// Accepted and ignored, as `executionTime`.
    #[serde(default, deserialize_with = "whole_opt")]
    pub queue_wait_time: Option<i64>,
}

/// Quantiles of one latency in milliseconds: in an overview over the last one to two
/// minutes, in a metrics sample over its interval.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencyQuantiles {
    /// Times measured.
    pub count: i64,
    /// Median.
    pub p50_ms: i64,
    /// 99th percentile.
    pub p99_ms: i64,
    /// Longest.
    pub max_ms: i64,
}

/// Recent latencies of one task type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskTypeLatency {
    /// The task type (task definition name).
    pub task_type: String,
    /// Worker tasks: from ready in their queue to handed to a worker.
    pub schedule_to_start: LatencyQuantiles,
    /// From started to ended.
    pub start_to_end: LatencyQuantiles,
}

/// One ready queue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueInfo {
    /// The task type it holds.
    pub task_type: String,
    /// Its domain (absent: the default queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Tasks waiting in it.
    pub depth: i64,
    /// Stream workers subscribed to it.
    pub subscribers: i64,
}

/// An execution that ended failed, timed out or terminated.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentFailure {
    /// Execution id.
    pub workflow_id: String,
    /// Definition name.
    pub workflow_type: String,
    /// Definition version.
    pub version: i32,
    /// `FAILED`, `TIMED_OUT` or `TERMINATED`.
    #[schema(pattern = "^(FAILED|TIMED_OUT|TERMINATED)$")]
    pub status: String,
    /// When it ended (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Why it did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What happened in one interval of the metrics history, and the queues at its end.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSample {
    /// End of the interval (epoch ms).
    pub at: i64,
    /// Length of the interval in ms (the first runs from the server's start).
    pub interval_ms: i64,
    /// Workflows started.
    pub workflows_started: i64,
    /// Workflows that ended COMPLETED.
    pub workflows_completed: i64,
    /// Workflows that ended FAILED or TIMED_OUT.
    pub workflows_failed: i64,
    /// Workflows terminated.
    pub workflows_terminated: i64,
    /// Tasks that ended COMPLETED or COMPLETED_WITH_ERRORS.
    pub tasks_completed: i64,
    /// Tasks that ended FAILED, FAILED_WITH_TERMINAL_ERROR or TIMED_OUT.
    pub tasks_failed: i64,
    /// Worker tasks' wait from ready to handed out, over the interval.
    pub queue_wait: LatencyQuantiles,
    /// Tasks' run time from started to ended, over the interval.
    pub run_time: LatencyQuantiles,
    /// Tasks waiting in every ready queue at the end of the interval.
    pub queue_depth: i64,
    /// Stream worker subscriptions at the end of the interval (one per worker and task
    /// type).
    pub workers: i64,
}

/// The last minutes of key figures, one sample per interval, oldest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsHistory {
    /// The server's clock when it answered (epoch ms).
    pub server_time: i64,
    /// Length of each sample's interval (ms).
    pub sample_every_ms: i64,
    /// The samples, oldest first.
    pub samples: Vec<MetricsSample>,
}

/// One reading of the server: counters since it started (rates come from the difference
/// of two readings), recent task latencies, queues, workers and the latest failures.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// The server's clock when it answered (epoch ms).
    pub server_time: i64,
    /// When the server started (epoch ms); the counters run from then.
    pub start_time: i64,
    /// Workflows started since the server started.
    pub workflows_started: i64,
    /// Workflows ended since the server started, by final status.
    pub workflows_ended: BTreeMap<String, i64>,
    /// Tasks that ended after starting, since the server started, by status.
    pub tasks_ended: BTreeMap<String, i64>,
    /// Recent latencies by task type, sorted by type; types with nothing in the last one
    /// to two minutes are left out.
    pub latencies: Vec<TaskTypeLatency>,
    /// Every ready queue, by task type then domain.
    pub queues: Vec<QueueInfo>,
    /// Stream workers, then recent pollers.
    pub workers: Vec<WorkerInfo>,
    /// The latest failed, timed-out or terminated executions, most recent first.
    pub recent_failures: Vec<RecentFailure>,
    /// Whether `recentFailures` could be read: false while the search index is rebuilt or
    /// cannot answer (the list is then empty).
    pub recent_failures_available: bool,
}
