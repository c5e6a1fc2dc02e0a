//! `${...}` parameter expressions over a document of `workflow` and task references.
//!
//! # Syntax
//!
//! An expression is `${root.path}`: `root` is a name the [`Scope`] knows (`workflow`, a task
//! reference name, `CPEWF_TASK_ID`, ...) and `path` is a JSONPath applied to that root's
//! document, written without the leading `$`: `${workflow.input.list[0]}`,
//! `${t1.output.items[?(@.ok == true)].id}`, `${workflow.input['odd key']}`.
//!
//! * Dotted names may hold any character but `.` and `[` (so `${t.output.x-y}` and
//!   `${loop.output.1.ref}` work); bracketed names are quoted (`['a b']`); a bracketed integer
//!   is an array index, negative ones counting from the end.
//! * A path made only of names and indexes is *definite*: it yields one value, or null when
//!   anything along it is missing. A path with a wildcard, slice, union, filter or
//!   descendant segment is *indefinite* and yields the list of every match (possibly empty,
//!   also when its root is missing: a task that never ran has no matches).
//! * A path may end with one function: `length()`, `keys()`, `first()`, `last()`, `sum()`,
//!   `min()`, `max()` or `avg()`.
//!
//! # Substitution
//!
//! * A string that is exactly one expression is replaced by the raw JSON value (object,
//!   array, number, bool or null).
//! * Otherwise every expression in the string is spliced in as text: strings as they are,
//!   null (including a missing path) as the text `null`, any other value as compact JSON.
//! * Expressions nest and the inner ones resolve first: `${workflow.input.${workflow.input.key}}`.
//! * `$${` stands for a literal `${`.
//! * Objects and arrays are resolved recursively; object keys are left as they are.
//!
//! A missing path is not an error. A malformed expression (unbalanced braces, a bad path) is
//! an [`ExprError`].

use serde_json::{Map, Number, Value};
use serde_json_path::JsonPath;

use crate::model::Object;

/// A value found through a [`Scope`]: borrowed where the scope holds it, owned otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// A value the scope holds.
    Value(&'a Value),
    /// An object the scope holds (inputs and outputs are kept as bare objects).
    Object(&'a Object),
    /// A value built for this lookup.
    Owned(Value),
}

/// Where expression roots come from: `workflow` or a task reference name.
pub trait Scope {
    /// The JSON document for a root name (`workflow`, or a task ref), if there is one.
    fn root(&self, name: &str) -> Option<Value>;

    /// One top-level field of a root's document, such as `input` of `workflow`. Scopes that
    /// hold their data may answer without building the whole document; the default takes
    /// the field out of [`Scope::root`].
    fn field(&self, root: &str, field: &str) -> Option<Node<'_>> {
        match self.root(root)? {
            Value::Object(mut map) => map.remove(field).map(Node::Owned),
            _ => None,
        }
    }
}

/// A [`Scope`] over a fixed set of root documents, for tests and one-off evaluations.
impl Scope for Map<String, Value> {
    fn root(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }

    fn field(&self, root: &str, field: &str) -> Option<Node<'_>> {
        self.get(root)?.get(field).map(Node::Value)
    }
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expression {expression:?}: {message}")]
pub struct ExprError {
    /// The offending expression text.
    pub expression: String,
    /// What is wrong with it.
    pub message: String,
}

impl ExprError {
    fn new(expression: &str, message: impl Into<String>) -> Self {
        Self {
            expression: expression.to_string(),
            message: message.into(),
        }
    }
}

/// Resolves every expression in an input template.
pub fn resolve(template: &Object, scope: &dyn Scope) -> Result<Object, ExprError> {
    let mut out = Map::with_capacity(template.len());
    for (k, v) in template {
        out.insert(k.clone(), resolve_value(v, scope)?);
    }
    Ok(out)
}

