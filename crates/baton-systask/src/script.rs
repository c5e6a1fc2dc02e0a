//! JavaScript evaluation in an embedded QuickJS engine.
//!
//! Conductor's INLINE (`javascript`/`graaljs`), LAMBDA, JavaScript SWITCH, DECISION
//! `caseExpression` and DO_WHILE `loopCondition` all evaluate a script with the global `$`
//! bound to the task input. [`eval`] does that: every evaluation gets a fresh engine runtime
//! and context, so nothing one script leaves behind (globals, patched prototypes) is seen by
//! the next, and a script stopped by a limit leaves nothing broken behind it.
//!
//! Each evaluation is bounded by [`ScriptLimits`]: wall time (an interrupt handler checks a
//! deadline while the script runs, also inside regular-expression matching), memory (the
//! engine's allocator refuses to grow past the limit) and native stack (deep recursion raises
//! a stack error instead of overflowing the thread). The calling thread needs at least
//! `max_stack_bytes` plus about 256 KiB of stack of its own; tokio's blocking threads
//! (2 MiB) are fine with the defaults.
//!
//! Values cross the boundary as JSON: the input is deep-copied into the engine with the
//! engine's JSON parser, and the script's completion value comes back through the engine's
//! `JSON.stringify`, so `undefined`, functions and symbols become `null`, `NaN` and the
//! infinities become `null`, dates become ISO-8601 strings and objects with a `toJSON`
//! method are converted by it. A cyclic or `BigInt` result is a [`ScriptError::Result`].
//!
//! One compatibility addition: Conductor's engine exposes task-input lists as Java lists,
//! and existing workflows call `$.list.get(i)` and `$.list.size()`. Arrays here get
//! non-enumerable `get(i)` and `size()` methods that do the same.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Runtime};
use serde::Serialize;
use serde_json::Value;

/// File name the engine reports in stack traces; also used to find line numbers in them.
const SCRIPT_NAME: &str = "script";

/// Free memory under the limit below which a `null` exception means the engine ran out.
const NEAR_LIMIT: usize = 64 * 1024;

/// Installs the Java-list compatibility methods on `Array.prototype` (see the module docs).
const PRELUDE: &str = "(function () {\
  var d = function (name, fn) { Object.defineProperty(Array.prototype, name, \
    { value: fn, writable: true, configurable: true, enumerable: false }); };\
  d('get', function (i) { return this[i]; });\
  d('size', function () { return this.length; });\
})();";

/// Resource limits for one script evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Wall-clock time the script may run. It is checked while JavaScript runs (from just
    /// before the input is bound until the result is converted); copying the input in and the
    /// result out is bounded by the memory limit instead.
    pub time: Duration,
    /// Bytes the script may allocate on top of what a fresh engine context uses.
    pub memory_bytes: usize,
    /// Native stack the engine may use; deeper recursion fails with [`ScriptError::StackLimit`].
    pub max_stack_bytes: usize,
}

impl Default for ScriptLimits {
    /// 2 seconds, 32 MiB and 1 MiB of stack.
    fn default() -> Self {
        ScriptLimits {
            time: Duration::from_secs(2),
            memory_bytes: 32 * 1024 * 1024,
            max_stack_bytes: 1024 * 1024,
        }
    }
}

