//! SoulPrint's HTTP API (DESIGN.md's route table), written once against the domain's ports:
//! `soulprint serve` serves it with the local adapters and its own token check, and the AWS
//! functions wrap the same [`Router`] with `lambda_http`, the user taken from the authorizer.
//!
//! The contract is `openapi.json` beside this crate, served at `/openapi.json` and checked
//! against the routes by the tests (and by schemathesis in CI).

pub mod auth;
pub mod error;
mod extract;
pub mod rate_limit;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;
use soulprint_core::ports::Ports;
use soulprint_core::stages::Chat;

pub use auth::{bearer, require_token, AuthError, Caller, Tokens};
pub use rate_limit::{RateLimits, Tier};
pub use routes::uploads::PART_BYTES;

/// The OpenAPI 3.1 document of every route.
pub const OPENAPI: &str = include_str!("../openapi.json");
/// The page people use, at `/`.
pub const PAGE: &str = include_str!("../page/index.html");

/// What every handler shares.
pub struct Api {
    pub ports: Ports,
    pub chat: Chat,
    pub limits: RateLimits,
    /// A chat turn's time limit.
    pub chat_limit: std::time::Duration,
    /// The size of every upload part but the last.
    pub part_bytes: usize,
    /// Uploads straight to storage (presigned URLs), where the world has them (S3): parts
    /// then never pass through the API.
    pub direct: Option<Arc<dyn soulprint_core::ports::DirectUpload>>,
    /// The size of every direct upload part but the last.
    pub direct_part_bytes: u64,
}

impl Api {
    pub fn new(ports: Ports, limits: RateLimits) -> Self {
        Api {
            ports,
            chat: Chat::default(),
            limits,
            chat_limit: std::time::Duration::from_secs(120),
            part_bytes: PART_BYTES,
            direct: None,
            direct_part_bytes: routes::uploads::DIRECT_PART_BYTES,
        }
    }
}

/// The routes that need a [`Caller`]; the entry point puts its authentication in front.
pub fn private_routes(api: Arc<Api>) -> Router {
    use routes::*;
    let part_limit = DefaultBodyLimit::max(api.part_bytes + 1024);
    Router::new()
        .route("/uploads", post(uploads::begin))
        .route("/uploads/{upload_id}", get(uploads::status))
        .route(
            "/uploads/{upload_id}/parts/{part}",
            put(uploads::part).layer(part_limit),
        )
        .route("/imports", post(imports::start))
        .route("/imports/latest", get(imports::latest))
        .route("/imports/latest/retry-full-pass", post(imports::retry))
        .route("/profile", get(profile::get).patch(profile::patch))
        .route("/chat", post(chat::turn))
        .route("/chat/stream", post(chat::stream))
        .route("/chat/threads", get(chat::threads))
        .route("/chat/threads/{thread_id}/messages", get(chat::messages))
        .route("/memory/facts", get(memory::facts))
        .route("/memory/facts/{id}", delete(memory::delete))
        .route("/memory/chunks", get(memory::chunks))
        .route("/memory/chunks/{id}", delete(memory::delete))
        .route("/export", get(me::export))
        .route("/me", delete(me::forget))
        .with_state(api)
}

/// The routes anyone may call: health, the contract, the page.
pub fn public_routes(api: Arc<Api>) -> Router {
    use routes::*;
    Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(health::openapi))
        .route("/", get(health::page))
        .with_state(api)
}

/// Every route, the private ones behind `tokens`.
pub fn router(api: Arc<Api>, tokens: Arc<Tokens>) -> Router {
    private_routes(Arc::clone(&api))
        .route_layer(axum::middleware::from_fn_with_state(tokens, require_token))
        .merge(public_routes(api))
}
