//! The definition model: Conductor's WorkflowDef, WorkflowTask and TaskDef in their JSON
//! form (camelCase). Every documented field is kept; fields this model does not know are
//! kept in `extra` so that a definition round-trips unchanged.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A JSON object, as used for inputs, outputs and parameter templates.
pub type Object = Map<String, Value>;

fn default_version() -> i32 {
    1
}
fn default_schema_version() -> i32 {
    2
}
fn default_true() -> bool {
    true
}
fn default_task_type() -> String {
    "SIMPLE".to_string()
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// What happens when a workflow runs past its `timeoutSeconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowTimeoutPolicy {
    /// The workflow is marked TIMED_OUT.
    TimeOutWf,
    /// Only an alert is raised; the workflow goes on.
    #[default]
    AlertOnly,
}

/// What happens when a task runs past its `timeoutSeconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskTimeoutPolicy {
    /// The task is TIMED_OUT and retried per its retry policy.
    Retry,
    /// The task is TIMED_OUT and the workflow with it.
    #[default]
    TimeOutWf,
    /// Only an alert is raised; the task goes on.
    AlertOnly,
}

/// How the delay before a retry grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryLogic {
    /// Always `retryDelaySeconds`.
    #[default]
    Fixed,
    /// `retryDelaySeconds * backoffScaleFactor * (attempt + 1)`.
    LinearBackoff,
    /// `retryDelaySeconds * 2^attempt`.
    ExponentialBackoff,
}

/// A workflow definition (Conductor's WorkflowDef).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDef {
    /// Name of the workflow; required.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Version; 1 when absent.
    #[serde(default = "default_version")]
    pub version: i32,
    /// The tasks, run in order.
    #[serde(default)]
    pub tasks: Vec<WorkflowTask>,
    /// Names of the expected inputs (documentation only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_parameters: Vec<String>,
    /// Defaults merged into the start input where a key is absent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub input_template: Object,
    /// Output template; without it the output is the last task's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_parameters: Option<Object>,
    /// Initial workflow variables.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub variables: Object,
    /// Workflow started when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_workflow: Option<String>,
    /// Version of the failure workflow; latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_workflow_version: Option<i32>,
    /// DSL schema version; only 2 exists.
    #[serde(default = "default_schema_version")]
    pub schema_version: i32,
    /// Whether a COMPLETED run may be restarted.
    #[serde(default = "default_true")]
    pub restartable: bool,
    /// Whether status listeners are told of changes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub workflow_status_listener_enabled: bool,
    /// Owner's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
    /// What a workflow timeout does.
    #[serde(default)]
    pub timeout_policy: WorkflowTimeoutPolicy,
    /// Seconds from start (or last retry) before the workflow times out; 0 = never.
    #[serde(default)]
    pub timeout_seconds: i64,
    /// Workflow-level rate limit (conductor-oss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_config: Option<Value>,
    /// JSON schema of the input (conductor-oss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// JSON schema of the output (conductor-oss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Whether the schemas are enforced (conductor-oss).
    #[serde(default, skip_serializing_if = "is_false")]
    pub enforce_schema: bool,
    /// Free-form metadata (conductor-oss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Result cache settings (conductor-oss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_config: Option<Value>,
    /// Fields hidden in the UI (conductor-oss).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked_fields: Vec<String>,
    /// Audit: owning application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_app: Option<String>,
    /// Audit: creation time (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Audit: last update time (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Audit: creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Audit: last updater.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// How long finished runs of this workflow are kept (overrides the server's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<crate::retention::RetentionSettings>,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

/// Parameters of a SUB_WORKFLOW task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SubWorkflowParams {
    /// Name of the child workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the child (a number or an expression); latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Value>,
    /// Task-to-domain mapping for the child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_to_domain: Option<Value>,
    /// Inline child definition (an object) or an expression yielding one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_definition: Option<Value>,
    /// Idempotency key for the child start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Idempotency strategy for the child start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_strategy: Option<String>,
    /// Priority of the child (a number or an expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Value>,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

