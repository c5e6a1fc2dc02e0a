//! jq queries (the jaq implementation) and Conductor's JSON_JQ_TRANSFORM task.
//!
//! [`run`] compiles a query with jq's standard library and collects every output. The work
//! is bounded by [`JqLimits`]:
//!
//! - time: checked each time the interpreter evaluates a filter step and after each output;
//! - outputs: collecting stops with an error past `max_outputs`;
//! - recursion: the interpreter's native stack use is checked at each filter step, so a
//!   runaway recursive definition (`def f: 1 + f; f`) ends in [`JqError::StackLimit`]
//!   instead of overflowing the thread. Queries run on a thread of their own whose stack is
//!   `max_stack_bytes` plus 64 MiB of reserve (reserved address space, not memory) for work
//!   between checks, such as dropping a deeply nested value.
//!
//! What cannot be bounded: a single native operation runs to its end once started, so work
//! done inside one builtin on a huge value (sorting, `tostring` or `tojson` of a value of
//! many megabytes) is only checked when it returns, and memory is not limited at all: a query
//! such as `[range(1e9)]` can exhaust the process's memory before its time runs out. The
//! limits also rely on unwinding: a build with `panic = "abort"` aborts instead of stopping
//! the query.
//!
//! The standard library is jq's, minus `env`/`$ENV` (the server's environment is not the
//! workflow's business) and the filters that write to the server's stderr (`stderr`,
//! `halt_error`). There is a single input, so `input`/`inputs` are not defined either.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use jaq_core::data::{DataT, HasLut};
use jaq_core::load::{Arena, File, Loader, lex, parse};
use jaq_core::{Compiler, Ctx, Exn, Lut, Vars};
use jaq_json::{Num, Val};
use serde_json::{Map, Value};

use crate::Outcome;

/// Deepest output nesting converted back to JSON.
const MAX_OUTPUT_DEPTH: usize = 512;
/// Stack reserve of the query thread beyond the checked limit.
const STACK_RESERVE: usize = 64 * 1024 * 1024;
/// Filter steps between two clock reads.
const STEPS_PER_CLOCK_CHECK: u32 = 256;
/// Longest query accepted, in bytes.
const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Deepest bracket nesting accepted in a query (the parser recurses on nesting).
const MAX_QUERY_NESTING: usize = 256;
/// Compiled queries kept; the cache starts over when it is full.
const CACHED_QUERIES: usize = 512;
/// Native filters left out of the standard library (see the module docs).
const HIDDEN_FUNS: &[&str] = &["env", "stderr_empty"];
/// Definitions left out because they use the hidden native filters.
const HIDDEN_DEFS: &[&str] = &["stderr", "halt_error"];

/// Limits for one jq evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqLimits {
    /// Wall-clock time for compiling and running the query and converting its outputs.
    pub time: Duration,
    /// Most outputs collected; one more is an error.
    pub max_outputs: usize,
    /// Native stack the interpreter may use before the query is stopped.
    pub max_stack_bytes: usize,
}