/// Why a script evaluation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScriptError {
    /// The script was still running when its time limit passed.
    #[error("script ran longer than {} ms", .limit.as_millis())]
    TimeLimit {
        /// The limit that was exceeded.
        limit: Duration,
    },
    /// The script tried to allocate more memory than its limit allows.
    #[error("script exceeded its memory limit of {limit} bytes")]
    MemoryLimit {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The script recursed deeper than its stack limit allows.
    #[error("script exceeded its stack limit of {limit} bytes (recursion too deep)")]
    StackLimit {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The script is not valid JavaScript.
    #[error("syntax error in script{}: {message}", at_line(*.line))]
    Syntax {
        /// The parser's message.
        message: String,
        /// 1-based line of the error, when the engine reports one.
        line: Option<u32>,
    },
    /// The script threw an exception that it did not catch.
    #[error("script threw {message}{}", at_line(*.line))]
    Thrown {
        /// The exception, as `Name: message` for error objects or as JSON for other values.
        message: String,
        /// 1-based line the exception came from, when the engine reports one.
        line: Option<u32>,
    },
    /// The script's value cannot be turned into JSON (a cyclic structure, a `BigInt`, or
    /// nesting deeper than JSON parsing allows).
    #[error("script result cannot be turned into JSON: {0}")]
    Result(String),
    /// The engine itself failed (for example it could not create a context).
    #[error("script engine failed: {0}")]
    Engine(String),
}

impl ScriptError {
    /// True for the errors a retry could cure: the time limit, which depends on load, and
    /// failures of the engine itself.
    ///
    /// Syntax errors, exceptions, bad results and the memory and stack limits repeat the same
    /// way for the same script and input.
    pub fn is_transient(&self) -> bool {
        matches!(self, ScriptError::TimeLimit { .. } | ScriptError::Engine(_))
    }
}

fn at_line(line: Option<u32>) -> String {
    match line {
        Some(line) => format!(" at line {line}"),
        None => String::new(),
    }
}

/// Evaluates `script` with the global `$` bound to a deep copy of `input` and returns the
/// script's completion value (the value of its last expression statement) as JSON.
///
/// `$.a + $.b` and `function e() { return {result: $.x}; } e();` both work as in Conductor.
/// The script runs in sloppy (non-strict) mode. The call is synchronous and blocks for up to
/// `limits.time`; call it from a blocking thread.
pub fn eval(script: &str, input: &Value, limits: &ScriptLimits) -> Result<Value, ScriptError> {
    eval_serialized(script, input, limits)
}

/// Evaluates a LAMBDA `scriptExpression`: the script is the body of a function (top-level
/// `return` statements give its value), called with the global `$` bound to `input`.
///
/// As in Conductor, a body that only declares and calls a function without `return`
/// (`function e() {...} e();`) yields `null`.
pub fn eval_lambda(
    script_expression: &str,
    input: &Value,
    limits: &ScriptLimits,
) -> Result<Value, ScriptError> {
    eval_serialized(&lambda_source(script_expression), input, limits)
}

/// Evaluates `script` like [`eval`] and converts the value to a boolean the way Conductor's
/// DO_WHILE `loopCondition` does: a boolean is itself, a number is `true` when greater than
/// zero, anything else is `false`.
pub fn eval_bool(script: &str, input: &Value, limits: &ScriptLimits) -> Result<bool, ScriptError> {
    Ok(truthy(&eval(script, input, limits)?))
}

/// Conductor's boolean view of a script value (see [`eval_bool`]).
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f > 0.0),
        _ => false,
    }
}

/// The case label a SWITCH or DECISION picks for a script value, as Conductor renders it.
///
/// Strings are used as they are, `null` is `"null"`, booleans are `"true"`/`"false"`,
/// integral numbers have no fraction (`1`, also for `1.0`), other numbers use their shortest
/// decimal form (`1.5`). Arrays and objects are rendered like Java's collection `toString`
/// (`[a, 1]`, `{k=v}`), which is what Conductor compares against; such labels are rarely
/// useful but are matched consistently.
pub fn case_label(value: &Value) -> String {
    let mut out = String::new();
    write_label(&mut out, value);
    out
}

fn write_label(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_label(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_label(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_label(out, v);
            }
            out.push('}');
        }
    }
}

fn number_label(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        // Integral doubles within i64 range print without a fraction, like Conductor's
        // int/long conversion of script results.
        Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => n.to_string(),
    }
}

/// Wraps a LAMBDA body the way Conductor does, keeping line numbers unchanged.
pub(crate) fn lambda_source(body: &str) -> String {
    // The newline before the closing brace keeps a trailing `//` comment from swallowing it.
    format!("function scriptFun(){{{body}\n}} scriptFun();")
}

/// Serializes `input` to JSON text and evaluates `script` against it.
pub(crate) fn eval_serialized<T: Serialize + ?Sized>(
    script: &str,
    input: &T,
    limits: &ScriptLimits,
) -> Result<Value, ScriptError> {
    let deadline = Instant::now() + limits.time;
    let input_json = serde_json::to_string(input)
        .map_err(|e| ScriptError::Engine(format!("task input is not JSON: {e}")))?;
    Evaluation::new(limits, deadline)?.run(script, input_json)
}

/// One evaluation: a fresh runtime and context with the limits applied.
struct Evaluation<'l> {
    limits: &'l ScriptLimits,
    interrupted: Rc<Cell<bool>>,
    /// Set when the pending exception was `null` (see [`Evaluation::run`]).
    threw_null: Cell<bool>,
    runtime: Runtime,
    context: Context,
}

