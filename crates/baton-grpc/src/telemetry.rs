//! A tower layer on the server that times every gRPC request by method and status code
//! (`baton_grpc_request_duration_seconds`). Requests that are not gRPC (the HTTP routes on
//! the same listener) pass through untouched; the HTTP face times those itself.
//!
//! A request is timed from its arrival until its response body is done with: for a unary
//! call, until the trailers went out; for a stream (`Work`), for the stream's whole life.
//! The code is the `grpc-status` of the response head (an error answered at once) or of
//! its trailers; a response dropped before its trailers (the client went away) counts as
//! `Canceled`. Methods answered `Unimplemented` are labelled `unknown`, so that made-up
//! paths cannot grow the label set.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use baton_server::telemetry::GRPC_REQUEST;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;

/// The layer: wraps the service that serves every route.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower_layer::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

/// The service the layer makes.
#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for GrpcMetrics<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<Timed<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let method = is_grpc(req.headers()).then(|| req.uri().path().to_string());
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            let code = grpc_status(res.headers());
            Ok(res.map(|body| Timed {
                body,
                timing: method.map(|method| Timing {
                    method,
                    started,
                    code,
                    ended: false,
                }),
            }))
        })
    }
}

fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let v = headers.get("grpc-status")?.to_str().ok()?;
    Some(Code::from_i32(v.trim().parse().ok()?))
}

/// A code as gRPC's own libraries name it (`OK`, `NotFound`, ...).
fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

struct Timing {
    method: String,
    started: Instant,
    code: Option<Code>,
    ended: bool,
}

impl Drop for Timing {
    fn drop(&mut self) {
        let code = match self.code {
            Some(c) => c,
            None if self.ended => Code::Unknown,
            None => Code::Cancelled,
        };
        let method = if code == Code::Unimplemented {
            "unknown".to_string()
        } else {
            std::mem::take(&mut self.method)
        };
        metrics::histogram!(GRPC_REQUEST, "method" => method, "code" => code_label(code))
            .record(self.started.elapsed().as_secs_f64());
    }
}

pin_project_lite::pin_project! {
    /// A response body that records its request's time when it is done with.
    pub struct Timed<B> {
        #[pin]
        body: B,
        timing: Option<Timing>,
    }
}

impl<B: Body> Body for Timed<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        if let Some(t) = this.timing.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                        t.code = Some(code);
                        t.ended = true;
                    }
                }
                Poll::Ready(None) => t.ended = true,
                Poll::Ready(Some(Err(_))) => {
                    t.code.get_or_insert(Code::Internal);
                }
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