impl Default for JqLimits {
    /// 2 seconds, 10,000 outputs and 8 MiB of stack.
    fn default() -> Self {
        JqLimits {
            time: Duration::from_secs(2),
            max_outputs: 10_000,
            max_stack_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Why a jq evaluation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JqError {
    /// The query does not parse or names something undefined.
    #[error("invalid jq query: {0}")]
    Compile(String),
    /// The query raised an error while running (`error(...)`, a type error, ...).
    #[error("jq query failed: {0}")]
    Runtime(String),
    /// The query was still running when its time limit passed.
    #[error("jq query ran longer than {} ms", .limit.as_millis())]
    TimeLimit {
        /// The limit that was exceeded.
        limit: Duration,
    },
    /// The query produced more outputs than allowed.
    #[error("jq query produced more than {limit} outputs")]
    TooManyOutputs {
        /// The most outputs allowed.
        limit: usize,
    },
    /// The query recursed deeper than its stack limit allows.
    #[error("jq query exceeded its stack limit of {limit} bytes (recursion too deep)")]
    StackLimit {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The query called `halt` or `halt_error`.
    #[error("jq query called halt with exit code {code}")]
    Halted {
        /// The exit code the query gave.
        code: i32,
    },
    /// An output cannot be represented as JSON (nested deeper than 512 levels).
    #[error("jq output cannot be turned into JSON: {0}")]
    Output(String),
    /// The jq engine itself failed.
    #[error("jq engine failed: {0}")]
    Engine(String),
}

/// Compiles `query` and runs it on `input`, returning all outputs in order.
///
/// Synchronous and CPU-bound: call it from a blocking thread. It runs the query on a
/// thread of its own (see the module docs) and waits for it.
pub fn run(query: &str, input: &Value, limits: &JqLimits) -> Result<Vec<Value>, JqError> {
    let deadline = Instant::now() + limits.time;
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("baton-jq".to_owned())
            .stack_size(limits.max_stack_bytes.saturating_add(STACK_RESERVE))
            .spawn_scoped(scope, || run_here(query, input, limits, deadline))
            .map_err(|e| JqError::Engine(format!("could not start a thread for the query: {e}")))?;
        handle
            .join()
            .unwrap_or_else(|_| Err(JqError::Engine("the query thread panicked".to_owned())))
    })
}

/// Runs Conductor's JSON_JQ_TRANSFORM task on its resolved input.
///
/// The `queryExpression` input runs over the whole input object (itself included). Output
/// `{"result": first output or null, "resultList": [every output]}`. A missing, non-string
/// or blank `queryExpression` and every query error fail the task with the message as the
/// reason and under `error` in the output; as in Conductor the failure is not terminal, so
/// the task definition's retries apply.
pub fn jq_transform(input: &Map<String, Value>, limits: &JqLimits) -> Outcome {
    let query = match input.get("queryExpression") {
        Some(Value::String(q)) if !q.trim().is_empty() => q,
        Some(Value::String(_)) => {
            return Outcome::failed(
                "JSON_JQ_TRANSFORM task input 'queryExpression' is empty",
                false,
            );
        }
        None | Some(Value::Null) => {
            return Outcome::failed(
                "JSON_JQ_TRANSFORM task input 'queryExpression' is missing",
                false,
            );
        }
        Some(other) => {
            return Outcome::failed(
                format!(
                    "JSON_JQ_TRANSFORM task input 'queryExpression' must be a string, not {other}"
                ),
                false,
            );
        }
    };
    let whole = Value::Object(input.clone());
    match run(query, &whole, limits) {
        Ok(outputs) => {
            let mut output = Map::new();
            output.insert(
                "result".to_owned(),
                outputs.first().cloned().unwrap_or(Value::Null),
            );
            output.insert("resultList".to_owned(), Value::Array(outputs));
            Outcome::Completed(output)
        }
        Err(e) => Outcome::failed(e.to_string(), false),
    }
}

/// The data the interpreter carries: its look-up table and the guard that checks limits.
struct Guarded;

impl DataT for Guarded {
    type V<'a> = Val;
    type Data<'a> = GuardedData<'a>;
}

#[derive(Clone)]
struct GuardedData<'a> {
    lut: &'a Lut<Guarded>,
    guard: &'a Guard,
}

impl<'a> HasLut<'a, Guarded> for GuardedData<'a> {
    /// The interpreter asks for its look-up table at every filter step: check limits here.
    fn lut(&self) -> &'a Lut<Guarded> {
        self.guard.check();
        self.lut
    }
}

/// Why a guard stopped a query; carried by an unwind from the guard to [`run_here`].
#[derive(Debug, Clone, Copy)]
enum Abort {
    Time,
    Stack,
}

struct Guard {
    deadline: Instant,
    stack_base: usize,
    max_stack: usize,
    steps: Cell<u32>,
}

impl Guard {
    fn check(&self) {
        if self.stack_base.saturating_sub(stack_address()) > self.max_stack {
            // resume_unwind skips the panic hook: this is control flow, not a bug report.
            panic::resume_unwind(Box::new(Abort::Stack));
        }
        let steps = self.steps.get().wrapping_add(1);
        self.steps.set(steps);
        if steps.is_multiple_of(STEPS_PER_CLOCK_CHECK) && Instant::now() >= self.deadline {
            panic::resume_unwind(Box::new(Abort::Time));
        }
    }
}

/// An address in the current stack frame, to measure how deep the interpreter has gone.
#[inline(never)]
fn stack_address() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