/// One task in a workflow definition (Conductor's WorkflowTask).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowTask {
    /// Task definition name (the queue for worker tasks).
    #[serde(default)]
    pub name: String,
    /// Reference name, unique across the whole workflow.
    #[serde(default)]
    pub task_reference_name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Task type; SIMPLE when absent. Unknown types are worker tasks.
    #[serde(rename = "type", default = "default_task_type")]
    pub task_type: String,
    /// Input template with `${...}` expressions.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub input_parameters: Object,
    /// A failure becomes COMPLETED_WITH_ERRORS and the workflow goes on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
    /// A failure does not stop sibling fork branches.
    #[serde(default, skip_serializing_if = "is_false")]
    pub permissive: bool,
    /// Seconds to wait before the task becomes ready.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_delay: i64,
    /// The task stays IN_PROGRESS until completed from outside.
    #[serde(default, skip_serializing_if = "is_false")]
    pub async_complete: bool,
    /// Overrides the task definition's retryCount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i32>,
    /// Inline task definition, used instead of the registered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<TaskDef>,
    /// Whether the task is rate limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limited: Option<bool>,
    /// EVENT: where to publish ("provider:queue").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<String>,
    /// Events published on state changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_state_change: Option<Value>,
    /// Result cache settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_config: Option<Value>,
    /// SWITCH / INLINE: `value-param`, `javascript` or `graaljs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluator_type: Option<String>,
    /// SWITCH / INLINE: the expression to evaluate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// SWITCH / DECISION: case value -> tasks.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub decision_cases: IndexMap<String, Vec<WorkflowTask>>,
    /// SWITCH / DECISION: tasks when no case matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_case: Vec<WorkflowTask>,
    /// DECISION: input key holding the case value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_value_param: Option<String>,
    /// DECISION: JavaScript computing the case value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_expression: Option<String>,
    /// LAMBDA: the JavaScript to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_expression: Option<String>,
    /// FORK_JOIN: the parallel branches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fork_tasks: Vec<Vec<WorkflowTask>>,
    /// JOIN / EXCLUSIVE_JOIN: reference names to wait for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join_on: Vec<String>,
    /// EXCLUSIVE_JOIN: refs used when no joinOn branch ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_exclusive_join_task: Vec<String>,
    /// FORK_JOIN_DYNAMIC: input key holding the task list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_fork_tasks_param: Option<String>,
    /// FORK_JOIN_DYNAMIC: input key holding the per-ref inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_fork_tasks_input_param_name: Option<String>,
    /// DYNAMIC: input key holding the real task name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_task_name_param: Option<String>,
    /// DO_WHILE: loop while this evaluates to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_condition: Option<String>,
    /// DO_WHILE: the loop body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loop_over: Vec<WorkflowTask>,
    /// DO_WHILE: a list (or expression) to iterate over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Value>,
    /// SUB_WORKFLOW: which child to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_workflow_param: Option<SubWorkflowParams>,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

/// A task definition (Conductor's TaskDef): retry, timeout and limit policy of a task name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDef {
    /// Name of the task; required.
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Owner's e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_email: Option<String>,
    /// Retries after the first attempt; 3 when absent.
    #[serde(default = "TaskDef::default_retry_count")]
    pub retry_count: i32,
    /// How the retry delay grows.
    #[serde(default)]
    pub retry_logic: RetryLogic,
    /// Base retry delay in seconds; 60 when absent.
    #[serde(default = "TaskDef::default_retry_delay")]
    pub retry_delay_seconds: i64,
    /// Scale factor for LINEAR_BACKOFF; 1 when absent.
    #[serde(default = "TaskDef::default_scale")]
    pub backoff_scale_factor: i32,
    /// Cap on the retry delay in seconds; 0 = no cap.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_retry_delay_seconds: i64,
    /// Random extra delay up to this many milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub backoff_jitter_ms: i64,
    /// Budget in seconds across all attempts; 0 = none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total_timeout_seconds: i64,
    /// Seconds an attempt may take from first being taken; 0 = none.
    #[serde(default)]
    pub timeout_seconds: i64,
    /// What a timeout does.
    #[serde(default)]
    pub timeout_policy: TaskTimeoutPolicy,
    /// Lease length: a worker must report or extend within it; 3600 when absent.
    #[serde(default = "TaskDef::default_response_timeout")]
    pub response_timeout_seconds: i64,
    /// Seconds a task may wait SCHEDULED before it times out; 0 = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_timeout_seconds: Option<i64>,
    /// Expected input keys (documentation only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_keys: Vec<String>,
    /// Expected output keys (documentation only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_keys: Vec<String>,
    /// Defaults for input keys that are missing or null.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub input_template: Object,
    /// Most tasks of this name IN_PROGRESS at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent_exec_limit: Option<i32>,
    /// Most tasks handed out per frequency window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_frequency: Option<i32>,
    /// Length of the rate-limit window in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_frequency_in_seconds: Option<i32>,
    /// Isolation group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_group_id: Option<String>,
    /// Execution namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_name_space: Option<String>,
    /// Audit: owning application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_app: Option<String>,
    /// Audit: creation time (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<i64>,
    /// Audit: last update time (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<i64>,
    /// Audit: creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Audit: last updater.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// Fields this model does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Object,
}

impl TaskDef {
    fn default_retry_count() -> i32 {
        3
    }
    fn default_retry_delay() -> i64 {
        60
    }
    fn default_scale() -> i32 {
        1
    }
    fn default_response_timeout() -> i64 {
        3600
    }

    /// A task definition with the given name and every other field at its default.
    pub fn named(name: impl Into<String>) -> Self {
        serde_json::from_value(serde_json::json!({ "name": name.into() }))
            .expect("a name alone is a valid task definition")
    }
}
