//! Baton's search index: every execution and every task instance as a document of an
//! embedded tantivy index kept in a directory beside the store (or in memory).
//!
//! The index holds, per execution, one workflow document and one document per task
//! instance (retries are instances of their own). Every field of the query language
//! ([`baton_core::query::Field`]) is an indexed fast field, so every filter and every
//! sort is answered from the index; free text goes to one tokenized field made of ids,
//! inputs, outputs and failure reasons. Each document stores its summary, so a search
//! answers without reading the store.
//!
//! The index is derived data: the store queues every execution it changes, and the
//! server's indexer takes the queue in, commits, then clears what it took. Every commit
//! carries the identity of the store it was built from; an index that does not carry the
//! identity it is opened with (another store, an unfinished rebuild, a different schema)
//! or that cannot be read is wiped and rebuilt by the caller.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use baton_core::query::{
    Entity, Expr, Field, FieldType, FieldValue, Op, Order as SortOrder, Query, Record, SortSpec,
    TaskSummary, Value, WorkflowSummary,
};
use parking_lot::Mutex;
use tantivy::collector::sort_key::SortByErasedType;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, QueryParser, RangeQuery, RegexQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{FAST, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT, Value as _};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

#[cfg(test)]
mod tests;

/// Most results one page may ask for.
pub const MAX_PAGE_SIZE: usize = 5_000;

/// Deepest a page may start: deeper paging must narrow the query instead (so that no page
/// reaches past the first 100,000 results).
pub const MAX_START: usize = 95_000;

/// Most sort keys one search may give.
pub const MAX_SORT_KEYS: usize = 3;

/// Version of the document layout; an index written with another is rebuilt.
const SCHEMA_VERSION: u32 = 2;

/// Payload of the commits made while a rebuild is under way: such an index is never used.
const REBUILDING: &str = "rebuilding";

/// Memory the index writer may use before it writes a segment.
const WRITER_HEAP_BYTES: usize = 48 * 1024 * 1024;

/// Why a search or an index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The request is malformed or out of bounds (bad free text, too large a page, a
    /// filter that does not fit the field).
    #[error("{0}")]
    InvalidArgument(String),
    /// The index cannot be read or written.
    #[error("search index: {0}")]
    Index(String),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}

/// One page of a search: how many match in all, and the page itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits<T> {
    /// Documents matching the query, over all pages.
    pub total_hits: u64,
    /// The page, in the requested order.
    pub results: Vec<T>,
}

/// What a search asks for: a parsed query, free text, an order and a page.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The structured filter (match all when empty).
    pub query: Query,
    /// Free text over ids, inputs, outputs and failure reasons; empty or `*` matches all.
    pub free_text: String,
    /// The order; ties are broken by id, ascending.
    pub sort: SortSpec,
    /// How many results to skip.
    pub start: usize,
    /// How many results to return (at most [`MAX_PAGE_SIZE`]).
    pub size: usize,
}

/// How the index was found when opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// It was built from this store and can be used as it is (the store's queue brings it
    /// up to date).
    Current,
    /// It was missing, unreadable, from another store or another layout, or left half
    /// rebuilt: it is empty now and must be rebuilt from every execution.
    MustRebuild,
}

/// The tantivy fields of the index.
#[derive(Clone)]
struct Fields {
    kind: tantivy::schema::Field,
    text: tantivy::schema::Field,
    summary: tantivy::schema::Field,
    /// The workflow id of every document (the key deletions go by).
    workflow_id: tantivy::schema::Field,
}

/// The embedded search index.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    schema: Schema,
    identity: String,
    dir: Option<PathBuf>,
}

const KIND_WORKFLOW: &str = "workflow";
const KIND_TASK: &str = "task";

