//! Baton's system tasks that need a script engine, jq or the network.
//!
//! The decider is pure: when a workflow reaches an INLINE, LAMBDA, JSON_JQ_TRANSFORM or HTTP
//! task (or a SWITCH/DECISION/DO_WHILE whose expression is JavaScript) it asks the runtime to
//! run it, and the runtime calls this crate. Everything here works on plain JSON
//! ([`serde_json::Value`] and [`serde_json::Map`]) and knows nothing of executions, stores or
//! queues.
//!
//! - [`script`]: JavaScript in an embedded engine with time, memory and stack limits.
//! - [`jq`]: jq queries with time, output-count and recursion limits.
//! - [`http`]: Conductor's HTTP task over a shared [`reqwest::Client`].
//! - [`inline`], [`lambda`], [`switch_case`], [`jq::jq_transform`] and [`http::call`] turn a
//!   task's resolved input into an [`Outcome`] exactly as Conductor's tasks of the same name.
//!
//! The script and jq functions are synchronous and CPU-bound: call them from a blocking
//! thread (`tokio::task::spawn_blocking`). [`http::call`] is async.

#![warn(missing_docs)]

pub mod http;
pub mod jq;
pub mod script;

use serde_json::{Map, Value};

pub use script::{ScriptError, ScriptLimits};

/// How a system task ended, with the output the task records.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The task completed with this output.
    Completed(Map<String, Value>),
    /// The task did its work but stays IN_PROGRESS until an external update completes it
    /// (HTTP with `asyncComplete: true`).
    InProgress(Map<String, Value>),
    /// The task failed.
    Failed {
        /// Why, for the task's `reasonForIncompletion`.
        reason: String,
        /// Output recorded with the failure (Conductor's `error` key, or the HTTP task's
        /// `response`: the error text, or the response for a status that is neither a
        /// success nor an error).
        output: Map<String, Value>,
        /// True when a retry cannot help (Conductor's FAILED_WITH_TERMINAL_ERROR): the task's
        /// retries are skipped. False means the task definition's retry policy applies.
        terminal: bool,
    },
}

impl Outcome {
    /// The output the task records, whatever the outcome.
    pub fn output(&self) -> &Map<String, Value> {
        match self {
            Outcome::Completed(output) | Outcome::InProgress(output) => output,
            Outcome::Failed { output, .. } => output,
        }
    }

    /// Takes the output out of the outcome.
    pub fn into_output(self) -> Map<String, Value> {
        match self {
            Outcome::Completed(output) | Outcome::InProgress(output) => output,
            Outcome::Failed { output, .. } => output,
        }
    }

    /// A retryable failure whose output holds the reason under `error`.
    pub(crate) fn failed(reason: impl Into<String>, terminal: bool) -> Outcome {
        let reason = reason.into();
        let mut output = Map::new();
        output.insert("error".to_owned(), Value::String(reason.clone()));
        Outcome::Failed {
            reason,
            output,
            terminal,
        }
    }

    /// A completed task whose output is `{"result": value}`.
    pub(crate) fn result(value: Value) -> Outcome {
        let mut output = Map::new();
        output.insert("result".to_owned(), value);
        Outcome::Completed(output)
    }
}

/// Runs Conductor's INLINE task on its resolved input.
///
/// - `evaluatorType` `javascript` or `graaljs` (the default when absent): evaluates the
///   `expression` input with `$` bound to the whole input; output `{"result": value}`.
/// - `value-param`: output `{"result": input[expression]}` (`null` when absent).
/// - Any other evaluator, a blank evaluator, or a missing or blank `expression` fail the task
///   terminally, as do syntax errors, uncaught exceptions, unconvertible results and the
///   memory and stack limits (a retry would fail the same way; Conductor marks them
///   FAILED_WITH_TERMINAL_ERROR too). Running out of time fails it retryably, as in
///   Conductor, since it can depend on load. A failure's output holds `error`.
pub fn inline(input: &Map<String, Value>, limits: &ScriptLimits) -> Outcome {
    let evaluator = match input.get("evaluatorType") {
        None | Some(Value::Null) => "javascript",
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Outcome::failed(
                "INLINE task input 'evaluatorType' is empty; use javascript, graaljs or value-param",
                true,
            );
        }
        Some(Value::String(s)) => s.as_str(),
        Some(other) => {
            return Outcome::failed(
                format!("INLINE task input 'evaluatorType' must be a string, not {other}"),
                true,
            );
        }
    };
    let expression = match input.get("expression") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.as_str(),
        _ => {
            return Outcome::failed(
                "INLINE task input 'expression' is missing or empty; a non-empty string is required",
                true,
            );
        }
    };
    match evaluator {
        "javascript" | "graaljs" => match script::eval_serialized(expression, input, limits) {
            Ok(value) => Outcome::result(value),
            Err(e) => Outcome::failed(e.to_string(), !e.is_transient()),
        },
        "value-param" => Outcome::result(input.get(expression).cloned().unwrap_or(Value::Null)),
        other => Outcome::failed(
            format!(
                "unknown evaluatorType '{other}' in INLINE task; use javascript, graaljs or value-param"
            ),
            true,
        ),
    }
}

/// Runs Conductor's deprecated LAMBDA task on its resolved input.
///
/// The `scriptExpression` input is a function body (see [`script::eval_lambda`]) run with
/// `$` bound to the whole input; output `{"result": value}`. A missing or blank
/// `scriptExpression` and every script error fail the task retryably with `error` in the
/// output, as Conductor's LAMBDA does (it never marks a failure terminal).
pub fn lambda(input: &Map<String, Value>, limits: &ScriptLimits) -> Outcome {
    let body = match input.get("scriptExpression") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => {
            return Outcome::failed(
                "LAMBDA task input 'scriptExpression' is missing or empty; a non-empty string is required",
                false,
            );
        }
    };
    match script::eval_serialized(&script::lambda_source(body), input, limits) {
        Ok(value) => Outcome::result(value),
        Err(e) => Outcome::failed(e.to_string(), false),
    }
}

/// Evaluates a JavaScript SWITCH `expression` (or DECISION `caseExpression`) with `$` bound
/// to the task's input and returns the case label to run (see [`script::case_label`]).
///
/// When this fails Conductor fails the SWITCH task with the error as its reason.
pub fn switch_case(
    expression: &str,
    input: &Map<String, Value>,
    limits: &ScriptLimits,
) -> Result<String, ScriptError> {
    script::eval_serialized(expression, input, limits).map(|value| script::case_label(&value))
}
