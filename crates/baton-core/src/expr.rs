//! `${...}` parameter expressions over a document of `workflow` and task references.

use serde_json::Value;

use crate::model::Object;

/// Where expression roots come from: `workflow` or a task reference name.
pub trait Scope {
    /// The JSON document for a root name (`workflow`, or a task ref), if there is one.
    fn root(&self, name: &str) -> Option<Value>;
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

/// Resolves every expression in an input template.
pub fn resolve(template: &Object, scope: &dyn Scope) -> Result<Object, ExprError> {
    let _ = (template, scope);
    unimplemented!("expr::resolve")
}

/// Resolves every expression in one JSON value.
pub fn resolve_value(value: &Value, scope: &dyn Scope) -> Result<Value, ExprError> {
    let _ = (value, scope);
    unimplemented!("expr::resolve_value")
}
