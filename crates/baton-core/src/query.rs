//! Conductor's search query language: parsing, matching and sorting of search results, and
//! the summaries a search answers with.
//!
//! # Syntax
//!
//! A query is a list of predicates `field OP value` joined by `AND` and `OR`, grouped with
//! parentheses. `AND` binds tighter than `OR`; keywords (`AND`, `OR`, `IN`, `BETWEEN`, `IS`,
//! `NOT`, `NULL`, `STARTS_WITH`) are case-insensitive. The operators are:
//!
//! * `field = v`, `field != v`, `field < v`, `field > v`
//! * `field IN (a, b, c)`
//! * `field BETWEEN lo AND hi` (inclusive at both ends)
//! * `field IS NULL`, `field IS NOT NULL`
//! * `field STARTS_WITH 'prefix'`
//!
//! A value is quoted (`'x'` or `"x"`; a backslash takes the next character literally) or a
//! bare word running up to a space or one of `( ) , = ! < > ' "` (but not `AND` or `OR`,
//! which must be quoted to be values), so
//! `status IN (RUNNING,FAILED) AND startTime>1700000000000` reads as Conductor's UI means it.
//! An empty query (or only spaces) matches everything.
//!
//! Values are checked against the field's [`FieldType`] while parsing: integers and times
//! (epoch milliseconds) must be integers, statuses must be status names (any case; kept in
//! upper case), and `<`, `>` and `BETWEEN` apply only to integer and time fields,
//! `STARTS_WITH` only to keyword fields.
//!
//! # Matching
//!
//! [`Query::matches`] evaluates a query against anything that implements [`Record`].
//! A field without a value (null) fails every predicate but `!=` and `IS NULL`; `!=` is the
//! negation of `=`. `failedReferenceTaskNames` is multi-valued: `=`, `IN` and `STARTS_WITH`
//! hold when any of its names does, `!=` when none equals the value, and an empty list counts
//! as null. This is how an index keeping one entry per name would answer.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::state::{TaskInstance, TaskStatus, WorkflowInstance, WorkflowStatus};

#[cfg(test)]
mod tests;

/// What a search looks for: workflow executions or task instances. Each has its own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// Workflow executions (`/workflow/search`).
    Workflow,
    /// Task instances (`/tasks/search`).
    Task,
}

impl Entity {
    fn plural(self) -> &'static str {
        match self {
            Entity::Workflow => "workflows",
            Entity::Task => "tasks",
        }
    }
}

/// A field a query can test or a search can sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `workflowType`: the workflow definition name.
    WorkflowType,
    /// `workflowId`: the execution id.
    WorkflowId,
    /// `correlationId`: the caller's correlation id.
    CorrelationId,
    /// `status`: a workflow or a task status, depending on the entity.
    Status,
    /// `event`: the event that started the workflow.
    Event,
    /// `reasonForIncompletion`: why the workflow or task did not complete.
    ReasonForIncompletion,
    /// `version`: the workflow definition version.
    Version,
    /// `executionTime`: milliseconds from start to end, once ended.
    ExecutionTime,
    /// `startTime`: when the workflow or task started (epoch ms).
    StartTime,
    /// `updateTime`: the last change (epoch ms).
    UpdateTime,
    /// `endTime`: when it ended (epoch ms).
    EndTime,
    /// `failedReferenceTaskNames`: reference names of the tasks whose failure ended a
    /// workflow (several values).
    FailedReferenceTaskNames,
    /// `idempotencyKey`: the key given at start.
    IdempotencyKey,
    /// `taskId`: the task instance id.
    TaskId,
    /// `taskType`: the task type as clients see it.
    TaskType,
    /// `taskDefName`: the task definition name.
    TaskDefName,
    /// `scheduledTime`: when the task was scheduled (epoch ms).
    ScheduledTime,
    /// `queueWaitTime`: milliseconds from scheduling to the first start.
    QueueWaitTime,
}

const WORKFLOW_FIELDS: [Field; 13] = [
    Field::WorkflowType,
    Field::WorkflowId,
    Field::CorrelationId,
    Field::Status,
    Field::Event,
    Field::ReasonForIncompletion,
    Field::Version,
    Field::ExecutionTime,
    Field::StartTime,
    Field::UpdateTime,
    Field::EndTime,
    Field::FailedReferenceTaskNames,
    Field::IdempotencyKey,
];

const TASK_FIELDS: [Field; 14] = [
    Field::TaskId,
    Field::TaskType,
    Field::TaskDefName,
    Field::Status,
    Field::WorkflowId,
    Field::WorkflowType,
    Field::CorrelationId,
    Field::ReasonForIncompletion,
    Field::ScheduledTime,
    Field::StartTime,
    Field::UpdateTime,
    Field::EndTime,
    Field::ExecutionTime,
    Field::QueueWaitTime,
];