impl<'l> Evaluation<'l> {
    fn new(limits: &'l ScriptLimits, deadline: Instant) -> Result<Self, ScriptError> {
        let engine = |e: rquickjs::Error| ScriptError::Engine(e.to_string());
        let runtime = Runtime::new().map_err(engine)?;
        let context = Context::full(&runtime).map_err(engine)?;
        // The memory budget is on top of what the fresh context already holds.
        let baseline = usize::try_from(runtime.memory_usage().malloc_size).unwrap_or(0);
        runtime.set_memory_limit(baseline.saturating_add(limits.memory_bytes.max(1)));
        runtime.set_max_stack_size(limits.max_stack_bytes);
        let interrupted = Rc::new(Cell::new(false));
        let flag = Rc::clone(&interrupted);
        runtime.set_interrupt_handler(Some(Box::new(move || {
            if Instant::now() >= deadline {
                flag.set(true);
                true
            } else {
                false
            }
        })));
        Ok(Evaluation {
            limits,
            interrupted,
            threw_null: Cell::new(false),
            runtime,
            context,
        })
    }

    fn run(self, script: &str, input_json: String) -> Result<Value, ScriptError> {
        let result = self.context.with(|ctx| {
            self.bind_input(&ctx, input_json)?;
            let mut options = EvalOptions::default();
            options.strict = false;
            options.filename = Some(SCRIPT_NAME.to_owned());
            let value: rquickjs::Value = ctx
                .eval_with_options(script, options)
                .map_err(|e| self.classify(&ctx, e, Stage::Script))?;
            let text = ctx
                .json_stringify(value)
                .map_err(|e| self.classify(&ctx, e, Stage::Result))?;
            match text {
                None => Ok(Value::Null),
                Some(text) => {
                    let text = text
                        .to_string()
                        .map_err(|e| self.classify(&ctx, e, Stage::Result))?;
                    serde_json::from_str(&text)
                        .map_err(|e| ScriptError::Result(format!("{e} (in the engine's JSON)")))
                }
            }
        });
        // With no room left even for an error object the engine throws `null`; the runtime
        // can only be asked for its memory use once the context is released.
        if result.is_err() && self.threw_null.get() && self.memory_exhausted() {
            return Err(ScriptError::MemoryLimit {
                limit: self.limits.memory_bytes,
            });
        }
        // Drop the context before the runtime (field order would do the same; be explicit).
        drop(self.context);
        drop(self.runtime);
        result
    }

    fn bind_input(&self, ctx: &Ctx<'_>, input_json: String) -> Result<(), ScriptError> {
        let input = ctx
            .json_parse(input_json)
            .map_err(|e| self.classify(ctx, e, Stage::Setup))?;
        ctx.globals()
            .set("$", input)
            .map_err(|e| self.classify(ctx, e, Stage::Setup))?;
        let mut options = EvalOptions::default();
        options.filename = Some("prelude".to_owned());
        ctx.eval_with_options::<(), _>(PRELUDE, options)
            .map_err(|e| self.classify(ctx, e, Stage::Setup))
    }

    /// True when the runtime has (almost) no memory left under its limit.
    fn memory_exhausted(&self) -> bool {
        let usage = self.runtime.memory_usage();
        let limit = usize::try_from(usage.malloc_limit).unwrap_or(usize::MAX);
        let used = usize::try_from(usage.malloc_size).unwrap_or(0);
        limit > 0 && used.saturating_add(NEAR_LIMIT) >= limit
    }

    /// Turns an engine error (usually a pending exception) into a [`ScriptError`].
    fn classify(&self, ctx: &Ctx<'_>, error: rquickjs::Error, stage: Stage) -> ScriptError {
        if self.interrupted.get() {
            return ScriptError::TimeLimit {
                limit: self.limits.time,
            };
        }
        let memory = ScriptError::MemoryLimit {
            limit: self.limits.memory_bytes,
        };
        let thrown = match error {
            rquickjs::Error::Exception => match describe_exception(ctx) {
                // With no room left even for the error object, the engine throws `null`.
                Some(thrown) => thrown,
                None => {
                    self.threw_null.set(true);
                    Thrown {
                        name: None,
                        message: "null".to_owned(),
                        stack: None,
                        line: None,
                    }
                }
            },
            rquickjs::Error::Allocation => return memory,
            other => return ScriptError::Engine(other.to_string()),
        };
        match (thrown.name.as_deref(), thrown.message.as_str()) {
            (Some("InternalError"), "out of memory") => return memory,
            (Some("RangeError"), "Maximum call stack size exceeded") => {
                return ScriptError::StackLimit {
                    limit: self.limits.max_stack_bytes,
                };
            }
            (Some("InternalError"), m) if m.starts_with("stack overflow") => {
                return ScriptError::StackLimit {
                    limit: self.limits.max_stack_bytes,
                };
            }
            _ => {}
        }
        match stage {
            Stage::Setup => ScriptError::Engine(format!("could not bind the input: {thrown}")),
            Stage::Result => ScriptError::Result(thrown.to_string()),
            Stage::Script if thrown.is_parse_error() => ScriptError::Syntax {
                message: thrown.message,
                line: thrown.line,
            },
            Stage::Script => ScriptError::Thrown {
                message: thrown.to_string(),
                line: thrown.line,
            },
        }
    }
}