/// Resolves every expression in one JSON value.
pub fn resolve_value(value: &Value, scope: &dyn Scope) -> Result<Value, ExprError> {
    match value {
        Value::String(s) => resolve_str(s, scope),
        Value::Array(items) => items
            .iter()
            .map(|v| resolve_value(v, scope))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => resolve(map, scope).map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// Checks the syntax of every expression in a value without evaluating any: braces balance
/// and every path parses. Used by validation.
pub fn check_value(value: &Value) -> Result<(), ExprError> {
    match value {
        Value::String(s) => check_str(s),
        Value::Array(items) => items.iter().try_for_each(check_value),
        Value::Object(map) => map.values().try_for_each(check_value),
        _ => Ok(()),
    }
}

/// True when the string holds at least one `${...}` expression.
pub fn has_expression(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(1)).any(|i| b[i] == b'$' && b[i + 1] == b'{' && !is_escaped(b, i))
}

fn is_escaped(b: &[u8], i: usize) -> bool {
    i > 0 && b[i - 1] == b'$'
}

/// Resolves one string: raw value when the string is exactly one expression, text otherwise.
fn resolve_str(s: &str, scope: &dyn Scope) -> Result<Value, ExprError> {
    if !s.contains('$') {
        return Ok(Value::String(s.to_string()));
    }
    let pieces = split(s)?;
    if let [Piece::Expr(body)] = pieces.as_slice() {
        return eval_body(body, scope);
    }
    let mut out = String::with_capacity(s.len());
    for piece in &pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Expr(body) => splice(&mut out, &eval_body(body, scope)?),
        }
    }
    Ok(Value::String(out))
}

fn check_str(s: &str) -> Result<(), ExprError> {
    if !s.contains('$') {
        return Ok(());
    }
    for piece in split(s)? {
        if let Piece::Expr(body) = piece {
            if has_expression(body) {
                // The path is only known once the inner expressions are resolved.
                check_str(body)?;
            } else {
                let (root, rest) = split_root(body.trim(), body)?;
                let path = parse_path(rest, body)?;
                if root.is_empty() {
                    return Err(ExprError::new(body, "missing root name"));
                }
                if path.is_complex() {
                    path.compile(body)?;
                }
            }
        }
    }
    Ok(())
}

fn splice(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        other => out.push_str(&other.to_string()),
    }
}

#[derive(Debug, PartialEq)]
enum Piece<'s> {
    Text(std::borrow::Cow<'s, str>),
    Expr(&'s str),
}

/// Cuts a string into literal text and expression bodies (the text between `${` and its `}`).
fn split(s: &str) -> Result<Vec<Piece<'_>>, ExprError> {
    let b = s.as_bytes();
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut text_start = 0;
    let mut i = 0;
    let mut owned = false;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'$') && b.get(i + 2) == Some(&b'{') {
            // `$${` -> literal `${`.
            text.push_str(&s[text_start..i]);
            text.push_str("${");
            owned = true;
            i += 3;
            text_start = i;
            continue;
        }
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            let end = matching_brace(s, i + 2)?;
            if owned {
                text.push_str(&s[text_start..i]);
                pieces.push(Piece::Text(std::mem::take(&mut text).into()));
                owned = false;
            } else if text_start < i {
                pieces.push(Piece::Text(s[text_start..i].into()));
            }
            pieces.push(Piece::Expr(&s[i + 2..end]));
            i = end + 1;
            text_start = i;
            continue;
        }
        i += 1;
    }
    if owned {
        text.push_str(&s[text_start..]);
        pieces.push(Piece::Text(text.into()));
    } else if text_start < s.len() {
        pieces.push(Piece::Text(s[text_start..].into()));
    }
    Ok(pieces)
}

/// Index of the `}` closing an expression whose body starts at `from`.
fn matching_brace(s: &str, from: usize) -> Result<usize, ExprError> {
    if let Some(i) = closing(s, from, 1, b'{', b'}') {
        return Ok(i);
    }
    Err(ExprError::new(
        &s[from.saturating_sub(2)..],
        "unbalanced braces: no closing '}'",
    ))
}

/// Evaluates one expression body (without `${` and `}`).
fn eval_body(body: &str, scope: &dyn Scope) -> Result<Value, ExprError> {
    if has_expression(body) {
        let inner = match resolve_str(body, scope)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        return eval_path(inner.trim(), body, scope);
    }
    eval_path(body.trim(), body, scope)
}

/// Splits `root.rest` at the first `.` or `[`.
fn split_root<'a>(text: &'a str, body: &str) -> Result<(&'a str, &'a str), ExprError> {
    if text.is_empty() {
        return Err(ExprError::new(body, "empty expression"));
    }
    let cut = text.find(['.', '[']).unwrap_or(text.len());
    Ok((text[..cut].trim(), &text[cut..]))
}

