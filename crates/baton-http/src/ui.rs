//! The admin web UI: the files the front end (`ui/`) builds to `ui/dist`, embedded in the
//! binary and served at `/`. Paths the UI routes itself (`/executions/...`) get its
//! `index.html`; hashed assets are cached for good, the page itself never.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

/// The built front end, embedded at compile time.
#[derive(Embed)]
#[folder = "../../ui/dist"]
struct Assets;

/// Where the UI's files come from.
#[derive(Debug, Clone, Default)]
pub enum UiSource {
    /// The files embedded in the binary.
    #[default]
    Embedded,
    /// A directory read at each request (for working on the UI without rebuilding).
    Dir(PathBuf),
}

/// One file to answer with.
struct File {
    bytes: Vec<u8>,
    mime: String,
    etag: String,
}

impl UiSource {
    async fn file(&self, path: &str) -> Option<File> {
        match self {
            UiSource::Embedded => {
                let f = Assets::get(path)?;
                let hash: String = f.metadata.sha256_hash()[..12]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Some(File {
                    mime: f.metadata.mimetype().to_string(),
                    bytes: f.data.into_owned(),
                    etag: format!("\"{hash}\""),
                })
            }
            UiSource::Dir(dir) => {
                let rel = Path::new(path);
                if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
                    return None;
                }
                let full = dir.join(rel);
                let bytes = tokio::fs::read(&full).await.ok()?;
                let etag = format!("\"{:x}-{}\"", bytes.len(), fnv(&bytes));
                Some(File {
                    mime: mime_guess::from_path(&full)
                        .first_or_octet_stream()
                        .to_string(),
                    bytes,
                    etag,
                })
            }
        }
    }
}

/// A cheap content hash for files read from a directory.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether a request is for the UI: a GET or HEAD outside the API, not a gRPC call.
pub(crate) fn is_ui_request(method: &Method, headers: &HeaderMap, uri: &Uri) -> bool {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/") || path == "/metrics";
    (method == Method::GET || method == Method::HEAD) && !grpc && !api
}

/// Answers a UI request: the file asked for, or the UI's page for a route of its own.
pub(crate) async fn serve(source: &UiSource, headers: &HeaderMap, uri: &Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let (file, asset) = match source.file(path).await {
        Some(f) if !path.is_empty() => (f, path.starts_with("assets/")),
        _ => {
            // A file-like path that is missing is a 404; anything else is a UI route.
            let last = path.rsplit('/').next().unwrap_or("");
            if path.starts_with("assets/") || last.contains('.') {
                return (StatusCode::NOT_FOUND, "no such file").into_response();
            }
            match source.file("index.html").await {
                Some(f) => (f, false),
                None => {
                    return (
                        StatusCode::NOT_FOUND,
                        "this server was built without its web UI",
                    )
                        .into_response();
                }
            }
        }
    };
    let cache = if asset {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == file.etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.bytes))
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&file.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}