/// Name of the field a sort on `field` in `order` reads: the field itself, or for a
/// multi-valued keyword field a single-valued one holding its smallest value (ascending)
/// or its largest (descending).
fn sort_field_name(field: Field, order: SortOrder) -> String {
    if !multi_valued(field) {
        field.name().to_string()
    } else if order == SortOrder::Desc {
        sort_max_name(field)
    } else {
        sort_min_name(field)
    }
}

/// Name of the sort-only field holding a multi-valued keyword field's smallest value.
fn sort_min_name(field: Field) -> String {
    format!("{}_sortmin", field.name())
}

/// Name of the sort-only field holding a multi-valued keyword field's largest value.
fn sort_max_name(field: Field) -> String {
    format!("{}_sortmax", field.name())
}

/// Whether a keyword field can hold several values in one document.
fn multi_valued(field: Field) -> bool {
    field == Field::FailedReferenceTaskNames
}

fn all_fields() -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    for entity in [Entity::Workflow, Entity::Task] {
        for f in Field::all(entity) {
            if !out.contains(f) {
                out.push(*f);
            }
        }
    }
    out
}

/// Whether a field is served as a number (i64) rather than a keyword.
fn is_numeric(field: Field) -> bool {
    // A field has one type in the index whatever the entity; the query language gives a
    // field the same kind of type for both entities.
    let entity = if Field::all(Entity::Workflow).contains(&field) {
        Entity::Workflow
    } else {
        Entity::Task
    };
    matches!(field.field_type(entity), FieldType::Int | FieldType::Time)
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let kind = b.add_text_field("_kind", STRING);
    let text = b.add_text_field("_text", TEXT);
    let summary = b.add_bytes_field("_summary", STORED);
    let mut workflow_id = None;
    for f in all_fields() {
        let field = if is_numeric(f) {
            b.add_i64_field(f.name(), INDEXED | FAST)
        } else {
            b.add_text_field(f.name(), STRING | FAST)
        };
        if f == Field::WorkflowId {
            workflow_id = Some(field);
        }
        if multi_valued(f) {
            // Sorted on, never searched: a column without postings.
            b.add_text_field(&sort_min_name(f), FAST);
            b.add_text_field(&sort_max_name(f), FAST);
        }
    }
    let schema = b.build();
    let fields = Fields {
        kind,
        text,
        summary,
        workflow_id: workflow_id.expect("the query language has a workflowId field"),
    };
    (schema, fields)
}

impl SearchIndex {
    /// Opens the index kept in `dir` (created if missing), or a fresh one in memory when
    /// `dir` is None, for the store whose identity is `identity`. An index that cannot
    /// be used as it is gets wiped; [`Opened::MustRebuild`] then says so.
    pub fn open(dir: Option<&Path>, identity: &str) -> Result<(SearchIndex, Opened), SearchError> {
        let (schema, fields) = build_schema();
        let want = format!("v{SCHEMA_VERSION}:{identity}");
        let (index, opened) = match dir {
            None => (Index::create_in_ram(schema.clone()), Opened::MustRebuild),
            Some(dir) => match Self::open_existing(dir, &schema, &want) {
                Some(index) => (index, Opened::Current),
                None => {
                    if dir.exists() {
                        std::fs::remove_dir_all(dir).map_err(|e| {
                            SearchError::Index(format!("cannot clear {}: {e}", dir.display()))
                        })?;
                    }
                    std::fs::create_dir_all(dir).map_err(|e| {
                        SearchError::Index(format!("cannot create {}: {e}", dir.display()))
                    })?;
                    (
                        Index::create_in_dir(dir, schema.clone())?,
                        Opened::MustRebuild,
                    )
                }
            },
        };
        let writer = index.writer_with_num_threads(1, WRITER_HEAP_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let me = SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            schema,
            identity: want,
            dir: dir.map(Path::to_path_buf),
        };
        if opened == Opened::MustRebuild {
            // Mark it unusable until the rebuild finishes, so that a crash half way
            // through is seen as such at the next start.
            me.commit_with(REBUILDING)?;
        }
        Ok((me, opened))
    }

