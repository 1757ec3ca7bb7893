//! `POST /chat` (the whole reply), `POST /chat/stream` (server-sent events: `token` pieces as
//! the model writes them, then `sources`, then `done` with the turn, then `[DONE]`), and the
//! threads with their messages.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Extension;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use soulprint_core::ports::UserId;
use soulprint_core::stages::{chat_turn, ChatBudget, ChatError, TurnReply, MAX_MESSAGE_CHARS};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tokio_stream::{Stream, StreamExt};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, PathOf, QueryOf};
use crate::pages::{self, PageQuery};
use crate::rate_limit::Tier;
use crate::{Api, Caller, InvocationDeadline};

#[derive(Deserialize)]
pub struct Turn {
    message: String,
    #[serde(default)]
    thread_id: Option<String>,
}

/// Recalled excerpts are cut to this many characters in a reply.
const RECALLED_CHARS: usize = 300;

fn turn_body(turn: &TurnReply) -> Value {
    let recalled: Vec<Value> = turn
        .recalled
        .iter()
        .map(|d| {
            json!({
                "id": d.id,
                "kind": d.kind,
                "text": d.text.chars().take(RECALLED_CHARS).collect::<String>(),
                "conversation_id": d.conversation_id,
            })
        })
        .collect();
    json!({
        "thread_id": turn.thread_id,
        "reply": turn.reply,
        "answered_by": turn.answered_by,
        "sources": turn.sources,
        "learned": turn.learned,
        "recalled": recalled,
    })
}

fn chat_error(e: ChatError) -> ApiError {
    match e {
        ChatError::BadMessage(_) => ApiError::bad_request(e.to_string()),
        ChatError::NoProfile => ApiError::new(StatusCode::CONFLICT, "no_profile", e.to_string()),
        ChatError::TimedOut(_) => {
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, "model_timeout", e.to_string())
        }
        ChatError::Stage(e) => e.into(),
    }
}

/// What can be refused before a reply starts: a bad message, a thread id of the wrong shape, no
/// soulprint yet.
async fn admit(api: &Api, user: &UserId, turn: &Turn) -> ApiResult<()> {
    api.admit(user, Tier::Expensive).await?;
    let chars = turn.message.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS || turn.message.trim().is_empty() {
        return Err(chat_error(ChatError::BadMessage(chars)));
    }
    if let Some(id) = &turn.thread_id {
        checked_thread_id(id)?;
    }
    if api.ports.store.profile(user).await?.is_none() {
        return Err(chat_error(ChatError::NoProfile));
    }
    Ok(())
}

fn checked_thread_id(id: &str) -> ApiResult<()> {
    if super::is_hex_id(id) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("no thread {id:?}")))
    }
}

/// The turn's time with its models: the server's budget, within the invocation's deadline
/// where there is one.
fn budget(api: &Api, deadline: Option<Extension<InvocationDeadline>>) -> ChatBudget {
    match deadline {
        Some(Extension(InvocationDeadline(at))) => api
            .chat_budget
            .within(at.saturating_duration_since(std::time::Instant::now())),
        None => api.chat_budget,
    }
}

pub async fn turn(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    deadline: Option<Extension<InvocationDeadline>>,
    Body(turn): Body<Turn>,
) -> ApiResult<Json<Value>> {
    admit(&api, &user, &turn).await?;
    let reply = chat_turn(
        &api.ports,
        &api.chat,
        &user,
        turn.thread_id,
        &turn.message,
        budget(&api, deadline),
        &|_| {},
    )
    .await
    .map_err(chat_error)?;
    Ok(Json(turn_body(&reply)))
}

pub async fn stream(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    deadline: Option<Extension<InvocationDeadline>>,
    Body(turn): Body<Turn>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    admit(&api, &user, &turn).await?;
    let budget = budget(&api, deadline);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    // The turn runs on its own: a client that goes away does not cut a reply (and what was
    // learned) in half.
    tokio::spawn(async move {
        let pieces = tx.clone();
        let sink = move |piece: &str| {
            let _ = pieces.send(event("token", &json!({ "text": piece })));
        };
        let result = chat_turn(
            &api.ports,
            &api.chat,
            &user,
            turn.thread_id,
            &turn.message,
            budget,
            &sink,
        )
        .await;
        let _ = match result {
            Ok(reply) => tx
                .send(event("sources", &json!(reply.sources)))
                .and_then(|()| tx.send(event("done", &turn_body(&reply)))),
            Err(e) => {
                let e = chat_error(e);
                tx.send(event(
                    "error",
                    &json!({"code": e.code, "message": e.message}),
                ))
            }
        };
        let _ = tx.send(Event::default().data("[DONE]"));
    });
    let events = UnboundedReceiverStream::new(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

fn event(name: &str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

pub async fn threads(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    QueryOf(query): QueryOf<PageQuery>,
) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    let (offset, limit) = query.offset_and_limit(100, 1_000)?;
    let threads = api.ports.store.chat_threads(&user).await?;
    let (page, next) = pages::page(&threads, offset, limit);
    Ok(Json(json!({ "threads": page, "next": next })))
}

#[derive(Deserialize)]
pub struct Page {
    /// Messages before this sequence number (the oldest of the previous page).
    before: Option<u64>,
    limit: Option<usize>,
}

pub async fn messages(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
    PathOf(thread_id): PathOf<String>,
    QueryOf(page): QueryOf<Page>,
) -> ApiResult<Json<Value>> {
    api.admit(&user, Tier::Standard).await?;
    checked_thread_id(&thread_id)?;
    let limit = page.limit.unwrap_or(50).clamp(1, 200);
    let messages = api
        .ports
        .store
        .chat_messages(&user, &thread_id, page.before, limit)
        .await?;
    // An empty page of a thread that exists is the end of it; of one that does not, a 404.
    let exists = !messages.is_empty()
        || (page.before.is_some()
            && !api
                .ports
                .store
                .chat_messages(&user, &thread_id, None, 1)
                .await?
                .is_empty());
    if !exists {
        return Err(ApiError::not_found(format!("no thread {thread_id:?}")));
    }
    // 200 messages of 50,000 characters would pass Lambda's 6 MB: the oldest wait for the
    // next page (`before` the oldest one here).
    Ok(Json(
        json!({ "messages": pages::newest_that_fit(&messages) }),
    ))
}