fn run_here(
    query: &str,
    input: &Value,
    limits: &JqLimits,
    deadline: Instant,
) -> Result<Vec<Value>, JqError> {
    let filter = compiled(query)?;
    let guard = Guard {
        deadline,
        stack_base: stack_address(),
        max_stack: limits.max_stack_bytes,
        steps: Cell::new(0),
    };
    let data = GuardedData {
        lut: &filter.lut,
        guard: &guard,
    };
    let input = to_val(input);
    let time_limit = JqError::TimeLimit { limit: limits.time };
    let collected = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut outputs = Vec::new();
        let ctx = Ctx::<Guarded>::new(data, Vars::new([]));
        for item in filter.id.run((ctx, input)) {
            let value = item.map_err(exception)?;
            if outputs.len() == limits.max_outputs {
                return Err(JqError::TooManyOutputs {
                    limit: limits.max_outputs,
                });
            }
            outputs.push(from_val(&value, 0)?);
            if Instant::now() >= deadline {
                return Err(time_limit.clone());
            }
        }
        Ok(outputs)
    }));
    match collected {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<Abort>() {
            Ok(abort) => Err(match *abort {
                Abort::Time => time_limit,
                Abort::Stack => JqError::StackLimit {
                    limit: limits.max_stack_bytes,
                },
            }),
            Err(payload) => Err(JqError::Engine(panic_message(payload.as_ref()))),
        },
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("internal error: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("internal error: {s}")
    } else {
        "internal error".to_owned()
    }
}

fn exception(exn: Exn<'_, Val>) -> JqError {
    match exn.get_err() {
        Ok(error) => JqError::Runtime(match error.into_val() {
            Val::TStr(text) | Val::BStr(text) => String::from_utf8_lossy(&text).into_owned(),
            other => other.to_string(),
        }),
        Err(exn) => match exn.get_halt() {
            Ok(code) => JqError::Halted { code },
            Err(_) => JqError::Engine("unexpected control flow escaped the query".to_owned()),
        },
    }
}

/// jq's `range($from; $upto; $by)`, checking the guard before each number.
fn guarded_range(mut cv: jaq_core::Cv<'_, Guarded>) -> jaq_core::ValXs<'_, Val> {
    use std::cmp::Ordering;
    let by = cv.0.pop_var();
    let to = cv.0.pop_var();
    let mut next: Result<Val, Exn<'_, Val>> = Ok(cv.0.pop_var());
    let guard = cv.0.data().guard;
    let direction = by
        .partial_cmp(&Val::from(0isize))
        .unwrap_or(Ordering::Equal);
    Box::new(std::iter::from_fn(move || {
        guard.check();
        match next.clone() {
            Ok(x) => {
                let more = match direction {
                    Ordering::Greater => x < to,
                    Ordering::Less => x > to,
                    Ordering::Equal => x != to,
                };
                more.then(|| {
                    let following = (x.clone() + by.clone()).map_err(Exn::from);
                    std::mem::replace(&mut next, following)
                })
            }
            Err(e) => {
                // An error (adding a non-number) ends the range after it is reported.
                next = Ok(to.clone());
                Some(Err(e))
            }
        }
    }))
}

type CompiledFilter = jaq_core::Filter<Guarded>;

/// Compiled queries by text; workflows run the same few queries over and over.
static COMPILED: OnceLock<Mutex<HashMap<String, Arc<CompiledFilter>>>> = OnceLock::new();

/// The compiled filter for `query`, from the cache or freshly compiled (and then cached).
fn compiled(query: &str) -> Result<Arc<CompiledFilter>, JqError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(JqError::Compile(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            query.len()
        )));
    }
    if nesting(query) > MAX_QUERY_NESTING {
        return Err(JqError::Compile(format!(
            "the query nests brackets deeper than {MAX_QUERY_NESTING} levels"
        )));
    }
    let cache = COMPILED.get_or_init(Mutex::default);
    let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(filter) = lock().get(query) {
        return Ok(Arc::clone(filter));
    }
    let filter = Arc::new(compile(query)?);
    let mut cached = lock();
    if cached.len() >= CACHED_QUERIES {
        cached.clear();
    }
    cached.insert(query.to_owned(), Arc::clone(&filter));
    Ok(filter)
}