    /// An index in `dir` built from this store with this layout, if there is one that
    /// reads.
    fn open_existing(dir: &Path, schema: &Schema, want: &str) -> Option<Index> {
        if !dir.join("meta.json").exists() {
            return None;
        }
        let index = match Index::open_in_dir(dir) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "search index unreadable; rebuilding");
                return None;
            }
        };
        if index.schema() != *schema {
            tracing::info!("search index has another layout; rebuilding");
            return None;
        }
        match index.load_metas() {
            Ok(meta) if meta.payload.as_deref() == Some(want) => {}
            Ok(meta) => {
                tracing::info!(found = ?meta.payload, "search index is not this store's (or half rebuilt); rebuilding");
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "search index metadata unreadable; rebuilding");
                return None;
            }
        }
        // Every segment must open: a damaged file is found now, not at the first search.
        match index.reader() {
            Ok(r) => {
                let searcher = r.searcher();
                if let Err(e) = searcher.search(&AllQuery, &Count) {
                    tracing::warn!(error = %e, "search index damaged; rebuilding");
                    return None;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "search index damaged; rebuilding");
                return None;
            }
        }
        Some(index)
    }

    /// Where the index lives (None: in memory).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Replaces what the index holds for one execution by these summaries (not visible
    /// to searches until [`SearchIndex::commit`]).
    pub fn put(
        &self,
        workflow: &WorkflowSummary,
        tasks: &[TaskSummary],
    ) -> Result<(), SearchError> {
        let writer = self.writer.lock();
        writer.delete_term(Term::from_field_text(
            self.fields.workflow_id,
            &workflow.workflow_id,
        ));
        writer.add_document(self.document(Entity::Workflow, workflow)?)?;
        for t in tasks {
            writer.add_document(self.document(Entity::Task, t)?)?;
        }
        Ok(())
    }

    /// Removes an execution and its tasks from the index (at the next commit).
    pub fn delete(&self, workflow_id: &str) {
        let writer = self.writer.lock();
        writer.delete_term(Term::from_field_text(self.fields.workflow_id, workflow_id));
    }

    /// Makes every change so far durable and visible to searches; the commit records the
    /// store's identity.
    pub fn commit(&self) -> Result<(), SearchError> {
        let identity = self.identity.clone();
        self.commit_with(&identity)
    }

    /// Makes the changes so far durable and visible, but leaves the index marked as
    /// being rebuilt: used while a rebuild is under way.
    pub fn commit_rebuilding(&self) -> Result<(), SearchError> {
        self.commit_with(REBUILDING)
    }

    fn commit_with(&self, payload: &str) -> Result<(), SearchError> {
        {
            let mut writer = self.writer.lock();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(payload);
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Number of workflow documents visible to searches.
    pub fn workflow_count(&self) -> Result<u64, SearchError> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.kind, KIND_WORKFLOW),
            IndexRecordOption::Basic,
        );
        Ok(searcher.search(&q, &Count)? as u64)
    }

    /// Searches workflow documents.
    pub fn search_workflows(
        &self,
        req: &SearchRequest,
    ) -> Result<Hits<WorkflowSummary>, SearchError> {
        self.search(Entity::Workflow, req)
    }

    /// Searches task documents.
    pub fn search_tasks(&self, req: &SearchRequest) -> Result<Hits<TaskSummary>, SearchError> {
        self.search(Entity::Task, req)
    }

    fn search<T: serde::de::DeserializeOwned>(
        &self,
        entity: Entity,
        req: &SearchRequest,
    ) -> Result<Hits<T>, SearchError> {
        check_page(req.start, req.size)?;
        if req.sort.keys().len() > MAX_SORT_KEYS {
            return Err(SearchError::InvalidArgument(format!(
                "at most {MAX_SORT_KEYS} sort keys may be given, found {}",
                req.sort.keys().len()
            )));
        }
        let kind = match entity {
            Entity::Workflow => KIND_WORKFLOW,
            Entity::Task => KIND_TASK,
        };
        let mut parts: Vec<(Occur, Box<dyn tantivy::query::Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(self.fields.kind, kind),
                IndexRecordOption::Basic,
            )),
        )];
        if let Some(root) = req.query.root() {
            parts.push((Occur::Must, self.expr(root)?));
        }
        let free = req.free_text.trim();
        if !free.is_empty() && free != "*" {
            let mut parser = QueryParser::for_index(&self.index, vec![self.fields.text]);
            parser.set_conjunction_by_default();
            let q = parser.parse_query(free).map_err(|e| {
                SearchError::InvalidArgument(format!("freeText {free:?} does not parse: {e}"))
            })?;
            parts.push((Occur::Must, q));
        }
        let query = BooleanQuery::new(parts);
        let searcher = self.reader.searcher();
        let (addresses, total) = if req.size == 0 {
            (Vec::new(), searcher.search(&query, &Count)?)
        } else {
            let mut keys: Vec<(String, Order)> = req
                .sort
                .keys()
                .iter()
                .map(|(f, o)| {
                    let name = sort_field_name(*f, *o);
                    let order = match o {
                        SortOrder::Asc => Order::Asc,
                        SortOrder::Desc => Order::Desc,
                    };
                    (name, order)
                })
                .collect();
            let id = match entity {
                Entity::Workflow => Field::WorkflowId,
                Entity::Task => Field::TaskId,
            };
            keys.push((sort_field_name(id, SortOrder::Asc), Order::Asc));
            let top = TopDocs::with_limit(req.size).and_offset(req.start);
            sorted(&searcher, &query, top, &keys)?
        };
        let mut results = Vec::with_capacity(addresses.len());
        for addr in addresses {
            results.push(self.summary(&searcher, addr)?);
        }
        Ok(Hits {
            total_hits: total as u64,
            results,
        })
    }

    /// The workflow summaries of these executions, in the order given; ids not in the
    /// index are left out.
    pub fn workflows_by_id(&self, ids: &[String]) -> Result<Vec<WorkflowSummary>, SearchError> {
        let searcher = self.reader.searcher();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let q = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.kind, KIND_WORKFLOW),
                        IndexRecordOption::Basic,
                    )) as Box<dyn tantivy::query::Query>,
                ),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.workflow_id, id),
                        IndexRecordOption::Basic,
                    )),
                ),
            ]);
            let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
            if let Some((_, addr)) = top.first() {
                out.push(self.summary(&searcher, *addr)?);
            }
        }
        Ok(out)
    }

    fn summary<T: serde::de::DeserializeOwned>(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
    ) -> Result<T, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let bytes = doc
            .get_first(self.fields.summary)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| SearchError::Index("a document has no summary".into()))?;
        serde_json::from_slice(bytes)
            .map_err(|e| SearchError::Index(format!("a stored summary does not read: {e}")))
    }

    /// The document of one summary.
    fn document(
        &self,
        entity: Entity,
        record: &(impl Record + serde::Serialize),
    ) -> Result<TantivyDocument, SearchError> {
        let mut doc = TantivyDocument::new();
        let kind = match entity {
            Entity::Workflow => KIND_WORKFLOW,
            Entity::Task => KIND_TASK,
        };
        doc.add_text(self.fields.kind, kind);
        let mut text = String::new();
        for f in Field::all(entity) {
            let field = self.field(*f)?;
            match record.field(*f) {
                FieldValue::Null => {}
                FieldValue::Int(i) => {
                    if is_numeric(*f) {
                        doc.add_i64(field, i);
                    } else {
                        doc.add_text(field, i.to_string());
                    }
                }
                FieldValue::Str(s) => {
                    if is_numeric(*f) {
                        return Err(SearchError::Index(format!(
                            "field {} holds text {s:?} where a number belongs",
                            f.name()
                        )));
                    }
                    doc.add_text(field, &s);
                }
                FieldValue::Many(values) => {
                    for v in &values {
                        doc.add_text(field, v);
                    }
                    if let (true, Some(min), Some(max)) =
                        (multi_valued(*f), values.iter().min(), values.iter().max())
                    {
                        doc.add_text(self.field_named(&sort_min_name(*f))?, min);
                        doc.add_text(self.field_named(&sort_max_name(*f))?, max);
                    }
                }
            }
        }
        let json = serde_json::to_value(record)
            .map_err(|e| SearchError::Index(format!("a summary does not serialize: {e}")))?;
        free_text_of(&json, &mut text);
        doc.add_text(self.fields.text, &text);
        let bytes = serde_json::to_vec(&json)
            .map_err(|e| SearchError::Index(format!("a summary does not serialize: {e}")))?;
        doc.add_bytes(self.fields.summary, &bytes);
        Ok(doc)
    }

    fn field(&self, f: Field) -> Result<tantivy::schema::Field, SearchError> {
        self.field_named(f.name())
    }

    fn field_named(&self, name: &str) -> Result<tantivy::schema::Field, SearchError> {
        self.schema
            .get_field(name)
            .map_err(|_| SearchError::Index(format!("the index has no field {name}")))
    }

    /// The tantivy query of one expression.
    fn expr(&self, e: &Expr) -> Result<Box<dyn tantivy::query::Query>, SearchError> {
        Ok(match e {
            Expr::And(xs) => Box::new(BooleanQuery::new(
                xs.iter()
                    .map(|x| Ok((Occur::Must, self.expr(x)?)))
                    .collect::<Result<Vec<_>, SearchError>>()?,
            )),
            Expr::Or(xs) => Box::new(BooleanQuery::new(
                xs.iter()
                    .map(|x| Ok((Occur::Should, self.expr(x)?)))
                    .collect::<Result<Vec<_>, SearchError>>()?,
            )),
            Expr::Pred(p) => {
                let field = self.field(p.field)?;
                let term = |v: &Value| self.term(p.field, field, v);
                match &p.op {
                    Op::Eq(v) => Box::new(TermQuery::new(term(v)?, IndexRecordOption::Basic)),
                    Op::Ne(v) => Box::new(BooleanQuery::new(vec![
                        (
                            Occur::Must,
                            Box::new(AllQuery) as Box<dyn tantivy::query::Query>,
                        ),
                        (
                            Occur::MustNot,
                            Box::new(TermQuery::new(term(v)?, IndexRecordOption::Basic)),
                        ),
                    ])),
                    Op::Lt(v) => {
                        Box::new(RangeQuery::new(Bound::Unbounded, Bound::Excluded(term(v)?)))
                    }
                    Op::Gt(v) => {
                        Box::new(RangeQuery::new(Bound::Excluded(term(v)?), Bound::Unbounded))
                    }
                    Op::Between(a, b) => Box::new(RangeQuery::new(
                        Bound::Included(term(a)?),
                        Bound::Included(term(b)?),
                    )),
                    Op::In(vs) => {
                        if vs.is_empty() {
                            Box::new(EmptyQuery)
                        } else {
                            Box::new(TermSetQuery::new(
                                vs.iter().map(term).collect::<Result<Vec<_>, _>>()?,
                            ))
                        }
                    }
                    Op::IsNotNull => Box::new(ExistsQuery::new(p.field.name().to_string(), false)),
                    Op::IsNull => Box::new(BooleanQuery::new(vec![
                        (
                            Occur::Must,
                            Box::new(AllQuery) as Box<dyn tantivy::query::Query>,
                        ),
                        (
                            Occur::MustNot,
                            Box::new(ExistsQuery::new(p.field.name().to_string(), false)),
                        ),
                    ])),
                    Op::StartsWith(prefix) => {
                        if is_numeric(p.field) {
                            return Err(SearchError::InvalidArgument(format!(
                                "STARTS_WITH needs a text field; {} is a number",
                                p.field.name()
                            )));
                        }
                        let pattern = format!("{}.*", escape_regex(prefix));
                        Box::new(RegexQuery::from_pattern(&pattern, field).map_err(|e| {
                            SearchError::InvalidArgument(format!("STARTS_WITH {prefix:?}: {e}"))
                        })?)
                    }
                }
            }
        })
    }

    /// The term of a value in a field, in the field's type.
    fn term(
        &self,
        f: Field,
        field: tantivy::schema::Field,
        v: &Value,
    ) -> Result<Term, SearchError> {
        Ok(match (is_numeric(f), v) {
            (true, Value::Int(i)) => Term::from_field_i64(field, *i),
            (true, Value::Str(s)) => match s.trim().parse::<i64>() {
                Ok(i) => Term::from_field_i64(field, i),
                Err(_) => {
                    return Err(SearchError::InvalidArgument(format!(
                        "{} takes a number, found {s:?}",
                        f.name()
                    )));
                }
            },
            (false, Value::Str(s)) => Term::from_field_text(field, s),
            (false, Value::Int(i)) => Term::from_field_text(field, &i.to_string()),
        })
    }
}

