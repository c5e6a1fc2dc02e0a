//! Conductor's HTTP task.
//!
//! The task input holds the request under `http_request`:
//!
//! ```json
//! {"http_request": {"uri": "https://example.com/api", "method": "POST",
//!                   "headers": {"X-Token": "abc"}, "body": {"a": 1},
//!                   "contentType": "application/json", "accept": "application/json",
//!                   "connectionTimeOut": 3000, "readTimeOut": 3000},
//!  "asyncComplete": false}
//! ```
//!
//! When `http_request` is absent the same keys are read from the top level of the input, as
//! newer Conductor versions allow. `method` defaults to GET; `contentType` and `accept`
//! default to `application/json` (`accept` may also be a list); `headers` values that are not
//! strings are sent as their JSON text, `null` ones are skipped, and they replace the
//! `Content-Type`/`Accept` derived from `contentType`/`accept`. A body is sent as JSON when
//! the content type is a JSON type; otherwise a string body is sent as it is and any other
//! body as its JSON text. A `null` or absent body sends no body.
//!
//! The output is `{"response": {"headers": {name: [values]}, "statusCode": n,
//! "reasonPhrase": "OK", "body": ...}}` where the body is the parsed JSON when the response
//! text is JSON, else the text (`null` when empty), and header names are in lower case. A 2xx
//! status completes the task; with `asyncComplete: true` beside `http_request` it stays
//! IN_PROGRESS instead ([`Outcome::InProgress`]) until an external update completes it, for
//! services that call back when their work is done.
//!
//! Failures are retryable and keep their error text in the output, as in Conductor (whose
//! HTTP client raises an error for a 4xx or 5xx status and records its text as
//! `output.response`): a 4xx or 5xx status, or a transport problem (bad URI, unknown method,
//! refused connection, timeouts, a body over [`HttpLimits::max_response_bytes`]), fails the
//! task with a reason that says what happened (for a status, the status and the start of
//! the body), and the output is `{"response": "<that reason>"}`. Any other status that is
//! not 2xx (1xx, 3xx) fails it with the response object in the output. An input without a
//! `uri` fails before any call, with an empty output.
//!
//! Timeouts: `connectionTimeOut` and `readTimeOut` are milliseconds (numbers or numeric
//! strings; absent or 0 means the [`HttpLimits`] default, and values are capped at
//! [`HttpLimits::max_timeout`]). Connections come from the shared client's pool, so the
//! connection timeout cannot be applied to the connect step alone: the response head must
//! arrive within `connectionTimeOut + readTimeOut`, and then every chunk of the body within
//! `readTimeOut` of the previous one.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, Method, Url};
use serde_json::{Map, Value};

use crate::Outcome;

/// How much of a failed response's body a failure reason quotes, in characters.
const REASON_BODY_CHARS: usize = 512;

/// The reason given for an input without a `uri`.
const NO_URI: &str = "HTTP task input has no 'uri' (a non-empty string is required)";

/// Limits and defaults for HTTP tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connection timeout when the input gives none.
    pub connect_timeout: Duration,
    /// Read timeout when the input gives none.
    pub read_timeout: Duration,
    /// Largest timeout the input may ask for; larger values are capped to it.
    pub max_timeout: Duration,
    /// Largest response body accepted; a larger one fails the task.
    pub max_response_bytes: usize,
}

impl Default for HttpLimits {
    /// 10 s to connect, 30 s to read, at most 5 minutes each, 4 MiB of body.
    fn default() -> Self {
        HttpLimits {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_timeout: Duration::from_secs(300),
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Why the shared HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The TLS configuration (crypto provider, platform certificate verifier) failed.
    #[error("cannot set up TLS for HTTP tasks: {0}")]
    Tls(String),
    /// The HTTP client itself failed to build.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Builds the client HTTP tasks should share: rustls with the ring crypto provider and the
/// platform's certificate verifier, HTTP/1.1 and HTTP/2, proxies from the usual environment
/// variables, and a TCP connect timeout of `limits.connect_timeout`.
///
/// Build it once and pass it to every [`call`]; it pools connections. (A plain
/// `reqwest::Client::new()` does not work with this crate's TLS set-up: it has no default
/// crypto provider.)
pub fn default_client(limits: &HttpLimits) -> Result<Client, HttpError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Tls(e.to_string()))?
        .with_platform_verifier()
        .map_err(|e| HttpError::Tls(e.to_string()))?
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(limits.connect_timeout)
        .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| HttpError::Client(error_chain(&e)))
}