/// Deepest bracket nesting in a query, ignoring brackets inside string literals.
fn nesting(query: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for c in query.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn compile(query: &str) -> Result<jaq_core::Filter<Guarded>, JqError> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs().filter(|def| !HIDDEN_DEFS.contains(&def.name)))
        .chain(jaq_json::defs());
    // `range/3` is replaced by a guarded copy: the original yields numbers without the
    // interpreter stepping, so `[range(1e9)]` could neither be timed out nor stopped.
    let funs = jaq_core::funs::<Guarded>()
        .filter(|(name, args, _)| !(*name == "range" && args.len() == 3))
        .chain([jaq_core::native::run::<Guarded>((
            "range",
            jaq_core::native::v(3),
            guarded_range as jaq_core::RunPtr<Guarded>,
        ))])
        .chain(jaq_std::funs::<Guarded>().filter(|(name, _, _)| !HIDDEN_FUNS.contains(name)))
        .chain(jaq_json::funs::<Guarded>());
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(
            &arena,
            File {
                code: query,
                path: (),
            },
        )
        .map_err(|errors| {
            let mut messages: Vec<String> = Vec::new();
            for message in errors
                .into_iter()
                .flat_map(|(_, error)| load_error_messages(query, error))
            {
                if !messages.contains(&message) {
                    messages.push(message);
                }
            }
            JqError::Compile(messages.join("; "))
        })?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let messages: Vec<String> = errors
                .into_iter()
                .flat_map(|(_, undefined)| undefined)
                .map(|(name, kind)| match kind {
                    jaq_core::compile::Undefined::Filter(arity) => {
                        format!("undefined filter {name}/{arity}")
                    }
                    other => format!("undefined {} {name}", other.as_str()),
                })
                .collect();
            JqError::Compile(messages.join("; "))
        })
}

fn load_error_messages(query: &str, error: jaq_core::load::Error<&str>) -> Vec<String> {
    use jaq_core::load::Error;
    match error {
        Error::Io(errors) => errors
            .into_iter()
            .map(|(path, message)| format!("cannot load module {path}: {message}"))
            .collect(),
        Error::Lex(errors) => errors
            .into_iter()
            .map(|(expected, found): lex::Error<&str>| {
                format!("expected {} {}", expected.as_str(), position(query, found))
                    .trim_end()
                    .to_owned()
            })
            .collect(),
        Error::Parse(errors) => errors
            .into_iter()
            .map(|(expected, found): parse::Error<&str>| {
                let at = position(query, found);
                match (expected, found.is_empty()) {
                    (parse::Expect::Nothing, _) => format!("unexpected '{found}' {at}"),
                    (expected, true) => format!("expected {} {at}", expected.as_str()),
                    (expected, false) => {
                        format!("expected {} but found '{found}' {at}", expected.as_str())
                    }
                }
                .trim_end()
                .to_owned()
            })
            .collect(),
    }
}

/// "at line L, column C" for a slice of `query`, or "at the end of the query".
fn position(query: &str, part: &str) -> String {
    let start = query.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    if at < start || at > start + query.len() {
        return String::new();
    }
    let offset = at - start;
    if offset == query.len() {
        return "at the end of the query".to_owned();
    }
    let before = &query[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("at line {line}, column {column}")
}

/// Converts task input into a jq value.
fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Val::Num(Num::from_integral(i))
            } else if let Some(u) = n.as_u64() {
                Val::Num(Num::from_integral(u))
            } else {
                Val::Num(Num::Float(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Val::utf8_str(s.clone().into_bytes()),
        Value::Array(items) => items.iter().map(to_val).collect(),
        Value::Object(map) => Val::obj(
            map.iter()
                .map(|(k, v)| (Val::utf8_str(k.clone().into_bytes()), to_val(v)))
                .collect(),
        ),
    }
}

/// Converts a jq output into JSON. Non-finite numbers become `null`; non-string object keys
/// become their JSON text; byte strings become text (invalid UTF-8 replaced).
fn from_val(value: &Val, depth: usize) -> Result<Value, JqError> {
    if depth > MAX_OUTPUT_DEPTH {
        return Err(JqError::Output(format!(
            "an output nests deeper than {MAX_OUTPUT_DEPTH} levels"
        )));
    }
    Ok(match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => number(n),
        Val::TStr(text) | Val::BStr(text) => {
            Value::String(String::from_utf8_lossy(text).into_owned())
        }
        Val::Arr(items) => Value::Array(
            items
                .iter()
                .map(|item| from_val(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Val::Obj(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter() {
                let key = match k {
                    Val::TStr(text) | Val::BStr(text) => String::from_utf8_lossy(text).into_owned(),
                    other => other.to_string(),
                };
                out.insert(key, from_val(v, depth + 1)?);
            }
            Value::Object(out)
        }
    })
}

fn number(n: &Num) -> Value {
    match n {
        Num::Int(i) => i64::try_from(*i).map_or(Value::Null, Value::from),
        Num::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        // Big integers and decimal literals: their decimal text, read as JSON (falls back to a
        // float when too large for 64 bits).
        other => serde_json::from_str(&other.to_string()).unwrap_or(Value::Null),
    }
}