fn eval_path(text: &str, body: &str, scope: &dyn Scope) -> Result<Value, ExprError> {
    let (root, rest) = split_root(text, body)?;
    if root.is_empty() {
        return Err(ExprError::new(body, "missing root name"));
    }
    let path = parse_path(rest, body)?;
    // Nothing to look into: no match, which an indefinite path gives as an empty list.
    let nothing = || {
        if path.is_complex() {
            Value::Array(Vec::new())
        } else {
            Value::Null
        }
    };
    let found = match path.segs.first() {
        Some(Seg::Name(field)) => match scope.field(root, field) {
            Some(node) => path.apply(node, 1, body)?,
            None => nothing(),
        },
        _ => match scope.root(root) {
            Some(doc) => path.apply(Node::Owned(doc), 0, body)?,
            None => nothing(),
        },
    };
    Ok(match &path.func {
        Some(f) => apply_func(f, found),
        None => found,
    })
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    /// `.name` or `['name']`.
    Name(String),
    /// `[3]` or `[-1]`.
    Index(i64),
    /// Anything else, as a JSONPath fragment starting with `.` or `[`.
    Raw(String),
}

#[derive(Debug, Default)]
struct Path {
    segs: Vec<Seg>,
    func: Option<String>,
}

impl Path {
    fn is_complex(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Seg::Raw(_)))
    }

    /// The JSONPath for `segs[from..]`.
    fn compile_from(&self, from: usize, body: &str) -> Result<JsonPath, ExprError> {
        let mut text = String::from("$");
        for seg in &self.segs[from..] {
            match seg {
                Seg::Name(n) => {
                    text.push_str("['");
                    for c in n.chars() {
                        if c == '\'' || c == '\\' {
                            text.push('\\');
                        }
                        text.push(c);
                    }
                    text.push_str("']");
                }
                Seg::Index(i) => {
                    text.push('[');
                    text.push_str(&i.to_string());
                    text.push(']');
                }
                Seg::Raw(r) => text.push_str(r),
            }
        }
        JsonPath::parse(&text)
            .map_err(|e| ExprError::new(body, format!("invalid path {text}: {e}")))
    }

    fn compile(&self, body: &str) -> Result<JsonPath, ExprError> {
        self.compile_from(0, body)
    }

    /// Applies `segs[from..]` to a node.
    fn apply(&self, node: Node<'_>, from: usize, body: &str) -> Result<Value, ExprError> {
        let segs = &self.segs[from..];
        if segs.iter().any(|s| matches!(s, Seg::Raw(_))) {
            let path = self.compile_from(from, body)?;
            let owned;
            let doc: &Value = match node {
                Node::Value(v) => v,
                Node::Object(o) => {
                    owned = Value::Object(o.clone());
                    &owned
                }
                Node::Owned(v) => {
                    owned = v;
                    &owned
                }
            };
            return Ok(Value::Array(
                path.query(doc).iter().map(|v| (*v).clone()).collect(),
            ));
        }
        if segs.is_empty() {
            return Ok(match node {
                Node::Value(v) => v.clone(),
                Node::Object(o) => Value::Object(o.clone()),
                Node::Owned(v) => v,
            });
        }
        let holder;
        let mut cur: Option<&Value> = match node {
            Node::Value(v) => Some(v),
            Node::Owned(v) => {
                holder = v;
                Some(&holder)
            }
            Node::Object(o) => {
                let (first, tail) = segs.split_first().expect("not empty");
                return Ok(step_object(o, first)
                    .and_then(|v| walk(v, tail))
                    .cloned()
                    .unwrap_or(Value::Null));
            }
        };
        for seg in segs {
            cur = cur.and_then(|v| step(v, seg));
        }
        Ok(cur.cloned().unwrap_or(Value::Null))
    }
}

fn walk<'v>(v: &'v Value, segs: &[Seg]) -> Option<&'v Value> {
    segs.iter().try_fold(v, |cur, seg| step(cur, seg))
}

fn step_object<'v>(o: &'v Object, seg: &Seg) -> Option<&'v Value> {
    match seg {
        Seg::Name(n) => o.get(n.as_str()),
        Seg::Index(i) => o.get(i.to_string().as_str()),
        Seg::Raw(_) => None,
    }
}

fn step<'v>(v: &'v Value, seg: &Seg) -> Option<&'v Value> {
    match (v, seg) {
        (Value::Object(o), _) => step_object(o, seg),
        (Value::Array(a), Seg::Index(i)) => index(a, *i),
        (Value::Array(a), Seg::Name(n)) => n.parse::<i64>().ok().and_then(|i| index(a, i)),
        _ => None,
    }
}

fn index(a: &[Value], i: i64) -> Option<&Value> {
    let idx = if i < 0 {
        a.len().checked_sub(i.unsigned_abs() as usize)?
    } else {
        i as usize
    };
    a.get(idx)
}