/// Runs a sorted search with one to four sort keys (type-erased fast fields).
fn sorted(
    searcher: &tantivy::Searcher,
    query: &dyn tantivy::query::Query,
    top: TopDocs,
    keys: &[(String, Order)],
) -> Result<(Vec<DocAddress>, usize), SearchError> {
    let k = |i: usize| (SortByErasedType::for_field(&keys[i].0), keys[i].1);
    fn strip<K>(v: Vec<(K, DocAddress)>) -> Vec<DocAddress> {
        v.into_iter().map(|(_, a)| a).collect()
    }
    Ok(match keys.len() {
        1 => {
            let (v, n) = searcher.search(query, &(top.order_by(k(0)), Count))?;
            (strip(v), n)
        }
        2 => {
            let (v, n) = searcher.search(query, &(top.order_by((k(0), k(1))), Count))?;
            (strip(v), n)
        }
        3 => {
            let (v, n) = searcher.search(query, &(top.order_by((k(0), k(1), k(2))), Count))?;
            (strip(v), n)
        }
        4 => {
            let (v, n) =
                searcher.search(query, &(top.order_by((k(0), k(1), k(2), k(3))), Count))?;
            (strip(v), n)
        }
        n => {
            return Err(SearchError::InvalidArgument(format!(
                "at most {MAX_SORT_KEYS} sort keys may be given, found {}",
                n - 1
            )));
        }
    })
}

/// Refuses a page beyond the limits.
pub fn check_page(start: usize, size: usize) -> Result<(), SearchError> {
    if size > MAX_PAGE_SIZE {
        return Err(SearchError::InvalidArgument(format!(
            "size {size} is above the limit of {MAX_PAGE_SIZE}"
        )));
    }
    if start > MAX_START {
        return Err(SearchError::InvalidArgument(format!(
            "start {start} is beyond the deepest page start of {MAX_START}; narrow the query (for example by a time range) instead"
        )));
    }
    Ok(())
}

/// Appends the words free text finds a summary by: its string values (ids, names,
/// reasons) and, inside the input and output, every string, number and key.
fn free_text_of(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        serde_json::Value::Bool(b) => {
            out.push_str(if *b { "true\n" } else { "false\n" });
        }
        serde_json::Value::Array(xs) => xs.iter().for_each(|x| free_text_of(x, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.push_str(k);
                out.push('\n');
                free_text_of(x, out);
            }
        }
        serde_json::Value::Null => {}
    }
}

/// Escapes the characters a regular expression gives a meaning to.
fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