/// A request read from the task input.
struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    connect_timeout: Duration,
    read_timeout: Duration,
}

/// Runs Conductor's HTTP task on its resolved input (see the module docs).
pub async fn call(client: &Client, input: &Map<String, Value>, limits: &HttpLimits) -> Outcome {
    let request = match parse_request(input, limits) {
        Ok(request) => request,
        // As in Conductor, nothing was called: the output stays empty.
        Err(reason) if reason == NO_URI => {
            return Outcome::Failed {
                reason,
                output: Map::new(),
                terminal: false,
            };
        }
        Err(reason) => return transport_failure(reason),
    };
    let async_complete = match input.get("asyncComplete") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    // Failure reasons name the request, without any credentials in the URL.
    let mut shown = request.url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    let what = format!("{} {shown}", request.method);
    let head_timeout = request.connect_timeout + request.read_timeout;
    let mut builder = client
        .request(request.method.clone(), request.url.clone())
        .headers(request.headers);
    if let Some(body) = request.body {
        builder = builder.body(body);
    }
    let mut response = match tokio::time::timeout(head_timeout, builder.send()).await {
        Err(_) => {
            return transport_failure(format!(
                "{what}: no response within {} ms (connectionTimeOut + readTimeOut)",
                head_timeout.as_millis()
            ));
        }
        Ok(Err(e)) if e.is_connect() => {
            return transport_failure(format!("{what}: cannot connect: {}", error_chain(&e)));
        }
        Ok(Err(e)) => {
            return transport_failure(format!("{what}: request failed: {}", error_chain(&e)));
        }
        Ok(Ok(response)) => response,
    };

    let status = response.status();
    let headers = headers_json(response.headers());
    let response_json = |body: Value| {
        let mut r = Map::new();
        r.insert("headers".to_owned(), headers.clone());
        r.insert("statusCode".to_owned(), Value::from(status.as_u16()));
        r.insert(
            "reasonPhrase".to_owned(),
            Value::from(status.canonical_reason().unwrap_or("")),
        );
        r.insert("body".to_owned(), body);
        let mut output = Map::new();
        output.insert("response".to_owned(), Value::Object(r));
        output
    };

    let too_large = |size: String| {
        transport_failure(format!(
            "{what}: response body of {size} bytes is over the limit of {} bytes (HTTP {status})",
            limits.max_response_bytes
        ))
    };
    if let Some(length) = response.content_length()
        && length > limits.max_response_bytes as u64
    {
        return too_large(length.to_string());
    }
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        match tokio::time::timeout(request.read_timeout, response.chunk()).await {
            Err(_) => {
                return transport_failure(format!(
                    "{what}: response body stalled for more than {} ms (readTimeOut)",
                    request.read_timeout.as_millis()
                ));
            }
            Ok(Err(e)) => {
                return transport_failure(format!(
                    "{what}: reading the response body failed: {}",
                    error_chain(&e)
                ));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => {
                if bytes.len() + chunk.len() > limits.max_response_bytes {
                    return too_large(format!("more than {}", limits.max_response_bytes));
                }
                bytes.extend_from_slice(&chunk);
            }
        }
    }

    let body = body_json(&bytes);
    let output = response_json(body);
    if status.is_success() {
        if async_complete {
            Outcome::InProgress(output)
        } else {
            Outcome::Completed(output)
        }
    } else {
        let text = String::from_utf8_lossy(&bytes);
        let mut excerpt: String = text.chars().take(REASON_BODY_CHARS).collect();
        if text.chars().nth(REASON_BODY_CHARS).is_some() {
            excerpt.push_str("...");
        }
        let reason = if excerpt.trim().is_empty() {
            format!("{what}: HTTP {status} with an empty body")
        } else {
            format!("{what}: HTTP {status}: {excerpt}")
        };
        if status.is_client_error() || status.is_server_error() {
            return transport_failure(reason);
        }
        Outcome::Failed {
            reason,
            output,
            terminal: false,
        }
    }
}

