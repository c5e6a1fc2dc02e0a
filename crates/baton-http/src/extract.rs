//! Request decoding with Conductor's error body on every mistake: JSON bodies (naming the
//! field that is wrong), query strings, and the boolean spellings clients send.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; an empty one is refused.
pub struct Body<T>(pub T);

/// A JSON body that may be absent (empty, or `{}` where nothing is expected).
pub struct OptBody<T>(pub Option<T>);

async fn bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        let err = ApiError::new(e.status(), e.body_text());
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            err.closing()
        } else {
            err
        }
    })
}

/// Decodes JSON, naming the field at fault.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path == "?" || path.is_empty() {
            ApiError::bad_request(format!("request body is not valid: {inner}"))
        } else {
            ApiError::field(&path, inner.to_string())
        }
    })
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let b = bytes(req, state).await?;
        if is_blank(&b) {
            return Err(ApiError::bad_request("a JSON request body is required"));
        }
        decode(&b).map(Body)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let b = bytes(req, state).await?;
        if is_blank(&b) {
            return Ok(OptBody(None));
        }
        decode(&b).map(|v| OptBody(Some(v)))
    }
}

/// A query string decoded into `T`.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Every `key=value` pair of a query string, repeated keys included, in order.
pub struct Pairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Pairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(Pairs)
            .map_err(|e| ApiError::bad_request(format!("query string: {e}")))
    }
}

/// A boolean query parameter: `true`/`false` in any case (`True` and `False` too), `1`/`0`;
/// absent or empty means `default`.
pub fn flag(value: Option<&str>, name: &str, default: bool) -> Result<bool, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        Some(v) => Err(ApiError::field(
            name,
            format!("{v:?} is not a boolean (true or false)"),
        )),
    }
}

/// An integer query parameter; absent or empty means None.
pub fn int<N: std::str::FromStr>(value: Option<&str>, name: &str) -> Result<Option<N>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::field(name, format!("{v:?} is not a whole number in range"))),
    }
}
