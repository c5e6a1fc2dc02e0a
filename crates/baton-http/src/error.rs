//! Errors as Conductor writes them: a JSON body with the HTTP status, a code, the message
//! and whether a retry may help.

use axum::Json;
use axum::http::{HeaderMap, HeaderName, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use baton_server::{EngineError, ErrorKind};

use crate::model::{ErrorBody, ValidationError};

/// An HTTP API error: a status and what went wrong.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    validation: Vec<ValidationError>,
    /// The request body was left unread: the connection cannot carry another request.
    close: bool,
}

impl ApiError {
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            validation: Vec::new(),
            close: false,
        }
    }

    /// 400 naming the field that is wrong.
    pub fn field(path: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            message: format!("{path}: {message}"),
            validation: vec![ValidationError {
                path: path.to_string(),
                message,
                invalid_value: None,
            }],
            close: false,
        }
    }

    /// Marks the connection as done after this answer (the body was not read to its end,
    /// so the client must not send another request on it).
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// Names the fields at fault.
    pub fn set_validation(&mut self, fields: Vec<ValidationError>) {
        self.validation = fields;
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The HTTP status of an error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::new(status_of(e.kind()), e.to_string())
    }
}

fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "INVALID_INPUT",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        StatusCode::TOO_MANY_REQUESTS => "TOO_MANY_REQUESTS",
        StatusCode::SERVICE_UNAVAILABLE => "UNAVAILABLE",
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::FORBIDDEN => "PERMISSION_DENIED",
        _ => "INTERNAL_ERROR",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retryable = matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        let body = ErrorBody {
            status: self.status.as_u16(),
            code: code_of(self.status).to_string(),
            message: self.message,
            instance: hostname(),
            retryable,
            validation_errors: self.validation,
        };
        let mut resp = (self.status, Json(body)).into_response();
        if self.close {
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        resp
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "baton".to_string())
}

/// The answer for a path no route serves: Conductor's error body with 404; a gRPC call
/// to a method no service has gets gRPC's own UNIMPLEMENTED.
pub async fn not_found_route(headers: HeaderMap, uri: Uri) -> Response {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        return (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/grpc".to_string()),
                (HeaderName::from_static("grpc-status"), "12".to_string()),
                (
                    HeaderName::from_static("grpc-message"),
                    format!("no such method: {}", uri.path()),
                ),
            ],
        )
            .into_response();
    }
    ApiError::not_found(format!("no such endpoint: {}", uri.path())).into_response()
}
