//! The definition registry: workflow definitions, task definitions and event handlers,
//! kept in memory (shared, never copied per execution) and written through to the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use baton_core::event_handler::EventHandler;
use baton_core::{TaskDef, WorkflowDef};
use baton_store::Store;
use parking_lot::RwLock;

use crate::clock::SharedClock;
use crate::error::EngineError;

/// Task definitions by name: copy on write, so that a reader takes the whole map with one
/// pointer copy and a writer never blocks a batch in progress.
#[derive(Default)]
pub struct TaskDefs {
    map: RwLock<Arc<HashMap<String, Arc<TaskDef>>>>,
}

impl TaskDefs {
    /// A registry of these definitions.
    pub fn new(defs: impl IntoIterator<Item = TaskDef>) -> Self {
        Self {
            map: RwLock::new(Arc::new(
                defs.into_iter()
                    .map(|d| (d.name.clone(), Arc::new(d)))
                    .collect(),
            )),
        }
    }

    /// Every definition as of now.
    pub fn snapshot(&self) -> Arc<HashMap<String, Arc<TaskDef>>> {
        self.map.read().clone()
    }

    /// One definition.
    pub fn get(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.map.read().get(name).cloned()
    }

    /// Adds or replaces a definition.
    pub fn insert(&self, def: Arc<TaskDef>) {
        let mut g = self.map.write();
        Arc::make_mut(&mut g).insert(def.name.clone(), def);
    }

    /// Removes a definition.
    pub fn remove(&self, name: &str) {
        let mut g = self.map.write();
        Arc::make_mut(&mut g).remove(name);
    }
}

/// Workflow definitions, task definitions and event handlers.
pub struct Registry {
    store: Arc<dyn Store>,
    clock: SharedClock,
    task_defs: Arc<TaskDefs>,
    wf_defs: RwLock<HashMap<String, BTreeMap<i32, Arc<WorkflowDef>>>>,
    event_handlers: RwLock<BTreeMap<String, Arc<EventHandler>>>,
    /// Serialises event handler writes, so that "exists?" and "store" cannot interleave.
    handler_writes: tokio::sync::Mutex<()>,
}

/// Runs a store call off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, baton_store::StoreError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Storage(e.to_string()))?
        .map_err(EngineError::from)
}

impl Registry {
    /// Loads every definition and handler from the store.
    pub fn load(store: Arc<dyn Store>, clock: SharedClock) -> Result<Self, EngineError> {
        let task_defs = Arc::new(TaskDefs::new(store.list_task_defs()?));
        let mut wf_defs: HashMap<String, BTreeMap<i32, Arc<WorkflowDef>>> = HashMap::new();
        for d in store.list_workflow_defs()? {
            wf_defs
                .entry(d.name.clone())
                .or_default()
                .insert(d.version, Arc::new(d));
        }
        let handlers = store
            .list_event_handlers()?
            .into_iter()
            .map(|h| (h.name.clone(), Arc::new(h)))
            .collect();
        Ok(Self {
            store,
            clock,
            task_defs,
            wf_defs: RwLock::new(wf_defs),
            event_handlers: RwLock::new(handlers),
            handler_writes: tokio::sync::Mutex::new(()),
        })
    }

    /// The task definitions, shared with executors and the dispatcher.
    pub fn task_def_map(&self) -> &Arc<TaskDefs> {
        &self.task_defs
    }

    // ---- workflow definitions ----

    /// Stores a workflow definition (validated by the caller).
    pub async fn put_workflow_def(
        &self,
        mut def: WorkflowDef,
        overwrite: bool,
    ) -> Result<Arc<WorkflowDef>, EngineError> {
        let now = self.clock.now_ms();
        let existing = self.workflow_def(&def.name, Some(def.version));
        if let Some(old) = &existing {
            if !overwrite {
                return Err(EngineError::AlreadyExists(format!(
                    "workflow definition {} version {} already exists",
                    def.name, def.version
                )));
            }
            def.create_time = old.create_time.or(Some(now));
            def.update_time = Some(now);
        } else {
            def.create_time = def.create_time.or(Some(now));
        }
        let def = Arc::new(def);
        let (store, d) = (self.store.clone(), def.clone());
        blocking(move || store.put_workflow_def(&d, overwrite)).await?;
        self.wf_defs
            .write()
            .entry(def.name.clone())
            .or_default()
            .insert(def.version, def.clone());
        Ok(def)
    }

    /// A workflow definition: a version, or the latest.
    pub fn workflow_def(&self, name: &str, version: Option<i32>) -> Option<Arc<WorkflowDef>> {
        let g = self.wf_defs.read();
        let versions = g.get(name)?;
        match version {
            Some(v) => versions.get(&v).cloned(),
            None => versions.values().next_back().cloned(),
        }
    }

    /// A workflow definition, or NOT_FOUND naming what was asked for.
    pub fn require_workflow_def(
        &self,
        name: &str,
        version: Option<i32>,
    ) -> Result<Arc<WorkflowDef>, EngineError> {
        self.workflow_def(name, version)
            .ok_or_else(|| not_found_def(name, version))
    }

