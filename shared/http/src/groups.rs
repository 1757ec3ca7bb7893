//! The routes in groups, one per AWS function, so that each function serves only its own (and
//! its IAM role covers only what they do); `soulprint serve` serves them all. Each group's
//! table is the one place its routes are written: the router is built from it, and the
//! template's tests compare each function's API events with it.

use std::sync::Arc;

use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::routes::{chat, health, imports, me, memory, profile, uploads};
use crate::Api;

/// A group of routes, named for what its function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteGroup {
    /// Uploads and starting imports: the `trigger` function.
    Trigger,
    /// An import's state and the soulprint: `status`.
    Status,
    /// Chat turns and threads: `chat`.
    Chat,
    /// The streamed chat turn: `chat-stream`, behind a Function URL (an HTTP API cannot
    /// stream).
    ChatStream,
    /// Memory in the person's hands, export, forget, rename: `memory`.
    Memory,
    /// Health and the contract, without a token: `health`.
    Health,
}

/// One route: its method, its path as the OpenAPI document spells it, its handler.
type Route = (Method, &'static str, MethodRouter<Arc<Api>>);

impl RouteGroup {
    pub const ALL: [RouteGroup; 6] = [
        RouteGroup::Trigger,
        RouteGroup::Status,
        RouteGroup::Chat,
        RouteGroup::ChatStream,
        RouteGroup::Memory,
        RouteGroup::Health,
    ];

    /// The function in `functions/` (and its binary) that serves this group on AWS.
    pub fn function(self) -> &'static str {
        match self {
            RouteGroup::Trigger => "trigger",
            RouteGroup::Status => "status",
            RouteGroup::Chat => "chat",
            RouteGroup::ChatStream => "chat-stream",
            RouteGroup::Memory => "memory",
            RouteGroup::Health => "health",
        }
    }

    /// Served without a token.
    pub fn is_public(self) -> bool {
        self == RouteGroup::Health
    }

    /// The group's routes, method and path.
    pub fn routes(self) -> Vec<(Method, &'static str)> {
        self.table()
            .into_iter()
            .map(|(method, path, _)| (method, path))
            .collect()
    }

    /// The group's router.
    pub fn router(self, api: Arc<Api>) -> Router {
        let mut router = Router::new();
        for (_, path, handler) in self.table() {
            router = router.route(path, handler);
        }
        router.with_state(api)
    }

    fn table(self) -> Vec<Route> {
        fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
        where
            H: axum::handler::Handler<T, Arc<Api>>,
            T: 'static,
        {
            let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
            (method, path, on(filter, handler))
        }
        match self {
            RouteGroup::Trigger => vec![
                route(Method::POST, "/uploads", uploads::begin),
                route(Method::GET, "/uploads/{upload_id}", uploads::status),
                // Its body streams to disk; `request_guard` bounds its declared length.
                route(
                    Method::PUT,
                    "/uploads/{upload_id}/parts/{part}",
                    uploads::part,
                ),
                route(Method::POST, "/imports", imports::start),
                route(
                    Method::POST,
                    "/imports/latest/retry-full-pass",
                    imports::retry,
                ),
            ],
            RouteGroup::Status => vec![
                route(Method::GET, "/imports/latest", imports::latest),
                route(Method::GET, "/profile", profile::get),
            ],
            RouteGroup::Chat => vec![
                route(Method::POST, "/chat", chat::turn),
                route(Method::GET, "/chat/threads", chat::threads),
                route(
                    Method::GET,
                    "/chat/threads/{thread_id}/messages",
                    chat::messages,
                ),
            ],
            RouteGroup::ChatStream => vec![route(Method::POST, "/chat/stream", chat::stream)],
            RouteGroup::Memory => vec![
                route(Method::GET, "/memory/facts", memory::facts),
                route(Method::DELETE, "/memory/facts/{id}", memory::delete),
                route(Method::GET, "/memory/chunks", memory::chunks),
                route(Method::DELETE, "/memory/chunks/{id}", memory::delete),
                route(Method::GET, "/export", me::export),
                route(Method::DELETE, "/me", me::forget),
                route(Method::PATCH, "/profile", profile::patch),
            ],
            RouteGroup::Health => vec![
                route(Method::GET, "/health", health::health),
                route(Method::GET, "/openapi.json", health::openapi),
                route(Method::GET, "/", health::page),
            ],
        }
    }
}