const FUNCTIONS: [&str; 8] = [
    "length", "keys", "first", "last", "sum", "min", "max", "avg",
];

/// Parses the part of a path after the root name.
fn parse_path(rest: &str, body: &str) -> Result<Path, ExprError> {
    let b = rest.as_bytes();
    let mut path = Path::default();
    let mut i = 0;
    while i < b.len() {
        if path.func.is_some() {
            return Err(ExprError::new(body, "a function must end the path"));
        }
        match b[i] {
            b'.' if b.get(i + 1) == Some(&b'.') => {
                // Descendant segment: `..name`, `..*` or `..[...]`.
                let start = i;
                i += 2;
                if b.get(i) == Some(&b'[') {
                    i = bracket_end(rest, i, body)? + 1;
                    path.segs.push(Seg::Raw(rest[start..i].to_string()));
                } else {
                    let end = name_end(b, i);
                    let name = &rest[i..end];
                    if name.is_empty() {
                        return Err(ExprError::new(body, "empty name after '..'"));
                    }
                    let frag = if name == "*" {
                        "..*".to_string()
                    } else {
                        format!("..[{}]", quote(name))
                    };
                    path.segs.push(Seg::Raw(frag));
                    i = end;
                }
            }
            b'.' => {
                i += 1;
                let end = name_end(b, i);
                let name = rest[i..end].trim();
                if name.is_empty() {
                    return Err(ExprError::new(body, "empty name in path"));
                }
                if name == "*" {
                    path.segs.push(Seg::Raw("[*]".to_string()));
                } else if let Some(f) = name.strip_suffix("()").filter(|f| FUNCTIONS.contains(f)) {
                    path.func = Some(f.to_string());
                } else {
                    path.segs.push(Seg::Name(name.to_string()));
                }
                i = end;
            }
            b'[' => {
                let end = bracket_end(rest, i, body)?;
                let inner = rest[i + 1..end].trim();
                path.segs
                    .push(bracket_seg(inner).unwrap_or_else(|| Seg::Raw(format!("[{inner}]"))));
                i = end + 1;
            }
            b' ' | b'\t' => i += 1,
            c => {
                return Err(ExprError::new(
                    body,
                    format!("unexpected '{}' in path", c as char),
                ));
            }
        }
    }
    Ok(path)
}

fn quote(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('\'');
    for c in name.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// A bracket holding one quoted name or one integer is a plain step.
fn bracket_seg(inner: &str) -> Option<Seg> {
    if let Ok(i) = inner.parse::<i64>() {
        return Some(Seg::Index(i));
    }
    let b = inner.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        let q = b[0] as char;
        let body = &inner[1..inner.len() - 1];
        let mut name = String::with_capacity(body.len());
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => name.push(chars.next()?),
                c if c == q => return None, // more than one string: a union
                c => name.push(c),
            }
        }
        return Some(Seg::Name(name));
    }
    None
}

fn name_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() && b[i] != b'.' && b[i] != b'[' {
        i += 1;
    }
    i
}

/// Index of the `]` closing the bracket opened at `open`.
fn bracket_end(s: &str, open: usize, body: &str) -> Result<usize, ExprError> {
    closing(s, open, 0, b'[', b']')
        .ok_or_else(|| ExprError::new(body, "unbalanced brackets: no closing ']'"))
}

/// Index of the `close` byte that brings the nesting `depth` (counting `open`/`close` from
/// `from` on) back to zero, skipping quoted text with backslash escapes.
fn closing(s: &str, from: usize, mut depth: usize, open: u8, close: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == open => depth += 1,
            None if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            None => {}
        }
        i += 1;
    }
    None
}

