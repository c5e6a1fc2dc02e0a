//! Search over executions and tasks: Conductor's query language, free text, sort and
//! paging, answered from the search index.

use baton_core::query::{Entity, Query, SortSpec, TaskSummary, WorkflowSummary};
use baton_search::{Hits, MAX_PAGE_SIZE, SearchError, SearchIndex, SearchRequest};

use super::Service;
use crate::error::EngineError;

/// Task hits read at most to answer a search of workflows by their tasks.
pub const MAX_TASK_HITS_FOR_WORKFLOWS: usize = 10_000;

/// A search as the APIs receive it: text still to parse.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    /// The query (`field OP value` joined by AND/OR); empty matches everything.
    pub query: String,
    /// Free text over ids, inputs, outputs and failure reasons; empty or `*` matches all.
    pub free_text: String,
    /// Sort keys, each `field[:ASC|DESC]`, also several joined by `|` or `,`.
    pub sort: Vec<String>,
    /// Results to skip.
    pub start: usize,
    /// Results to return (at most 5,000).
    pub size: usize,
}

impl From<SearchError> for EngineError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::InvalidArgument(m) => EngineError::InvalidArgument(m),
            SearchError::Index(m) => EngineError::Storage(m),
        }
    }
}

impl Service {
    /// Searches executions.
    pub async fn search_workflows(
        &self,
        params: SearchParams,
    ) -> Result<Hits<WorkflowSummary>, EngineError> {
        let req = request(Entity::Workflow, &params)?;
        self.with_index(move |ix| ix.search_workflows(&req)).await
    }

    /// Searches task instances (each retry is an instance of its own).
    pub async fn search_tasks(
        &self,
        params: SearchParams,
    ) -> Result<Hits<TaskSummary>, EngineError> {
        let req = request(Entity::Task, &params)?;
        self.with_index(move |ix| ix.search_tasks(&req)).await
    }

    /// Searches executions by their tasks: the query and sort name task fields; the
    /// answer lists each execution once, in the order of its first matching task. At most
    /// [`MAX_TASK_HITS_FOR_WORKFLOWS`] task hits are read; `totalHits` counts the
    /// executions among them.
    pub async fn search_workflows_by_tasks(
        &self,
        params: SearchParams,
    ) -> Result<Hits<WorkflowSummary>, EngineError> {
        let mut req = request(Entity::Task, &params)?;
        let (start, size) = (req.start, req.size);
        req.start = 0;
        self.with_index(move |ix| {
            let mut ids: Vec<String> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let mut offset = 0;
            while offset < MAX_TASK_HITS_FOR_WORKFLOWS {
                req.start = offset;
                req.size = MAX_PAGE_SIZE.min(MAX_TASK_HITS_FOR_WORKFLOWS - offset);
                let page = ix.search_tasks(&req)?;
                let n = page.results.len();
                for t in page.results {
                    if seen.insert(t.workflow_id.clone()) {
                        ids.push(t.workflow_id);
                    }
                }
                offset += n;
                if n < req.size || offset as u64 >= page.total_hits {
                    break;
                }
            }
            let total_hits = ids.len() as u64;
            let page: Vec<String> = ids.into_iter().skip(start).take(size).collect();
            let results = ix.workflows_by_id(&page)?;
            Ok(Hits {
                total_hits,
                results,
            })
        })
        .await
    }

    /// Whether the search index holds every execution stored when the server started
    /// (false while it is being rebuilt).
    pub fn search_caught_up(&self) -> bool {
        self.rt.indexer.caught_up()
    }

    async fn with_index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SearchIndex) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, EngineError> {
        let index = self.rt.indexer.index().clone();
        tokio::task::spawn_blocking(move || f(&index))
            .await
            .map_err(|e| EngineError::Storage(format!("search failed: {e}")))?
            .map_err(EngineError::from)
    }
}

/// Parses and checks a search.
fn request(entity: Entity, p: &SearchParams) -> Result<SearchRequest, EngineError> {
    let query = Query::parse(entity, &p.query)
        .map_err(|e| EngineError::InvalidArgument(format!("query: {e}")))?;
    let sort = SortSpec::parse(entity, &p.sort)
        .map_err(|e| EngineError::InvalidArgument(format!("sort: {e}")))?;
    baton_search::check_page(p.start, p.size)?;
    Ok(SearchRequest {
        query,
        free_text: p.free_text.clone(),
        sort,
        start: p.start,
        size: p.size,
    })
}
