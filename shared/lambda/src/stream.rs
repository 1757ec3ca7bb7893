//! Chat streaming behind a Lambda Function URL (`InvokeMode: RESPONSE_STREAM`): HTTP APIs
//! cannot stream and Function URLs have no JWT authorizer, so this function verifies the
//! token itself, against the identity provider's published keys (JWKS), fetched once per
//! cold start.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use soulprint_http::error::ApiError;
use soulprint_http::{router, Api, Tokens};

use crate::settings::Settings;

/// The identity provider's keys, from `JWKS_URL`.
pub async fn tokens(settings: &Settings) -> Result<Tokens> {
    let issuer = settings
        .jwt_issuer
        .as_deref()
        .context("JWT_ISSUER is not set")?;
    let audience = settings
        .jwt_audience
        .as_deref()
        .context("JWT_AUDIENCE is not set")?;
    let url = settings
        .jwks_url
        .clone()
        .unwrap_or_else(|| format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/')));
    let jwks = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?
        .get(&url)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("fetching the signing keys from {url}"))?
        .text()
        .await?;
    Tokens::from_jwks(&jwks, issuer, audience).with_context(|| format!("the keys at {url}"))
}

/// `POST /chat/stream` behind the token check, and nothing else: the Function URL bypasses
/// API Gateway (its authorizer and throttling), and this function's role allows only what a
/// chat turn needs.
pub fn app(api: Arc<Api>, tokens: Arc<Tokens>) -> Router {
    router(api, tokens).layer(axum::middleware::from_fn(only_the_stream))
}

async fn only_the_stream(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && request.uri().path() == "/chat/stream" {
        return next.run(request).await;
    }
    ApiError::not_found(
        "this URL serves POST /chat/stream only; the rest of the API is at the stack's ApiUrl",
    )
    .into_response()
}
