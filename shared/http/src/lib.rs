//! SoulPrint's HTTP API (ARCHITECTURE.md), written once against the domain's ports:
//! `soulprint serve` serves it with the local adapters and its own token check, and the AWS
//! functions wrap the same [`Router`] with `lambda_http`, the user taken from the authorizer.
//!
//! The contract is `openapi.json` beside this crate, served at `/openapi.json` and checked
//! against the routes by the tests (and by schemathesis in CI).

pub mod auth;
pub mod error;
mod extract;
pub mod groups;
pub mod import_budget;
pub mod pages;
pub mod rate_limit;
pub mod request_guard;
mod routes;
pub mod upload_limits;

use std::sync::Arc;

use axum::Router;
use soulprint_core::ports::Ports;
use soulprint_core::stages::Chat;

pub use auth::{bearer, require_token, AuthError, Caller, Tokens};
pub use groups::RouteGroup;
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
    /// How long a chat turn may wait on its models (within an invocation's deadline, where
    /// the request carries one: [`InvocationDeadline`]).
    pub chat_budget: soulprint_core::stages::ChatBudget,
    /// The size of every upload part but the last.
    pub part_bytes: usize,
    /// Uploads straight to storage (presigned URLs), where the world has them (S3): parts
    /// then never pass through the API.
    pub direct: Option<Arc<dyn soulprint_core::ports::DirectUpload>>,
    /// The size of every direct upload part but the last.
    pub direct_part_bytes: u64,
    /// Signed links to blobs, where the world has them (S3): an export then leaves from
    /// storage, not through a function's response.
    pub download: Option<Arc<dyn soulprint_core::ports::DirectDownload>>,
    /// Unfinished uploads one person may have.
    pub upload_quota: upload_limits::UploadQuota,
    /// Part bodies one person may send at once.
    pub parts_in_flight: upload_limits::PartsInFlight,
    /// The longest pause between two pieces of a request body.
    pub body_idle: std::time::Duration,
    /// What one person's imports may cost; none: no budget (one person's own machine).
    pub import_budget: Option<import_budget::ImportBudget>,
}

impl Api {
    pub fn new(ports: Ports, limits: RateLimits) -> Self {
        Api {
            ports,
            chat: Chat::default(),
            limits,
            chat_budget: soulprint_core::stages::ChatBudget::LOCAL,
            part_bytes: PART_BYTES,
            direct: None,
            direct_part_bytes: routes::uploads::DIRECT_PART_BYTES,
            download: None,
            upload_quota: upload_limits::UploadQuota::default(),
            parts_in_flight: upload_limits::PartsInFlight::default(),
            body_idle: request_guard::BODY_IDLE,
            import_budget: None,
        }
    }
}

impl Api {
    /// Lets a request of `user` in: refused while the person is being forgotten (410: nothing
    /// of them is readable from the moment `DELETE /me` is accepted), else counted against
    /// the tier's limit.
    pub async fn admit(
        &self,
        user: &soulprint_core::ports::UserId,
        tier: Tier,
    ) -> Result<(), error::ApiError> {
        if let Some(since) = self.ports.store.forgotten(user).await? {
            let since = since
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            return Err(error::ApiError::new(
                axum::http::StatusCode::GONE,
                "forgotten",
                format!(
                    "this account is being forgotten (since {since}): nothing of it can be \
                     read; it can start again once that is done"
                ),
            ));
        }
        self.limits.check(user, tier).await
    }

    /// The limits and deadlines of request bodies, for [`request_guard::guard`].
    pub fn body_rules(&self) -> request_guard::BodyRules {
        request_guard::BodyRules {
            part_bytes: self.part_bytes as u64 + 1024,
            idle: self.body_idle,
            total: request_guard::BODY_TOTAL.max(self.body_idle),
        }
    }
}

/// When the process serving a request is stopped (a Lambda invocation's deadline), as a
/// request extension: work that must finish within it (a chat turn) takes its time from it.
#[derive(Debug, Clone, Copy)]
pub struct InvocationDeadline(pub std::time::Instant);

/// Every route, the private ones behind `tokens`: `soulprint serve`.
pub fn router(api: Arc<Api>, tokens: Arc<Tokens>) -> Router {
    let mut private = Router::new();
    let mut public = Router::new();
    for group in RouteGroup::ALL {
        if group.is_public() {
            public = public.merge(group.router(Arc::clone(&api)));
        } else {
            private = private.merge(group.router(Arc::clone(&api)));
        }
    }
    let rules = api.body_rules();
    private
        .route_layer(axum::middleware::from_fn_with_state(tokens, require_token))
        .merge(public)
        .layer(axum::middleware::from_fn(move |request, next| {
            request_guard::guard(rules, request, next)
        }))
}