fn apply_func(f: &str, v: Value) -> Value {
    let nums = |v: &Value| -> Vec<f64> {
        match v {
            Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
            _ => Vec::new(),
        }
    };
    let num = |x: f64| -> Value {
        if x.fract() == 0.0 && x.abs() < 9.0e15 {
            Value::Number(Number::from(x as i64))
        } else {
            Number::from_f64(x).map_or(Value::Null, Value::Number)
        }
    };
    match f {
        "length" => match &v {
            Value::Array(a) => Value::from(a.len()),
            Value::Object(o) => Value::from(o.len()),
            Value::String(s) => Value::from(s.chars().count()),
            _ => Value::Null,
        },
        "keys" => match v {
            Value::Object(o) => {
                Value::Array(o.into_iter().map(|(k, _)| Value::String(k)).collect())
            }
            _ => Value::Null,
        },
        "first" => match v {
            Value::Array(a) => a.into_iter().next().unwrap_or(Value::Null),
            _ => Value::Null,
        },
        "last" => match v {
            Value::Array(a) => a.into_iter().last().unwrap_or(Value::Null),
            _ => Value::Null,
        },
        "sum" => num(nums(&v).iter().sum()),
        "min" => nums(&v)
            .into_iter()
            .reduce(f64::min)
            .map_or(Value::Null, num),
        "max" => nums(&v)
            .into_iter()
            .reduce(f64::max)
            .map_or(Value::Null, num),
        "avg" => {
            let n = nums(&v);
            if n.is_empty() {
                Value::Null
            } else {
                num(n.iter().sum::<f64>() / n.len() as f64)
            }
        }
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Map<String, Value> {
        json!({
            "workflow": {
                "input": {
                    "name": "ann",
                    "n": 3,
                    "list": [10, 20, 30],
                    "key": "name",
                    "odd key": "odd",
                    "x-y": "dash",
                    "nested": {"a": {"b": true}},
                    "nothing": null
                },
                "status": "RUNNING",
                "workflowId": "wf-1"
            },
            "t1": {
                "output": {
                    "items": [
                        {"id": 1, "ok": true},
                        {"id": 2, "ok": false},
                        {"id": 3, "ok": true}
                    ],
                    "1": {"inner": "one"}
                },
                "status": "COMPLETED"
            },
            "CPEWF_TASK_ID": "task-9"
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn r(v: Value) -> Value {
        resolve_value(&v, &scope()).unwrap()
    }

    fn err(v: Value) -> ExprError {
        resolve_value(&v, &scope()).unwrap_err()
    }

    #[test]
    fn whole_expression_yields_raw_value() {
        assert_eq!(r(json!("${workflow.input.n}")), json!(3));
        assert_eq!(r(json!("${workflow.input.list}")), json!([10, 20, 30]));
        assert_eq!(
            r(json!("${workflow.input.nested}")),
            json!({"a": {"b": true}})
        );
        assert_eq!(r(json!("${workflow.input.nested.a.b}")), json!(true));
        assert_eq!(r(json!("${workflow.input.nothing}")), Value::Null);
        assert_eq!(r(json!("${CPEWF_TASK_ID}")), json!("task-9"));
        assert_eq!(r(json!(" ${workflow.input.n}")), json!(" 3"));
    }

    #[test]
    fn missing_paths_are_null() {
        assert_eq!(r(json!("${workflow.input.absent}")), Value::Null);
        assert_eq!(r(json!("${workflow.input.absent.deeper}")), Value::Null);
        assert_eq!(r(json!("${nosuchtask.output.x}")), Value::Null);
        assert_eq!(r(json!("${workflow.input.list[7]}")), Value::Null);
        assert_eq!(r(json!("v=${workflow.input.absent}")), json!("v=null"));
    }

    #[test]
    fn text_splicing() {
        assert_eq!(
            r(json!("hi ${workflow.input.name}, n=${workflow.input.n}")),
            json!("hi ann, n=3")
        );
        assert_eq!(
            r(json!("l=${workflow.input.list} o=${workflow.input.nested}")),
            json!("l=[10,20,30] o={\"a\":{\"b\":true}}")
        );
        assert_eq!(
            r(json!("${workflow.input.n}${workflow.input.n}")),
            json!("33")
        );
    }

    #[test]
    fn indexes_and_quoted_names() {
        assert_eq!(r(json!("${workflow.input.list[0]}")), json!(10));
        assert_eq!(r(json!("${workflow.input.list[-1]}")), json!(30));
        assert_eq!(r(json!("${workflow.input['odd key']}")), json!("odd"));
        assert_eq!(r(json!("${workflow.input[\"odd key\"]}")), json!("odd"));
        assert_eq!(r(json!("${workflow.input.x-y}")), json!("dash"));
        assert_eq!(r(json!("${t1.output.1.inner}")), json!("one"));
        assert_eq!(r(json!("${workflow['input'].name}")), json!("ann"));
    }

    #[test]
    fn filters_and_wildcards_yield_lists() {
        assert_eq!(
            r(json!("${t1.output.items[?(@.ok == true)].id}")),
            json!([1, 3])
        );
        assert_eq!(r(json!("${t1.output.items[*].id}")), json!([1, 2, 3]));
        assert_eq!(r(json!("${t1.output.items.*.id}")), json!([1, 2, 3]));
        assert_eq!(r(json!("${t1.output..id}")), json!([1, 2, 3]));
        assert_eq!(r(json!("${t1.output.items[0:2].id}")), json!([1, 2]));
        assert_eq!(r(json!("${t1.output.items[?(@.id > 5)]}")), json!([]));
        assert_eq!(r(json!("${workflow..b}")), json!([true]));
        // An indefinite path into a task that never ran matches nothing: an empty list.
        assert_eq!(r(json!("${nosuchtask.output..status}")), json!([]));
        assert_eq!(r(json!("${nosuchtask.output.items[*].id}")), json!([]));
        assert_eq!(r(json!("${workflow.input.absent..x}")), json!([]));
    }

    #[test]
    fn functions() {
        assert_eq!(r(json!("${workflow.input.list.length()}")), json!(3));
        assert_eq!(r(json!("${workflow.input.name.length()}")), json!(3));
        assert_eq!(r(json!("${workflow.input.list.sum()}")), json!(60));
        assert_eq!(r(json!("${workflow.input.list.max()}")), json!(30));
        assert_eq!(r(json!("${workflow.input.list.avg()}")), json!(20));
        assert_eq!(
            r(json!("${t1.output.items[?(@.ok == true)].length()}")),
            json!(2)
        );
        assert_eq!(r(json!("${workflow.input.nested.keys()}")), json!(["a"]));
    }

    #[test]
    fn nested_expressions_resolve_inner_first() {
        assert_eq!(
            r(json!("${workflow.input.${workflow.input.key}}")),
            json!("ann")
        );
        assert_eq!(
            r(json!("x ${workflow.input.${workflow.input.key}} y")),
            json!("x ann y")
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            r(json!("$${workflow.input.n}")),
            json!("${workflow.input.n}")
        );
        assert_eq!(
            r(json!("a $${x} b ${workflow.input.n}")),
            json!("a ${x} b 3")
        );
        assert_eq!(r(json!("cost: $5 {not}")), json!("cost: $5 {not}"));
        assert_eq!(r(json!("}")), json!("}"));
    }

    #[test]
    fn recursion_through_objects_and_arrays() {
        let v = json!({
            "a": ["${workflow.input.n}", {"b": "${workflow.status}"}, 7, null],
            "${workflow.input.n}": "key kept"
        });
        assert_eq!(
            r(v),
            json!({"a": [3, {"b": "RUNNING"}, 7, null], "${workflow.input.n}": "key kept"})
        );
    }

    #[test]
    fn malformed_expressions_are_errors() {
        let e = err(json!("${workflow.input.n"));
        assert!(e.message.contains("unbalanced"), "{e}");
        let e = err(json!("${t1.output.items[?(@.ok ==]}"));
        assert!(e.message.contains("invalid path"), "{e}");
        assert!(err(json!("${}")).message.contains("empty"));
        assert!(
            err(json!("${workflow.input[0}"))
                .message
                .contains("bracket")
        );
        assert!(
            err(json!("${workflow.input..}"))
                .message
                .contains("empty name")
        );
        assert!(check_value(&json!({"a": ["${workflow.input.n"]})).is_err());
        assert!(check_value(&json!({"a": ["${t1.output.items[?(@.ok == true)].id}"]})).is_ok());
        assert!(check_value(&json!("${t1.output.x[?(]}")).is_err());
    }

    #[test]
    fn braces_inside_quotes_do_not_close() {
        let s: Map<String, Value> = json!({"t": {"output": {"a}": 5}}})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(
            resolve_value(&json!("${t.output['a}']}"), &s).unwrap(),
            json!(5)
        );
    }

    #[test]
    fn default_field_goes_through_root() {
        struct Only;
        impl Scope for Only {
            fn root(&self, name: &str) -> Option<Value> {
                (name == "w").then(|| json!({"input": {"x": [1, 2]}}))
            }
        }
        assert_eq!(
            resolve_value(&json!("${w.input.x[1]}"), &Only).unwrap(),
            json!(2)
        );
        assert_eq!(
            resolve_value(&json!("${w.input}"), &Only).unwrap(),
            json!({"x": [1, 2]})
        );
        assert_eq!(
            resolve_value(&json!("${w}"), &Only).unwrap(),
            json!({"input": {"x": [1, 2]}})
        );
        assert_eq!(
            resolve_value(&json!("${v.input}"), &Only).unwrap(),
            Value::Null
        );
    }
}
