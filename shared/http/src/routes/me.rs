//! `GET /export` (everything about the person, as one JSON document) and `DELETE /me`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::imports::status_body;
use crate::error::ApiResult;
use crate::rate_limit::Tier;
use crate::{Api, Caller};

pub async fn export(
    State(api): State<Arc<Api>>,
    Caller(user): Caller,
) -> ApiResult<impl IntoResponse> {
    api.limits.check(&user, Tier::Expensive).await?;
    let store = &api.ports.store;
    let mut threads = Vec::new();
    for thread in store.chat_threads(&user).await? {
        let messages = store
            .chat_messages(&user, &thread.id, None, usize::MAX >> 1)
            .await?;
        threads.push(json!({"thread": thread, "messages": messages}));
    }
    let (import, usage) = match store.import_state(&user).await? {
        Some(state) => {
            let usage = store.usage(&user, &state.value.import_id).await?;
            (status_body(&state.value), json!(usage))
        }
        None => (Value::Null, Value::Null),
    };
    let body = json!({
        "user": user,
        "profile": store.profile(&user).await?,
        "facts": store.memory(&user).await?,
        "chats": threads,
        "import": import,
        "usage": usage,
    });
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"soulprint-export.json\"",
        )],
        Json(body),
    ))
}

pub async fn forget(State(api): State<Arc<Api>>, Caller(user): Caller) -> ApiResult<StatusCode> {
    api.limits.check(&user, Tier::Standard).await?;
    api.ports.store.forget(&user).await?;
    api.ports.blobs.delete_user(&user).await?;
    api.chat.index.forget(&user);
    api.chat.memory.forget(&user);
    tracing::info!(user = %user, "forgotten");
    Ok(StatusCode::NO_CONTENT)
}