impl Field {
    /// The field's name as Conductor writes it (camelCase, e.g. `workflowType`).
    pub fn name(self) -> &'static str {
        match self {
            Field::WorkflowType => "workflowType",
            Field::WorkflowId => "workflowId",
            Field::CorrelationId => "correlationId",
            Field::Status => "status",
            Field::Event => "event",
            Field::ReasonForIncompletion => "reasonForIncompletion",
            Field::Version => "version",
            Field::ExecutionTime => "executionTime",
            Field::StartTime => "startTime",
            Field::UpdateTime => "updateTime",
            Field::EndTime => "endTime",
            Field::FailedReferenceTaskNames => "failedReferenceTaskNames",
            Field::IdempotencyKey => "idempotencyKey",
            Field::TaskId => "taskId",
            Field::TaskType => "taskType",
            Field::TaskDefName => "taskDefName",
            Field::ScheduledTime => "scheduledTime",
            Field::QueueWaitTime => "queueWaitTime",
        }
    }

    /// The kind of value the field holds for this entity (only `status` differs between
    /// workflows and tasks).
    pub fn field_type(self, entity: Entity) -> FieldType {
        match self {
            Field::Status => match entity {
                Entity::Workflow => FieldType::WorkflowStatus,
                Entity::Task => FieldType::TaskStatus,
            },
            Field::Version | Field::ExecutionTime | Field::QueueWaitTime => FieldType::Int,
            Field::StartTime | Field::UpdateTime | Field::EndTime | Field::ScheduledTime => {
                FieldType::Time
            }
            Field::WorkflowType
            | Field::WorkflowId
            | Field::CorrelationId
            | Field::Event
            | Field::ReasonForIncompletion
            | Field::FailedReferenceTaskNames
            | Field::IdempotencyKey
            | Field::TaskId
            | Field::TaskType
            | Field::TaskDefName => FieldType::Keyword,
        }
    }

    /// The fields a search of this entity knows, in the order Conductor lists them.
    pub fn all(entity: Entity) -> &'static [Field] {
        match entity {
            Entity::Workflow => &WORKFLOW_FIELDS,
            Entity::Task => &TASK_FIELDS,
        }
    }

    /// Looks a field up by its Conductor name (ASCII case is ignored), among the fields of
    /// this entity only.
    pub fn parse(entity: Entity, name: &str) -> Option<Field> {
        Field::all(entity)
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of value a field holds; it decides which values and operators a query may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text compared exactly (`=`, `!=`, `IN`, `STARTS_WITH`).
    Keyword,
    /// An integer (a version, a duration in ms).
    Int,
    /// A point in time as epoch milliseconds.
    Time,
    /// A workflow status name (RUNNING, COMPLETED, ...).
    WorkflowStatus,
    /// A task status name (SCHEDULED, IN_PROGRESS, ...).
    TaskStatus,
}

impl FieldType {
    fn is_numeric(self) -> bool {
        matches!(self, FieldType::Int | FieldType::Time)
    }

    fn describe(self) -> &'static str {
        match self {
            FieldType::Keyword => "a keyword field",
            FieldType::Int => "an integer field",
            FieldType::Time => "a time field",
            FieldType::WorkflowStatus | FieldType::TaskStatus => "a status field",
        }
    }
}

/// A value in a predicate: text for keyword and status fields, an integer for integer and
/// time fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Text.
    Str(String),
    /// An integer (epoch ms for times).
    Int(i64),
}

impl fmt::Display for Value {
    /// Integers bare, text single-quoted with `\` and `'` escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Str(s) => write_quoted(f, s),
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        if c == '\\' || c == '\'' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("'")
}

/// What a predicate asks of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// `= v`: the field equals the value (for a multi-valued field: one of its values does).
    Eq(Value),
    /// `!= v`: the negation of `=`; holds for a null field.
    Ne(Value),
    /// `< v`: numerically below.
    Lt(Value),
    /// `> v`: numerically above.
    Gt(Value),
    /// `IN (a, b)`: equals one of the values.
    In(Vec<Value>),
    /// `BETWEEN lo AND hi`: within the range, both ends included.
    Between(Value, Value),
    /// `IS NULL`: the field has no value.
    IsNull,
    /// `IS NOT NULL`: the field has a value.
    IsNotNull,
    /// `STARTS_WITH 'p'`: the text begins with the prefix.
    StartsWith(String),
}

/// One test of one field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Predicate {
    /// The field tested.
    pub field: Field,
    /// The test.
    pub op: Op,
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.name();
        match &self.op {
            Op::Eq(v) => write!(f, "{name} = {v}"),
            Op::Ne(v) => write!(f, "{name} != {v}"),
            Op::Lt(v) => write!(f, "{name} < {v}"),
            Op::Gt(v) => write!(f, "{name} > {v}"),
            Op::In(vs) => {
                write!(f, "{name} IN (")?;
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
            Op::Between(lo, hi) => write!(f, "{name} BETWEEN {lo} AND {hi}"),
            Op::IsNull => write!(f, "{name} IS NULL"),
            Op::IsNotNull => write!(f, "{name} IS NOT NULL"),
            Op::StartsWith(p) => {
                write!(f, "{name} STARTS_WITH ")?;
                write_quoted(f, p)
            }
        }
    }
}

