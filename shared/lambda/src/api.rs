//! The HTTP API on Lambda: the routes of `soulprint serve`, behind API Gateway's JWT
//! authorizer. The authorizer has checked the token; the user is its `sub` claim. A request
//! that reaches a private route without claims (a route left without the authorizer, a
//! direct invoke) answers 401.

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use soulprint_core::ports::UserId;
use soulprint_http::error::ApiError;
use soulprint_http::{Api, Caller, InvocationDeadline, RouteGroup};

/// Lambda's synchronous payload is 6 MB and binary bodies arrive base64-encoded: upload
/// parts of 4 MiB fit.
pub const LAMBDA_PART_BYTES: usize = 4 * 1024 * 1024;

/// One function's routes (`group`); private ones take their user from the authorizer's
/// claims. Any other request is a 404 that says where this function's routes end.
pub fn app(api: Arc<Api>, group: RouteGroup) -> Router {
    let rules = api.body_rules();
    let mut router = group.router(api);
    if !group.is_public() {
        router = router.route_layer(axum::middleware::from_fn(caller_from_authorizer));
    }
    router
        .fallback(move || async move { not_here(group) })
        .method_not_allowed_fallback(move || async move { not_here(group) })
        .layer(axum::middleware::from_fn(move |request, next| {
            soulprint_http::request_guard::guard(rules, request, next)
        }))
        .layer(axum::middleware::from_fn(with_deadline))
}

/// The invocation's deadline, as the routes read it: a chat turn fits its models' time in it.
pub async fn with_deadline(mut request: Request, next: Next) -> Response {
    if let Some(context) = request.lambda_context_ref() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let left = std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms));
        request
            .extensions_mut()
            .insert(InvocationDeadline(std::time::Instant::now() + left));
    }
    next.run(request).await
}

/// The answer to a route another function serves.
pub fn not_here(group: RouteGroup) -> Response {
    let served: Vec<String> = group
        .routes()
        .iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    ApiError::not_found(format!(
        "the {} function serves {} only; the stack's API routes the rest",
        group.function(),
        served.join(", ")
    ))
    .into_response()
}

/// The `sub` claim API Gateway's JWT authorizer put in the request context.
pub fn authorizer_subject(context: Option<&RequestContext>) -> Option<&str> {
    match context? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()?
            .claims
            .get("sub")
            .map(String::as_str),
        _ => None,
    }
}

async fn caller_from_authorizer(mut request: Request, next: Next) -> Response {
    let subject = authorizer_subject(request.request_context_ref()).map(str::to_owned);
    match subject.map(UserId::new) {
        Some(Ok(user)) => {
            request.extensions_mut().insert(Caller(user));
            next.run(request).await
        }
        Some(Err(e)) => ApiError::unauthorized(format!("the token's subject: {e}")).into_response(),
        None => ApiError::unauthorized(
            "no authorizer claims: this route is served behind API Gateway's JWT authorizer",
        )
        .into_response(),
    }
}

/// What the API functions share: the ports, chat's caches and breaker, rate limits counted
/// where every instance sees them, uploads that go straight to storage (parts through the
/// API, were a client to send them there, are Lambda-sized) and exports that leave from it.
pub fn state(
    ports: soulprint_core::ports::Ports,
    windows: Arc<dyn soulprint_core::ports::RateWindows>,
    storage: Arc<soulprint_aws::S3Blobs>,
) -> Arc<Api> {
    let mut api = Api::new(ports, soulprint_http::RateLimits::new(windows));
    api.part_bytes = LAMBDA_PART_BYTES;
    // Shares of each invocation's time (`ChatBudget::within`): 29 s behind API Gateway leave
    // the primary 15.6 s and the fallback 10.4 s; the streaming function has longer.
    api.chat_budget = soulprint_core::stages::ChatBudget {
        primary: std::time::Duration::from_secs(60),
        fallback: std::time::Duration::from_secs(30),
    };
    api.direct = Some(Arc::clone(&storage) as Arc<dyn soulprint_core::ports::DirectUpload>);
    api.download = Some(storage);
    Arc::new(api)
}