    /// Every workflow definition, by name then version.
    pub fn workflow_defs(&self) -> Vec<Arc<WorkflowDef>> {
        let g = self.wf_defs.read();
        let mut names: Vec<&String> = g.keys().collect();
        names.sort();
        names
            .into_iter()
            .flat_map(|n| g[n].values().cloned())
            .collect()
    }

    /// Deletes one version of a workflow definition.
    pub async fn delete_workflow_def(&self, name: &str, version: i32) -> Result<(), EngineError> {
        let (store, n) = (self.store.clone(), name.to_string());
        let found = blocking(move || store.delete_workflow_def(&n, version)).await?;
        if !found {
            return Err(EngineError::NotFound(format!(
                "workflow definition {name} version {version} does not exist"
            )));
        }
        let mut g = self.wf_defs.write();
        if let Some(vs) = g.get_mut(name) {
            vs.remove(&version);
            if vs.is_empty() {
                g.remove(name);
            }
        }
        Ok(())
    }

    // ---- task definitions ----

    /// Creates or replaces task definitions (validated by the caller).
    pub async fn put_task_defs(
        &self,
        defs: Vec<TaskDef>,
    ) -> Result<Vec<Arc<TaskDef>>, EngineError> {
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        for mut def in defs {
            match self.task_defs.get(&def.name) {
                Some(o) => {
                    def.create_time = o.create_time.or(Some(now));
                    def.update_time = Some(now);
                }
                None => def.create_time = def.create_time.or(Some(now)),
            }
            let def = Arc::new(def);
            let (store, d) = (self.store.clone(), def.clone());
            blocking(move || store.put_task_def(&d)).await?;
            self.task_defs.insert(def.clone());
            out.push(def);
        }
        Ok(out)
    }

    /// A task definition.
    pub fn task_def(&self, name: &str) -> Option<Arc<TaskDef>> {
        self.task_defs.get(name)
    }

    /// Every task definition, by name.
    pub fn task_defs(&self) -> Vec<Arc<TaskDef>> {
        let mut v: Vec<_> = self.task_defs.snapshot().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Deletes a task definition.
    pub async fn delete_task_def(&self, name: &str) -> Result<(), EngineError> {
        let (store, n) = (self.store.clone(), name.to_string());
        let found = blocking(move || store.delete_task_def(&n)).await?;
        if !found {
            return Err(EngineError::NotFound(format!(
                "task definition {name} does not exist"
            )));
        }
        self.task_defs.remove(name);
        Ok(())
    }

    // ---- event handlers ----

    /// Stores a new event handler (validated by the caller); ALREADY_EXISTS when one has
    /// its name.
    pub async fn add_event_handler(
        &self,
        handler: EventHandler,
    ) -> Result<Arc<EventHandler>, EngineError> {
        let _guard = self.handler_writes.lock().await;
        if self.event_handler(&handler.name).is_some() {
            return Err(EngineError::AlreadyExists(format!(
                "event handler {} already exists",
                handler.name
            )));
        }
        self.store_event_handler(handler).await
    }

    /// Replaces an existing event handler (validated by the caller), found by name.
    pub async fn update_event_handler(
        &self,
        handler: EventHandler,
    ) -> Result<Arc<EventHandler>, EngineError> {
        let _guard = self.handler_writes.lock().await;
        if self.event_handler(&handler.name).is_none() {
            return Err(EngineError::NotFound(format!(
                "event handler {} does not exist",
                handler.name
            )));
        }
        self.store_event_handler(handler).await
    }

    async fn store_event_handler(
        &self,
        handler: EventHandler,
    ) -> Result<Arc<EventHandler>, EngineError> {
        let handler = Arc::new(handler);
        let (store, h) = (self.store.clone(), handler.clone());
        blocking(move || store.put_event_handler(&h)).await?;
        self.event_handlers
            .write()
            .insert(handler.name.clone(), handler.clone());
        Ok(handler)
    }

    /// Deletes an event handler by name.
    pub async fn delete_event_handler(&self, name: &str) -> Result<(), EngineError> {
        let _guard = self.handler_writes.lock().await;
        let (store, n) = (self.store.clone(), name.to_string());
        let found = blocking(move || store.delete_event_handler(&n)).await?;
        if !found {
            return Err(EngineError::NotFound(format!(
                "event handler {name} does not exist"
            )));
        }
        self.event_handlers.write().remove(name);
        Ok(())
    }

    /// One event handler by name.
    pub fn event_handler(&self, name: &str) -> Option<Arc<EventHandler>> {
        self.event_handlers.read().get(name).cloned()
    }

    /// Event handlers ordered by name: all, or those of `event`; only active ones when
    /// `active_only`.
    pub fn event_handlers(&self, event: Option<&str>, active_only: bool) -> Vec<Arc<EventHandler>> {
        self.event_handlers
            .read()
            .values()
            .filter(|h| event.is_none_or(|e| h.handles(e)) && (h.active || !active_only))
            .cloned()
            .collect()
    }
}

/// NOT_FOUND for a workflow definition (a version of it, or any).
pub(crate) fn not_found_def(name: &str, version: Option<i32>) -> EngineError {
    EngineError::NotFound(match version {
        Some(v) => format!("workflow definition {name} version {v} does not exist"),
        None => format!("workflow definition {name} does not exist"),
    })
}