/// A query expression: predicates combined with AND and OR. Parentheses leave no trace of
/// their own: `(a AND b) AND c` is an `And` holding an `And`, while `a AND b AND c` is one
/// `And` of three.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A single predicate.
    Pred(Predicate),
    /// Every child holds (an empty list holds).
    And(Vec<Expr>),
    /// Some child holds (an empty list does not).
    Or(Vec<Expr>),
}

impl Expr {
    fn matches(&self, record: &impl Record) -> bool {
        match self {
            Expr::Pred(p) => p.matches(record),
            Expr::And(xs) => xs.iter().all(|x| x.matches(record)),
            Expr::Or(xs) => xs.iter().any(|x| x.matches(record)),
        }
    }
}

impl fmt::Display for Expr {
    /// Prints the expression so that it parses back the same: every AND or OR nested in
    /// another is parenthesized.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (xs, sep) = match self {
            Expr::Pred(p) => return write!(f, "{p}"),
            Expr::And(xs) => (xs, " AND "),
            Expr::Or(xs) => (xs, " OR "),
        };
        for (i, x) in xs.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            match x {
                Expr::Pred(p) => write!(f, "{p}")?,
                _ => write!(f, "({x})")?,
            }
        }
        Ok(())
    }
}

/// A parsed search query for one entity; no expression means "match everything".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    entity: Entity,
    root: Option<Expr>,
}

impl Query {
    /// Parses query text for an entity. Empty or blank text gives a query that matches
    /// everything. Errors name the character position and what was expected there.
    pub fn parse(entity: Entity, text: &str) -> Result<Query, QueryError> {
        let tokens = lex(text)?;
        let mut p = Parser {
            entity,
            tokens,
            pos: 0,
            end: text.chars().count() + 1,
        };
        if p.tokens.is_empty() {
            return Ok(Query { entity, root: None });
        }
        let root = p.or_expr()?;
        if let Some(t) = p.peek() {
            let what = if matches!(t.kind, Tok::RParen) {
                "AND, OR or the end of the query (this ')' has no matching '(')"
            } else {
                "AND, OR or the end of the query"
            };
            return Err(p.expected_here(what));
        }
        Ok(Query {
            entity,
            root: Some(root),
        })
    }

    /// The entity the query is for.
    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// The whole expression, or None for a query that matches everything.
    pub fn root(&self) -> Option<&Expr> {
        self.root.as_ref()
    }

    /// True for the empty query, which matches everything.
    pub fn is_match_all(&self) -> bool {
        self.root.is_none()
    }

    /// The parts that must all hold: the children of a top-level AND, or the single
    /// expression otherwise (none for a query that matches everything). An index can serve
    /// any one of them and filter the rest with [`Query::matches`].
    pub fn conjuncts(&self) -> &[Expr] {
        match &self.root {
            None => &[],
            Some(Expr::And(xs)) => xs,
            Some(e) => std::slice::from_ref(e),
        }
    }

    /// Whether the record satisfies the query.
    pub fn matches(&self, record: &impl Record) -> bool {
        self.root.as_ref().is_none_or(|e| e.matches(record))
    }
}

impl fmt::Display for Query {
    /// Prints query text that parses back to an equal query (empty for match-all).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            None => Ok(()),
            Some(e) => write!(f, "{e}"),
        }
    }
}

/// Why query or sort text was refused: where (a 1-based character position; one past the
/// end for a query that stops too early) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct QueryError {
    /// 1-based character position of the fault.
    pub position: usize,
    /// What was expected there, or why the value or field is refused.
    pub message: String,
}

impl QueryError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        QueryError {
            position,
            message: message.into(),
        }
    }
}

/// A field's value in a record, as a query or a sort sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// No value.
    Null,
    /// Text (keywords and status names).
    Str(String),
    /// An integer (epoch ms for times).
    Int(i64),
    /// Several texts (a multi-valued keyword such as `failedReferenceTaskNames`); empty
    /// counts as null.
    Many(Vec<String>),
}

impl FieldValue {
    fn is_null(&self) -> bool {
        match self {
            FieldValue::Null => true,
            FieldValue::Many(xs) => xs.is_empty(),
            _ => false,
        }
    }

    /// Applies a test to each single value: a plain value, or each of several.
    fn any(&self, test: impl Fn(&Value) -> bool) -> bool {
        match self {
            FieldValue::Null => false,
            FieldValue::Str(s) => test(&Value::Str(s.clone())),
            FieldValue::Int(n) => test(&Value::Int(*n)),
            FieldValue::Many(xs) => xs.iter().any(|s| test(&Value::Str(s.clone()))),
        }
    }
}

