//! What every request passes before a handler reads it: an ambiguous length is refused
//! (`Transfer-Encoding` with `Content-Length`, the shape of request smuggling), a declared
//! length over the route's limit is refused before a byte of the body is read, and the body
//! must keep arriving (a pause between pieces, and the whole body, have deadlines) so that a
//! slow sender cannot hold a connection and its memory for ever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{sleep_until, Instant, Sleep};

use crate::error::ApiError;

/// The largest JSON body a route takes (a chat message is 50,000 characters at most).
pub const MAX_JSON_BYTES: u64 = 2 << 20;
/// The longest pause between two pieces of a body.
pub const BODY_IDLE: Duration = Duration::from_secs(15);
/// The longest a whole body may take (an 8 MiB part at 1 Mbit/s takes 67 s).
pub const BODY_TOTAL: Duration = Duration::from_secs(120);

/// The deadlines and limits a router applies.
#[derive(Debug, Clone, Copy)]
pub struct BodyRules {
    /// The most an upload part's body may declare.
    pub part_bytes: u64,
    pub idle: Duration,
    pub total: Duration,
}

/// A body that ended because it stopped arriving in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving: send it within {0:?}")]
pub struct BodyTimedOut(Duration);

/// Whether `e` (a body error, wrapped by whoever read it) is a [`BodyTimedOut`].
pub fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(e) = source {
        if e.is::<BodyTimedOut>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The answer to a body that stopped arriving.
pub fn too_slow() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request body stopped arriving in time (a long pause, or too long in all); send it \
         again",
    )
}

/// The middleware: checks the declared length, then hands the handler a body with deadlines.
pub async fn guard(rules: BodyRules, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers.contains_key(header::TRANSFER_ENCODING)
        && headers.contains_key(header::CONTENT_LENGTH)
    {
        return ApiError::bad_request(
            "a request may carry Transfer-Encoding or Content-Length, not both",
        )
        .into_response();
    }
    let limit = if is_part(request.uri().path()) {
        rules.part_bytes
    } else {
        MAX_JSON_BYTES
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()));
    match declared {
        Some(None) => {
            return ApiError::bad_request("Content-Length is not a number").into_response();
        }
        Some(Some(n)) if n > limit => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body declares {n} bytes; this route takes {limit} at most"),
            )
            .into_response();
        }
        _ => {}
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(Deadline::new(body, rules.idle, rules.total));
    next.run(Request::from_parts(parts, body)).await
}

/// `PUT /uploads/{id}/parts/{n}`: the one route with a large body.
fn is_part(path: &str) -> bool {
    path.starts_with("/uploads/") && path.contains("/parts/")
}

/// A body that fails with [`BodyTimedOut`] when a piece is late or the whole is overdue.
pub struct Deadline {
    inner: Body,
    idle: Duration,
    /// When the next piece is due.
    next: Pin<Box<Sleep>>,
    /// When the whole body is due.
    end: Pin<Box<Sleep>>,
    total: Duration,
}

impl Deadline {
    pub fn new(inner: Body, idle: Duration, total: Duration) -> Self {
        let now = Instant::now();
        Deadline {
            inner,
            idle,
            next: Box::pin(sleep_until(now + idle)),
            end: Box::pin(sleep_until(now + total)),
            total,
        }
    }
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            let idle = this.idle;
            this.next.as_mut().reset(Instant::now() + idle);
            return Poll::Ready(frame);
        }
        if this.end.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.total)))));
        }
        if this.next.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.idle)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