/// Which step of an evaluation an engine error came from.
#[derive(Clone, Copy)]
enum Stage {
    Setup,
    Script,
    Result,
}

/// What the engine tells about a thrown value.
struct Thrown {
    name: Option<String>,
    message: String,
    stack: Option<String>,
    line: Option<u32>,
}

impl Thrown {
    /// A syntax error found while parsing: its stack has only the parse position and no
    /// call frame (runtime `SyntaxError`s, such as from `JSON.parse`, have frames).
    fn is_parse_error(&self) -> bool {
        self.name.as_deref() == Some("SyntaxError")
            && self
                .stack
                .as_deref()
                .is_some_and(|stack| stack.lines().all(|frame| !frame.contains('(')))
    }
}

impl fmt::Display for Thrown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) if !self.message.is_empty() => write!(f, "{name}: {}", self.message),
            Some(name) => f.write_str(name),
            None => f.write_str(&self.message),
        }
    }
}

/// The pending exception, or `None` when it is `null`.
fn describe_exception(ctx: &Ctx<'_>) -> Option<Thrown> {
    let value = ctx.catch();
    if value.is_null() {
        return None;
    }
    if let Some(object) = value.as_object() {
        let name: Option<String> = object.get("name").ok();
        let message: Option<String> = object.get("message").ok();
        let stack: Option<String> = object.get("stack").ok();
        if name.is_some() || message.is_some() {
            let line = stack.as_deref().and_then(line_in_stack);
            return Some(Thrown {
                name,
                message: message.unwrap_or_default(),
                stack,
                line,
            });
        }
    }
    let message = if let Some(s) = value.as_string() {
        s.to_string().unwrap_or_else(|_| "a string".to_owned())
    } else {
        match ctx.json_stringify(value) {
            Ok(Some(text)) => text
                .to_string()
                .unwrap_or_else(|_| "a non-JSON value".to_owned()),
            _ => "a non-JSON value".to_owned(),
        }
    };
    Some(Thrown {
        name: None,
        message,
        stack: None,
        line: None,
    })
}

/// Finds the first `script:LINE` position in an engine stack trace.
fn line_in_stack(stack: &str) -> Option<u32> {
    let marker = format!("{SCRIPT_NAME}:");
    stack.match_indices(&marker).find_map(|(at, _)| {
        let rest = &stack[at + marker.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_follow_conductor_rendering() {
        assert_eq!(case_label(&json!("a")), "a");
        assert_eq!(case_label(&json!(null)), "null");
        assert_eq!(case_label(&json!(true)), "true");
        assert_eq!(case_label(&json!(2)), "2");
        assert_eq!(case_label(&json!(2.0)), "2");
        assert_eq!(case_label(&json!(2.5)), "2.5");
        assert_eq!(case_label(&json!(["a", 1])), "[a, 1]");
        assert_eq!(case_label(&json!({"k": "v"})), "{k=v}");
    }

    #[test]
    fn finds_line_numbers_in_stacks() {
        assert_eq!(line_in_stack("    at script:3:7\n"), Some(3));
        assert_eq!(line_in_stack("    at f (script:12:1)\n"), Some(12));
        assert_eq!(line_in_stack("    at parse (native)\n"), None);
    }

    #[test]
    fn truthiness_matches_conductor() {
        assert!(truthy(&json!(true)));
        assert!(truthy(&json!(0.5)));
        assert!(!truthy(&json!(0)));
        assert!(!truthy(&json!(-1)));
        assert!(!truthy(&json!("true")));
        assert!(!truthy(&json!(null)));
    }
}