/// A failed call: retryable, with the reason as `output.response` too.
fn transport_failure(reason: String) -> Outcome {
    let mut output = Map::new();
    output.insert("response".to_owned(), Value::from(reason.as_str()));
    Outcome::Failed {
        reason,
        output,
        terminal: false,
    }
}

/// Reads the request from `http_request` or, when that is absent, from the input itself.
fn parse_request(input: &Map<String, Value>, limits: &HttpLimits) -> Result<Request, String> {
    let spec = match input.get("http_request") {
        Some(Value::Object(spec)) => spec,
        None | Some(Value::Null) => input,
        Some(other) => {
            return Err(format!(
                "HTTP task input 'http_request' must be an object, not {other}"
            ));
        }
    };
    let uri = match spec.get("uri") {
        Some(Value::String(uri)) if !uri.trim().is_empty() => uri.trim(),
        _ => {
            return Err(NO_URI.to_owned());
        }
    };
    let url =
        Url::parse(uri).map_err(|e| format!("HTTP task 'uri' {uri:?} is not a valid URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "HTTP task 'uri' {uri:?} must use http or https, not {}",
            url.scheme()
        ));
    }
    let method = match spec.get("method") {
        None | Some(Value::Null) => Method::GET,
        Some(Value::String(m)) => match m.trim().to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "DELETE" => Method::DELETE,
            "PATCH" => Method::PATCH,
            "HEAD" => Method::HEAD,
            "OPTIONS" => Method::OPTIONS,
            "TRACE" => Method::TRACE,
            _ => {
                return Err(format!(
                    "HTTP task 'method' {m:?} is not supported; use GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS or TRACE"
                ));
            }
        },
        Some(other) => return Err(format!("HTTP task 'method' must be a string, not {other}")),
    };
    let content_type = match spec.get("contentType") {
        None | Some(Value::Null) => "application/json".to_owned(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(other) => {
            return Err(format!(
                "HTTP task 'contentType' must be a non-empty string, not {other}"
            ));
        }
    };
    let accept = match spec.get("accept") {
        None | Some(Value::Null) => "application/json".to_owned(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.trim().to_owned()),
                other => Err(format!(
                    "HTTP task 'accept' entries must be strings, not {other}"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(", "),
        Some(other) => {
            return Err(format!(
                "HTTP task 'accept' must be a string or a list of strings, not {other}"
            ));
        }
    };

    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&content_type).map_err(|_| {
            format!("HTTP task 'contentType' {content_type:?} is not a valid header value")
        })?,
    );
    headers.insert(
        ACCEPT,
        HeaderValue::from_str(&accept)
            .map_err(|_| format!("HTTP task 'accept' {accept:?} is not a valid header value"))?,
    );
    match spec.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            for (name, value) in given {
                let text = match value {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let header = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("HTTP task header name {name:?} is not valid"))?;
                let value = HeaderValue::from_str(&text)
                    .map_err(|_| format!("HTTP task header {name:?} has an invalid value"))?;
                headers.insert(header, value);
            }
        }
        Some(other) => {
            return Err(format!(
                "HTTP task 'headers' must be an object, not {other}"
            ));
        }
    }

    let json_body = is_json_type(&content_type);
    let body = match spec.get("body") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !json_body => Some(text.clone().into_bytes()),
        Some(value) => Some(
            serde_json::to_vec(value).map_err(|e| format!("HTTP task 'body' is not JSON: {e}"))?,
        ),
    };

    Ok(Request {
        method,
        url,
        headers,
        body,
        connect_timeout: timeout(spec, "connectionTimeOut", limits.connect_timeout, limits)?,
        read_timeout: timeout(spec, "readTimeOut", limits.read_timeout, limits)?,
    })
}

/// True for `application/json`, `application/problem+json`, `text/json` and the like.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.ends_with("/json") || essence.ends_with("+json")
}

