//! The HTTP task against servers the tests start on the loopback interface.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{any, get};
use baton_systask::Outcome;
use baton_systask::http::{self, HttpLimits};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn echo(method: axum::http::Method, headers: HeaderMap, body: String) -> impl IntoResponse {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| Value::from(v.to_str().unwrap_or("?")))
            .unwrap_or(Value::Null)
    };
    axum::Json(json!({
        "method": method.as_str(),
        "body": body,
        "contentType": header("content-type"),
        "accept": header("accept"),
        "custom": header("x-custom"),
        "number": header("x-number"),
    }))
}

async fn start_server() -> SocketAddr {
    let app = Router::new()
        .route(
            "/json",
            get(|| async {
                (
                    AppendHeaders([("x-multi", "a"), ("x-multi", "b")]),
                    axum::Json(json!({"hello": "world", "n": 1})),
                )
            }),
        )
        .route("/echo", any(echo))
        .route(
            "/missing",
            get(|| async { (StatusCode::NOT_FOUND, "no such thing here") }),
        )
        .route(
            "/boom",
            get(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({"error": "database unavailable"})),
                )
            }),
        )
        .route(
            "/text",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "plain words") }),
        )
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/unchanged",
            get(|| async { (StatusCode::NOT_MODIFIED, "") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { "x".repeat(300 * 1024) }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// A raw server that answers every connection with `head`, then writes `body` in pieces of
/// `piece` bytes, pausing `pause` between pieces, then closes.
async fn start_raw_server(
    head: &'static str,
    body: Vec<u8>,
    piece: usize,
    pause: Duration,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for chunk in body.chunks(piece) {
                    if socket.write_all(chunk).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(pause).await;
                }
            });
        }
    });
    addr
}

fn limits() -> HttpLimits {
    HttpLimits {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        max_timeout: Duration::from_secs(30),
        max_response_bytes: 256 * 1024,
    }
}

async fn call(input: Value) -> Outcome {
    let limits = limits();
    let client = http::default_client(&limits).unwrap();
    http::call(&client, &obj(input), &limits).await
}

fn response(outcome: &Outcome) -> &Value {
    &outcome.output()["response"]
}

#[tokio::test]
async fn get_with_a_json_response() {
    let addr = start_server().await;
    let outcome = call(json!({"http_request": {"uri": format!("http://{addr}/json")}})).await;
    let Outcome::Completed(output) = &outcome else {
        panic!("expected completion, got {outcome:?}")
    };
    let response = &output["response"];
    assert_eq!(response["statusCode"], json!(200));
    assert_eq!(response["reasonPhrase"], json!("OK"));
    assert_eq!(response["body"], json!({"hello": "world", "n": 1}));
    assert_eq!(response["headers"]["x-multi"], json!(["a", "b"]));
    assert_eq!(
        response["headers"]["content-type"],
        json!(["application/json"])
    );
}

#[tokio::test]
async fn post_sends_the_body_and_headers() {
    let addr = start_server().await;
    let outcome = call(json!({
        "http_request": {
            "uri": format!("http://{addr}/echo"),
            "method": "POST",
            "headers": {"X-Custom": "yes", "X-Number": 42, "X-Skipped": null},
            "body": {"order": 7, "items": ["a"]}
        }
    }))
    .await;
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    let body = &response(&outcome)["body"];
    assert_eq!(body["method"], json!("POST"));
    assert_eq!(
        serde_json::from_str::<Value>(body["body"].as_str().unwrap()).unwrap(),
        json!({"order": 7, "items": ["a"]})
    );
    assert_eq!(body["contentType"], json!("application/json"));
    assert_eq!(body["accept"], json!("application/json"));
    assert_eq!(body["custom"], json!("yes"));
    assert_eq!(body["number"], json!("42"));

    // The flat form, a text body, a custom accept list and a lower-case method.
    let outcome = call(json!({
        "uri": format!("http://{addr}/echo"),
        "method": "put",
        "contentType": "text/plain",
        "accept": ["text/plain", "application/json"],
        "body": "raw text"
    }))
    .await;
    let body = &response(&outcome)["body"];
    assert_eq!(body["method"], json!("PUT"));
    assert_eq!(body["body"], json!("raw text"));
    assert_eq!(body["contentType"], json!("text/plain"));
    assert_eq!(body["accept"], json!("text/plain, application/json"));
}

#[tokio::test]
async fn not_found_fails_with_the_error_text_as_response() {
    let addr = start_server().await;
    let outcome = call(json!({"http_request": {"uri": format!("http://{addr}/missing")}})).await;
    let Outcome::Failed {
        reason,
        output,
        terminal,
    } = &outcome
    else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(reason.contains("404 Not Found"), "{reason}");
    assert!(reason.contains("no such thing here"), "{reason}");
    assert!(!terminal);
    // As in Conductor, whose HTTP client raises an error for a 4xx or 5xx status, the
    // output's response is the error text.
    assert_eq!(*output, obj(json!({"response": reason})));
}

#[tokio::test]
async fn server_error_fails_with_the_error_text_as_response() {
    let addr = start_server().await;
    let outcome = call(json!({"http_request": {"uri": format!("http://{addr}/boom")}})).await;
    let Outcome::Failed { reason, output, .. } = &outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(reason.contains("500 Internal Server Error"), "{reason}");
    assert!(reason.contains("database unavailable"), "{reason}");
    assert_eq!(*output, obj(json!({"response": reason})));
}