/// Something a query can be matched against and a search can sort: a summary, or a
/// test's fake record. Fields the entity does not have may answer [`FieldValue::Null`].
pub trait Record {
    /// The value of one field.
    fn field(&self, field: Field) -> FieldValue;
}

/// Compares two single values of the same kind; values of different kinds do not compare.
fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Predicate {
    /// Whether the record's field passes this test.
    pub fn matches(&self, record: &impl Record) -> bool {
        let v = record.field(self.field);
        let eq = |x: &Value, want: &Value| x == want;
        match &self.op {
            Op::Eq(want) => v.any(|x| eq(x, want)),
            Op::Ne(want) => !v.any(|x| eq(x, want)),
            Op::In(wants) => v.any(|x| wants.iter().any(|w| eq(x, w))),
            Op::Lt(b) => v.any(|x| cmp_values(x, b) == Some(Ordering::Less)),
            Op::Gt(b) => v.any(|x| cmp_values(x, b) == Some(Ordering::Greater)),
            Op::Between(lo, hi) => v.any(|x| {
                matches!(cmp_values(x, lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp_values(x, hi), Some(Ordering::Less | Ordering::Equal))
            }),
            Op::IsNull => v.is_null(),
            Op::IsNotNull => !v.is_null(),
            Op::StartsWith(p) => v.any(|x| matches!(x, Value::Str(s) if s.starts_with(p.as_str()))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Comma,
    Eq,
    Ne,
    Lt,
    Gt,
    Word(String),
    Quoted(String),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    /// 1-based character position of its first character.
    pos: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.kind {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Eq => "'='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Gt => "'>'".into(),
            Tok::Word(w) => format!("'{w}'"),
            Tok::Quoted(s) => format!("the string '{s}'"),
        }
    }

    /// True for a bare word equal to this keyword, ignoring case.
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.kind, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | ',' | '=' | '!' | '<' | '>' | '\'' | '"')
}

fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Eq),
            '<' => Some(Tok::Lt),
            '>' => Some(Tok::Gt),
            _ => None,
        };
        if let Some(kind) = simple {
            out.push(Token { kind, pos });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '!' {
            if chars.get(i + 1) == Some(&'=') {
                out.push(Token { kind: Tok::Ne, pos });
                i += 2;
            } else {
                return Err(QueryError::new(
                    pos,
                    "expected '=' after '!' (the operator is '!=')",
                ));
            }
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => {
                        return Err(QueryError::new(
                            pos,
                            format!("this string has no closing {c}"),
                        ));
                    }
                    Some('\\') => match chars.get(j + 1) {
                        Some(&e) => {
                            s.push(e);
                            j += 2;
                        }
                        None => {
                            return Err(QueryError::new(
                                j + 2,
                                "expected a character after '\\', found end of query",
                            ));
                        }
                    },
                    Some(&q) if q == c => break,
                    Some(&x) => {
                        s.push(x);
                        j += 1;
                    }
                }
            }
            out.push(Token {
                kind: Tok::Quoted(s),
                pos,
            });
            i = j + 1;
        } else {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                kind: Tok::Word(chars[start..i].iter().collect()),
                pos,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Parser

struct Parser {
    entity: Entity,
    tokens: Vec<Token>,
    pos: usize,
    /// Position reported for "end of query".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_kw(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An error at the next token (or the end): "expected X, found Y".
    fn expected_here(&self, what: &str) -> QueryError {
        match self.peek() {
            Some(t) => QueryError::new(t.pos, format!("expected {what}, found {}", t.describe())),
            None => QueryError::new(self.end, format!("expected {what}, found end of query")),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut xs = vec![self.and_expr()?];
        while self.eat_kw("OR") {
            xs.push(self.and_expr()?);
        }
        Ok(if xs.len() == 1 {
            xs.pop().expect("one")
        } else {
            Expr::Or(xs)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut xs = vec![self.primary()?];
        while self.eat_kw("AND") {
            xs.push(self.primary()?);
        }
        Ok(if xs.len() == 1 {
            xs.pop().expect("one")
        } else {
            Expr::And(xs)
        })
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        match self.peek().map(|t| &t.kind) {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or_expr()?;
                match self.peek() {
                    Some(Token {
                        kind: Tok::RParen, ..
                    }) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err(self.expected_here("AND, OR or ')'")),
                }
            }
            Some(Tok::Word(_)) => self.predicate().map(Expr::Pred),
            _ => Err(self.expected_here("a field name or '('")),
        }
    }

    fn predicate(&mut self) -> Result<Predicate, QueryError> {
        let tok = self.next().expect("a word");
        let Tok::Word(name) = &tok.kind else {
            unreachable!("checked by the caller")
        };
        let field = Field::parse(self.entity, name).ok_or_else(|| {
            let names: Vec<&str> = Field::all(self.entity).iter().map(|f| f.name()).collect();
            QueryError::new(
                tok.pos,
                format!(
                    "unknown field '{name}' for {}; the fields are: {}",
                    self.entity.plural(),
                    names.join(", ")
                ),
            )
        })?;
        let ftype = field.field_type(self.entity);
        let after_field = format!(
            "an operator (=, !=, <, >, IN, BETWEEN, IS, STARTS_WITH) after '{}'",
            field.name()
        );
        let Some(op_tok) = self.next() else {
            return Err(self.expected_here(&after_field));
        };
        let op_pos = op_tok.pos;
        let refuse_op = |op: &str, allowed: &str| {
            QueryError::new(
                op_pos,
                format!(
                    "{op} applies to {allowed} only; {} is {}",
                    field.name(),
                    ftype.describe()
                ),
            )
        };
        let op = match &op_tok.kind {
            Tok::Eq => Op::Eq(self.value(field, "'='")?),
            Tok::Ne => Op::Ne(self.value(field, "'!='")?),
            Tok::Lt | Tok::Gt => {
                let sym = if op_tok.kind == Tok::Lt { "<" } else { ">" };
                if self
                    .peek()
                    .is_some_and(|t| matches!(t.kind, Tok::Eq) && t.pos == op_pos + 1)
                {
                    return Err(QueryError::new(
                        op_pos,
                        format!(
                            "'{sym}=' is not supported: use '{sym}', or BETWEEN for a range that includes its ends"
                        ),
                    ));
                }
                if !ftype.is_numeric() {
                    return Err(refuse_op(&format!("'{sym}'"), "integer and time fields"));
                }
                let v = self.value(field, &format!("'{sym}'"))?;
                if sym == "<" { Op::Lt(v) } else { Op::Gt(v) }
            }
            _ if op_tok.is_kw("IN") => {
                match self.peek() {
                    Some(Token {
                        kind: Tok::LParen, ..
                    }) => self.pos += 1,
                    _ => return Err(self.expected_here("'(' after IN")),
                }
                let mut vs = vec![self.value(field, "'IN ('")?];
                loop {
                    match self.peek().map(|t| &t.kind) {
                        Some(Tok::Comma) => {
                            self.pos += 1;
                            vs.push(self.value(field, "','")?);
                        }
                        Some(Tok::RParen) => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.expected_here("',' or ')' in the IN list")),
                    }
                }
                Op::In(vs)
            }
            _ if op_tok.is_kw("BETWEEN") => {
                if !ftype.is_numeric() {
                    return Err(refuse_op("BETWEEN", "integer and time fields"));
                }
                let lo = self.value(field, "BETWEEN")?;
                if !self.eat_kw("AND") {
                    return Err(self.expected_here("AND between the two bounds of BETWEEN"));
                }
                let hi = self.value(field, "BETWEEN ... AND")?;
                Op::Between(lo, hi)
            }
            _ if op_tok.is_kw("IS") => {
                let not = self.eat_kw("NOT");
                if !self.eat_kw("NULL") {
                    let what = if not {
                        "NULL after IS NOT"
                    } else {
                        "NULL or NOT NULL after IS"
                    };
                    return Err(self.expected_here(what));
                }
                if not { Op::IsNotNull } else { Op::IsNull }
            }
            _ if op_tok.is_kw("STARTS_WITH") => {
                if ftype != FieldType::Keyword {
                    return Err(refuse_op("STARTS_WITH", "keyword fields"));
                }
                match self.value(field, "STARTS_WITH")? {
                    Value::Str(s) => Op::StartsWith(s),
                    Value::Int(_) => unreachable!("keyword values are text"),
                }
            }
            _ => {
                self.pos -= 1;
                return Err(self.expected_here(&after_field));
            }
        };
        Ok(Predicate { field, op })
    }

    /// Reads one value for the field and checks it against the field's type.
    fn value(&mut self, field: Field, after: &str) -> Result<Value, QueryError> {
        let (text, pos) = match self.peek() {
            // A bare AND or OR here means the value was left out; quote it to mean the word.
            Some(t) if t.is_kw("AND") || t.is_kw("OR") => {
                return Err(self.expected_here(&format!("a value after {after}")));
            }
            Some(Token {
                kind: Tok::Word(w) | Tok::Quoted(w),
                pos,
            }) => (w.clone(), *pos),
            _ => return Err(self.expected_here(&format!("a value after {after}"))),
        };
        self.pos += 1;
        let ftype = field.field_type(self.entity);
        match ftype {
            FieldType::Keyword => Ok(Value::Str(text)),
            FieldType::Int | FieldType::Time => {
                text.trim().parse::<i64>().map(Value::Int).map_err(|_| {
                    let kind = if ftype == FieldType::Time {
                        "a time field: give epoch milliseconds as an integer"
                    } else {
                        "an integer field: give an integer"
                    };
                    QueryError::new(pos, format!("{} is {kind}, found '{text}'", field.name()))
                })
            }
            FieldType::WorkflowStatus => {
                let up = text.to_ascii_uppercase();
                match WorkflowStatus::parse(&up) {
                    Some(s) => Ok(Value::Str(s.as_str().to_string())),
                    None => Err(unknown_status(
                        pos,
                        "workflow",
                        &text,
                        WorkflowStatus::ALL.iter().map(|s| s.as_str()),
                    )),
                }
            }
            FieldType::TaskStatus => {
                let up = text.to_ascii_uppercase();
                match TaskStatus::parse(&up) {
                    Some(s) => Ok(Value::Str(s.as_str().to_string())),
                    None => Err(unknown_status(
                        pos,
                        "task",
                        &text,
                        TaskStatus::ALL.iter().map(|s| s.as_str()),
                    )),
                }
            }
        }
    }
}

fn unknown_status<'a>(
    pos: usize,
    kind: &str,
    text: &str,
    names: impl Iterator<Item = &'a str>,
) -> QueryError {
    let names: Vec<&str> = names.collect();
    QueryError::new(
        pos,
        format!(
            "unknown {kind} status '{text}'; the statuses are: {}",
            names.join(", ")
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Sorting

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// How to order search results: keys applied in turn, then the record id ascending
/// (`workflowId` for workflows; `taskId`, then `workflowId`, for tasks) so that records
/// with distinct ids always have one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    entity: Entity,
    keys: Vec<(Field, Order)>,
}

impl SortSpec {
    /// Parses Conductor's `sort` parameters: each holds keys `field` or `field:ASC|DESC`
    /// (direction case-insensitive, ASC when left out) joined by `|` or `,`; several
    /// parameters add their keys in turn. Empty items are skipped, so no parameter at all
    /// (or only empty ones) sorts by id alone. An error's position is the character within
    /// the parameter that holds the fault.
    pub fn parse(entity: Entity, params: &[impl AsRef<str>]) -> Result<SortSpec, QueryError> {
        let mut keys = Vec::new();
        for param in params {
            let param = param.as_ref();
            let mut start = 0; // char index of the current item
            for item in param.split(['|', ',']) {
                let n = item.chars().count();
                let lead = item.chars().take_while(|c| c.is_whitespace()).count();
                let trimmed = item.trim();
                let item_pos = start + lead + 1;
                start += n + 1;
                if trimmed.is_empty() {
                    continue;
                }
                let (name, dir) = match trimmed.split_once(':') {
                    Some((a, b)) => (a.trim_end(), Some(b.trim())),
                    None => (trimmed, None),
                };
                let field = Field::parse(entity, name).ok_or_else(|| {
                    let names: Vec<&str> = Field::all(entity).iter().map(|f| f.name()).collect();
                    QueryError::new(
                        item_pos,
                        format!(
                            "unknown sort field '{name}' for {}; the fields are: {}",
                            entity.plural(),
                            names.join(", ")
                        ),
                    )
                })?;
                let order = match dir {
                    None => Order::Asc,
                    Some(d) if d.eq_ignore_ascii_case("asc") => Order::Asc,
                    Some(d) if d.eq_ignore_ascii_case("desc") => Order::Desc,
                    Some(d) => {
                        let colon = item_pos + name.chars().count();
                        return Err(QueryError::new(
                            colon + 1,
                            format!("expected ASC or DESC after '{name}:', found '{d}'"),
                        ));
                    }
                };
                keys.push((field, order));
            }
        }
        Ok(SortSpec { entity, keys })
    }

    /// The sort keys in order of precedence (without the id tie-break).
    pub fn keys(&self) -> &[(Field, Order)] {
        &self.keys
    }

    /// The entity these keys are for.
    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// Orders two records: by each key (records without a value last, whatever the
    /// direction), then by id ascending. A multi-valued field sorts by its smallest value
    /// ascending and by its largest descending.
    pub fn compare(&self, a: &impl Record, b: &impl Record) -> Ordering {
        for &(field, order) in &self.keys {
            let o = compare_key(&a.field(field), &b.field(field), order);
            if o != Ordering::Equal {
                return o;
            }
        }
        let ids: &[Field] = match self.entity {
            Entity::Workflow => &[Field::WorkflowId],
            Entity::Task => &[Field::TaskId, Field::WorkflowId],
        };
        for &field in ids {
            let o = compare_key(&a.field(field), &b.field(field), Order::Asc);
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// One value to sort by: a multi-valued field gives its smallest (ascending) or largest
/// (descending) member; None for null.
fn sort_value(v: &FieldValue, order: Order) -> Option<Value> {
    match v {
        FieldValue::Null => None,
        FieldValue::Str(s) => Some(Value::Str(s.clone())),
        FieldValue::Int(n) => Some(Value::Int(*n)),
        FieldValue::Many(xs) => match order {
            Order::Asc => xs.iter().min(),
            Order::Desc => xs.iter().max(),
        }
        .map(|s| Value::Str(s.clone())),
    }
}

fn compare_key(a: &FieldValue, b: &FieldValue, order: Order) -> Ordering {
    match (sort_value(a, order), sort_value(b, order)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let o = match (&x, &y) {
                (Value::Int(p), Value::Int(q)) => p.cmp(q),
                (Value::Str(p), Value::Str(q)) => p.cmp(q),
                // Mixed kinds never come from one field; integers first keeps it total.
                (Value::Int(_), Value::Str(_)) => Ordering::Less,
                (Value::Str(_), Value::Int(_)) => Ordering::Greater,
            };
            match order {
                Order::Asc => o,
                Order::Desc => o.reverse(),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Summaries

/// Conductor's WorkflowSummary, the row a workflow search answers with. Times are epoch
/// ms here; the API adapters format them as ISO-8601 text (and input and output as text)
/// where Conductor's shape asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowSummary {
    /// Definition name.
    pub workflow_type: String,
    /// Definition version.
    pub version: i32,
    /// Execution id.
    pub workflow_id: String,
    /// Caller's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// When the execution was created (Conductor's startTime), epoch ms.
    pub start_time: i64,
    /// Last change, epoch ms.
    pub update_time: i64,
    /// When it reached a terminal status, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Current status.
    pub status: WorkflowStatus,
    /// Workflow input.
    pub input: serde_json::Value,
    /// Workflow output.
    pub output: serde_json::Value,
    /// Why the workflow did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Milliseconds from `start_time` to `end_time`, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<i64>,
    /// The event that started the workflow (Baton keeps none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Reference names of the failed tasks that ended the workflow; a comma-joined string
    /// in JSON, as Conductor writes it.
    #[serde(default, with = "comma_joined")]
    pub failed_reference_task_names: Vec<String>,
    /// Names of those failed tasks.
    #[serde(default)]
    pub failed_task_names: Vec<String>,
    /// Priority 0-99.
    pub priority: i32,
    /// Who started it (Baton keeps none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Task name (or "*") to domain.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_to_domain: BTreeMap<String, String>,
    /// Idempotency key given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Length in bytes of the input as compact JSON.
    pub input_size: i64,
    /// Length in bytes of the output as compact JSON.
    pub output_size: i64,
}

/// Serde for a list kept as one comma-joined string.
mod comma_joined {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.join(","))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let s = String::deserialize(d)?;
        Ok(s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect())
    }
}

fn json_len(v: &impl Serialize) -> i64 {
    serde_json::to_vec(v).map_or(0, |b| b.len() as i64)
}

fn opt_str(v: &Option<String>) -> FieldValue {
    v.as_ref()
        .map_or(FieldValue::Null, |s| FieldValue::Str(s.clone()))
}

fn opt_int(v: Option<i64>) -> FieldValue {
    v.map_or(FieldValue::Null, FieldValue::Int)
}

impl WorkflowSummary {
    /// Summarizes an execution. The failed tasks are those of a terminal workflow that
    /// ended FAILED, FAILED_WITH_TERMINAL_ERROR or TIMED_OUT, were not retried and are not
    /// optional (the same choice as the full Workflow view), plus the task the workflow
    /// records as the one whose failure ended it.
    pub fn new(w: &WorkflowInstance, tasks: &[TaskInstance]) -> Self {
        let mut failed_refs: Vec<String> = Vec::new();
        let mut failed_names: Vec<String> = Vec::new();
        if w.status.is_terminal() {
            for t in tasks {
                if matches!(
                    t.status,
                    TaskStatus::Failed | TaskStatus::FailedWithTerminalError | TaskStatus::TimedOut
                ) && !t.retried
                    && !t.optional
                {
                    if !failed_refs.contains(&t.reference_task_name) {
                        failed_refs.push(t.reference_task_name.clone());
                    }
                    let name = t.reported_type().to_string();
                    if !failed_names.contains(&name) {
                        failed_names.push(name);
                    }
                }
            }
        }
        if let Some(r) = &w.failed_reference_task_name
            && !failed_refs.contains(r)
        {
            failed_refs.push(r.clone());
        }
        WorkflowSummary {
            workflow_type: w.workflow_name.clone(),
            version: w.workflow_version,
            workflow_id: w.workflow_id.clone(),
            correlation_id: w.correlation_id.clone(),
            start_time: w.create_time,
            update_time: w.update_time,
            end_time: w.end_time,
            status: w.status,
            input: serde_json::Value::Object(w.input.clone()),
            output: serde_json::Value::Object(w.output.clone()),
            reason_for_incompletion: w.reason_for_incompletion.clone(),
            execution_time: w.end_time.map(|e| (e - w.create_time).max(0)),
            event: None,
            failed_reference_task_names: failed_refs,
            failed_task_names: failed_names,
            priority: w.priority,
            created_by: None,
            task_to_domain: w.task_to_domain.clone(),
            idempotency_key: w.idempotency_key.clone(),
            input_size: json_len(&w.input),
            output_size: json_len(&w.output),
        }
    }
}

impl Record for WorkflowSummary {
    /// The workflow fields; task-only fields are null.
    fn field(&self, field: Field) -> FieldValue {
        match field {
            Field::WorkflowType => FieldValue::Str(self.workflow_type.clone()),
            Field::WorkflowId => FieldValue::Str(self.workflow_id.clone()),
            Field::CorrelationId => opt_str(&self.correlation_id),
            Field::Status => FieldValue::Str(self.status.as_str().to_string()),
            Field::Event => opt_str(&self.event),
            Field::ReasonForIncompletion => opt_str(&self.reason_for_incompletion),
            Field::Version => FieldValue::Int(self.version.into()),
            Field::ExecutionTime => opt_int(self.execution_time),
            Field::StartTime => FieldValue::Int(self.start_time),
            Field::UpdateTime => FieldValue::Int(self.update_time),
            Field::EndTime => opt_int(self.end_time),
            Field::FailedReferenceTaskNames => {
                FieldValue::Many(self.failed_reference_task_names.clone())
            }
            Field::IdempotencyKey => opt_str(&self.idempotency_key),
            Field::TaskId
            | Field::TaskType
            | Field::TaskDefName
            | Field::ScheduledTime
            | Field::QueueWaitTime => FieldValue::Null,
        }
    }
}

/// Conductor's TaskSummary, the row a task search answers with. Times are epoch ms here;
/// the API adapters format them where Conductor's shape asks for text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    /// Owning execution.
    pub workflow_id: String,
    /// Owning execution's definition name.
    pub workflow_type: String,
    /// The workflow's correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// When scheduled, epoch ms.
    pub scheduled_time: i64,
    /// When first taken by a worker, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Last change, epoch ms.
    pub update_time: i64,
    /// When terminal, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Current status.
    pub status: TaskStatus,
    /// Why the task did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_for_incompletion: Option<String>,
    /// Milliseconds from start to end, once ended (and started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<i64>,
    /// Milliseconds from scheduling to start, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_wait_time: Option<i64>,
    /// Task definition name as clients see it.
    pub task_def_name: String,
    /// Task type as clients see it (a worker task shows its name).
    pub task_type: String,
    /// Task input.
    pub input: serde_json::Value,
    /// Task output.
    pub output: serde_json::Value,
    /// Task instance id.
    pub task_id: String,
    /// The workflow's priority.
    pub workflow_priority: i32,
    /// Domain of the queue the task sits in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl TaskSummary {
    /// Summarizes one task instance of an execution.
    pub fn new(w: &WorkflowInstance, t: &TaskInstance) -> Self {
        TaskSummary {
            workflow_id: w.workflow_id.clone(),
            workflow_type: w.workflow_name.clone(),
            correlation_id: w.correlation_id.clone(),
            scheduled_time: t.scheduled_time,
            start_time: t.start_time,
            update_time: t.update_time,
            end_time: t.end_time,
            status: t.status,
            reason_for_incompletion: t.reason_for_incompletion.clone(),
            execution_time: match (t.start_time, t.end_time) {
                (Some(s), Some(e)) => Some((e - s).max(0)),
                _ => None,
            },
            queue_wait_time: t.start_time.map(|s| (s - t.scheduled_time).max(0)),
            task_def_name: t.reported_def_name().to_string(),
            task_type: t.reported_type().to_string(),
            input: serde_json::Value::Object(t.input.clone()),
            output: serde_json::Value::Object(t.output.clone()),
            task_id: t.task_id.clone(),
            workflow_priority: w.priority,
            domain: t.domain.clone(),
        }
    }
}

impl Record for TaskSummary {
    /// The task fields; workflow-only fields are null.
    fn field(&self, field: Field) -> FieldValue {
        match field {
            Field::TaskId => FieldValue::Str(self.task_id.clone()),
            Field::TaskType => FieldValue::Str(self.task_type.clone()),
            Field::TaskDefName => FieldValue::Str(self.task_def_name.clone()),
            Field::Status => FieldValue::Str(self.status.as_str().to_string()),
            Field::WorkflowId => FieldValue::Str(self.workflow_id.clone()),
            Field::WorkflowType => FieldValue::Str(self.workflow_type.clone()),
            Field::CorrelationId => opt_str(&self.correlation_id),
            Field::ReasonForIncompletion => opt_str(&self.reason_for_incompletion),
            Field::ScheduledTime => FieldValue::Int(self.scheduled_time),
            Field::StartTime => opt_int(self.start_time),
            Field::UpdateTime => FieldValue::Int(self.update_time),
            Field::EndTime => opt_int(self.end_time),
            Field::ExecutionTime => opt_int(self.execution_time),
            Field::QueueWaitTime => opt_int(self.queue_wait_time),
            Field::Event
            | Field::Version
            | Field::FailedReferenceTaskNames
            | Field::IdempotencyKey => FieldValue::Null,
        }
    }
}