/// A timeout in milliseconds from the input: a number or numeric string; absent, `null` or
/// 0 mean the default; capped at the limit.
fn timeout(
    spec: &Map<String, Value>,
    key: &str,
    default: Duration,
    limits: &HttpLimits,
) -> Result<Duration, String> {
    let millis = match spec.get(key) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match millis {
        Some(0.0) => Ok(default),
        Some(ms) if ms > 0.0 && ms.is_finite() => {
            Ok(Duration::from_secs_f64(ms / 1000.0).min(limits.max_timeout))
        }
        _ => Err(format!(
            "HTTP task '{key}' must be a positive number of milliseconds, not {}",
            spec.get(key).map_or_else(String::new, Value::to_string)
        )),
    }
}

/// Response headers as `{name: [values...]}`, names in lower case in the order first seen.
fn headers_json(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for (name, value) in headers {
        let value = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        if let Value::Array(values) = out
            .entry(name.as_str().to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(value);
        }
    }
    Value::Object(out)
}

/// The response body: parsed JSON when it is JSON, else the text, `null` when empty.
fn body_json(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// An error with its chain of causes, `outer: inner: innermost`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn reads_the_nested_and_the_flat_form() {
        let limits = HttpLimits::default();
        let nested = parse_request(
            &map(json!({"http_request": {"uri": "http://h/x", "method": "post", "readTimeOut": "1500"}})),
            &limits,
        )
        .unwrap();
        assert_eq!(nested.method, Method::POST);
        assert_eq!(nested.read_timeout, Duration::from_millis(1500));
        assert_eq!(nested.connect_timeout, limits.connect_timeout);
        let flat = parse_request(&map(json!({"uri": "https://h/y"})), &limits).unwrap();
        assert_eq!(flat.method, Method::GET);
        assert_eq!(flat.url.as_str(), "https://h/y");
        assert_eq!(flat.headers[ACCEPT], "application/json");
    }

    #[test]
    fn rejects_bad_requests_with_a_reason() {
        let limits = HttpLimits::default();
        let reason = |v: Value| parse_request(&map(v), &limits).err().unwrap();
        assert!(reason(json!({})).contains("'uri'"));
        assert!(reason(json!({"uri": "not a url"})).contains("not a valid URL"));
        assert!(reason(json!({"uri": "ftp://h/"})).contains("http or https"));
        assert!(reason(json!({"uri": "http://h/", "method": "FETCH"})).contains("FETCH"));
        assert!(reason(json!({"uri": "http://h/", "readTimeOut": -5})).contains("readTimeOut"));
        assert!(
            reason(json!({"uri": "http://h/", "headers": {"bad name": "x"}})).contains("bad name")
        );
        assert!(reason(json!({"http_request": "http://h/"})).contains("must be an object"));
    }

    #[test]
    fn bodies_follow_the_content_type() {
        let limits = HttpLimits::default();
        let body = |v: Value| parse_request(&map(v), &limits).unwrap().body;
        assert_eq!(
            body(json!({"uri": "http://h/", "body": "x"})),
            Some(b"\"x\"".to_vec())
        );
        assert_eq!(
            body(json!({"uri": "http://h/", "body": "x", "contentType": "text/plain"})),
            Some(b"x".to_vec())
        );
        assert_eq!(
            body(json!({"uri": "http://h/", "body": {"a": 1}, "contentType": "text/plain"})),
            Some(b"{\"a\":1}".to_vec())
        );
        assert_eq!(body(json!({"uri": "http://h/"})), None);
        assert!(is_json_type("application/vnd.api+json; charset=utf-8"));
        assert!(!is_json_type("text/plain"));
    }

    #[test]
    fn timeouts_are_capped() {
        let limits = HttpLimits::default();
        let request = parse_request(
            &map(json!({"uri": "http://h/", "connectionTimeOut": 1e12, "readTimeOut": 0})),
            &limits,
        )
        .unwrap();
        assert_eq!(request.connect_timeout, limits.max_timeout);
        assert_eq!(request.read_timeout, limits.read_timeout);
    }
}