#[tokio::test]
async fn a_status_neither_success_nor_error_fails_with_the_response() {
    let addr = start_server().await;
    let outcome = call(json!({"http_request": {"uri": format!("http://{addr}/unchanged")}})).await;
    let Outcome::Failed { reason, output, .. } = &outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(reason.contains("304 Not Modified"), "{reason}");
    assert_eq!(output["response"]["statusCode"], json!(304));
    assert_eq!(output["response"]["reasonPhrase"], json!("Not Modified"));
}

#[tokio::test]
async fn non_json_and_empty_bodies() {
    let addr = start_server().await;
    let outcome = call(
        json!({"http_request": {"uri": format!("http://{addr}/text"), "accept": "text/plain"}}),
    )
    .await;
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert_eq!(response(&outcome)["body"], json!("plain words"));
    let outcome = call(json!({"http_request": {"uri": format!("http://{addr}/empty")}})).await;
    assert!(matches!(outcome, Outcome::Completed(_)), "{outcome:?}");
    assert_eq!(response(&outcome)["statusCode"], json!(204));
    assert_eq!(response(&outcome)["body"], Value::Null);
}

#[tokio::test]
async fn read_timeout_stops_a_slow_server() {
    let addr = start_server().await;
    let outcome = call(json!({"http_request": {
        "uri": format!("http://{addr}/slow"),
        "connectionTimeOut": 200,
        "readTimeOut": 300
    }}))
    .await;
    let Outcome::Failed {
        reason,
        output,
        terminal,
    } = &outcome
    else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(reason.contains("no response within 500 ms"), "{reason}");
    assert_eq!(*output, obj(json!({"response": reason})));
    assert!(!terminal);

    // A body that stalls half-way is stopped by the read timeout too.
    let addr = start_raw_server(
        "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n",
        b"0123456789".to_vec(),
        5,
        Duration::from_secs(5),
    )
    .await;
    let outcome = call(json!({"uri": format!("http://{addr}/"), "readTimeOut": "300"})).await;
    let Outcome::Failed { reason, .. } = &outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(reason.contains("stalled for more than 300 ms"), "{reason}");
}

#[tokio::test]
async fn refused_connection_fails_clearly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let outcome = call(
        json!({"http_request": {"uri": format!("http://user:secret@{addr}/"), "method": "GET"}}),
    )
    .await;
    let Outcome::Failed {
        reason,
        output,
        terminal,
    } = &outcome
    else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(reason.contains("cannot connect"), "{reason}");
    assert!(reason.contains(&addr.to_string()), "{reason}");
    assert!(!reason.contains("secret"), "{reason}");
    // As in Conductor, the error text is kept in the output too.
    assert_eq!(*output, obj(json!({"response": reason})));
    assert!(!terminal);
}

#[tokio::test]
async fn oversize_bodies_fail() {
    let addr = start_server().await;
    let outcome = call(json!({"http_request": {"uri": format!("http://{addr}/big")}})).await;
    let Outcome::Failed { reason, output, .. } = &outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(
        reason.contains("over the limit of 262144 bytes"),
        "{reason}"
    );
    assert_eq!(*output, obj(json!({"response": reason})));

    // Without a content-length the body is cut off once it passes the limit.
    let addr = start_raw_server(
        "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n",
        vec![b'y'; 600 * 1024],
        64 * 1024,
        Duration::from_millis(1),
    )
    .await;
    let outcome = call(json!({"uri": format!("http://{addr}/")})).await;
    let Outcome::Failed { reason, .. } = &outcome else {
        panic!("expected failure, got {outcome:?}")
    };
    assert!(
        reason.contains("over the limit of 262144 bytes"),
        "{reason}"
    );
}

#[tokio::test]
async fn async_complete_leaves_the_task_in_progress() {
    let addr = start_server().await;
    let outcome = call(json!({
        "http_request": {"uri": format!("http://{addr}/json")},
        "asyncComplete": true
    }))
    .await;
    let Outcome::InProgress(output) = &outcome else {
        panic!("expected in progress, got {outcome:?}")
    };
    assert_eq!(output["response"]["body"]["hello"], json!("world"));
    // A failed call still fails.
    let outcome = call(json!({
        "http_request": {"uri": format!("http://{addr}/missing")},
        "asyncComplete": true
    }))
    .await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
}

#[tokio::test]
async fn bad_input_fails_without_a_request() {
    for (input, needle) in [
        (json!({"http_request": {"method": "GET"}}), "'uri'"),
        (json!({"http_request": {"uri": "localhost:1/x y"}}), "uri"),
        (
            json!({"http_request": {"uri": "http://127.0.0.1:9/", "method": "BREW"}}),
            "BREW",
        ),
    ] {
        let outcome = call(input.clone()).await;
        let Outcome::Failed { reason, output, .. } = &outcome else {
            panic!("{input}: expected failure, got {outcome:?}")
        };
        assert!(reason.contains(needle), "{input}: {reason}");
        // Without a uri nothing is called and, as in Conductor, the output stays empty;
        // any other bad input is reported like a failed call.
        if needle == "'uri'" {
            assert!(output.is_empty(), "{input}: {output:?}");
        } else {
            assert_eq!(*output, obj(json!({"response": reason})), "{input}");
        }
    }
}
