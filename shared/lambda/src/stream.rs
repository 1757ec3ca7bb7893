//! Chat streaming behind a Lambda Function URL (`InvokeMode: RESPONSE_STREAM`): HTTP APIs
//! cannot stream and Function URLs have no JWT authorizer, so this function verifies the
//! token itself, against the identity provider's published keys (JWKS).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use soulprint_core::ports::UserId;
use soulprint_http::{bearer, Api, AuthError, Caller, RouteGroup, Tokens};

use crate::settings::Settings;

/// How often at most the keys are fetched again for a token that names an unknown key.
pub const REFETCH_AFTER: Duration = Duration::from_secs(60);

/// The issuer's keys: fetched at cold start, and again when a token names a key that is not
/// among them (the issuer rotated its keys), at most once per `refetch_after`, so that
/// tokens with made-up key ids cannot make this function hammer the issuer.
pub struct IssuerKeys {
    url: String,
    issuer: String,
    audience: String,
    http: reqwest::Client,
    tokens: RwLock<Arc<Tokens>>,
    fetched: Mutex<Instant>,
    refetch_after: Duration,
}

impl IssuerKeys {
    pub async fn fetch(
        url: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        refetch_after: Duration,
    ) -> Result<Self> {
        let (url, issuer, audience) = (url.into(), issuer.into(), audience.into());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let tokens = Self::load(&http, &url, &issuer, &audience).await?;
        Ok(IssuerKeys {
            url,
            issuer,
            audience,
            http,
            tokens: RwLock::new(Arc::new(tokens)),
            fetched: Mutex::new(Instant::now()),
            refetch_after,
        })
    }

    /// From `JWT_ISSUER`, `JWT_AUDIENCE` and `JWKS_URL` (default: the issuer's
    /// `/.well-known/jwks.json`).
    pub async fn from_settings(settings: &Settings) -> Result<Self> {
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
        Self::fetch(url, issuer, audience, REFETCH_AFTER).await
    }

    async fn load(
        http: &reqwest::Client,
        url: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Tokens> {
        let jwks = http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("fetching the signing keys from {url}"))?
            .text()
            .await?;
        Tokens::from_jwks(&jwks, issuer, audience).with_context(|| format!("the keys at {url}"))
    }

    pub async fn verify(&self, token: &str) -> Result<UserId, AuthError> {
        let current = self.current();
        match current.verify(token) {
            Err(AuthError::UnknownKey(why)) => {
                if !self.may_refetch() {
                    return Err(AuthError::UnknownKey(why));
                }
                match Self::load(&self.http, &self.url, &self.issuer, &self.audience).await {
                    Ok(tokens) => {
                        let tokens = Arc::new(tokens);
                        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = tokens.clone();
                        tokens.verify(token)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not fetch the issuer's keys again");
                        Err(AuthError::UnknownKey(why))
                    }
                }
            }
            other => other,
        }
    }

    fn current(&self) -> Arc<Tokens> {
        self.tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True (and the clock restarted) when the last fetch is old enough.
    fn may_refetch(&self) -> bool {
        let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        if fetched.elapsed() < self.refetch_after {
            return false;
        }
        *fetched = Instant::now();
        true
    }
}

/// `POST /chat/stream` behind the token check, and nothing else: the Function URL bypasses
/// API Gateway (its authorizer and throttling), and this function's role allows only what a
/// chat turn needs.
pub fn app(api: Arc<Api>, keys: Arc<IssuerKeys>) -> Router {
    RouteGroup::ChatStream
        .router(api)
        .route_layer(axum::middleware::from_fn_with_state(keys, check_token))
        .fallback(|| async { crate::api::not_here(RouteGroup::ChatStream) })
        .method_not_allowed_fallback(|| async { crate::api::not_here(RouteGroup::ChatStream) })
        .layer(axum::middleware::from_fn(crate::api::with_deadline))
}

async fn check_token(
    State(keys): State<Arc<IssuerKeys>>,
    mut request: Request,
    next: Next,
) -> Response {
    let user = match bearer(request.headers()) {
        Ok(token) => keys.verify(token).await,
        Err(e) => Err(e),
    };
    match user {
        Ok(user) => {
            request.extensions_mut().insert(Caller(user));
            next.run(request).await
        }
        Err(e) => soulprint_http::auth::refused(&e),
    }
}
