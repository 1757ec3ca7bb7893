//! `GET /health` (each dependency), `GET /openapi.json`, and the page at `/`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde_json::{json, Value};
use soulprint_core::ports::{BlobKey, QueueName, UserId};

use crate::Api;

pub async fn health(State(api): State<Arc<Api>>) -> (StatusCode, Json<Value>) {
    let probe = UserId::new("health-probe").expect("a user id");
    let store = api.ports.store.import_state(&probe).await.map(|_| ());
    let blobs = match BlobKey::new(&probe, "probe") {
        Ok(key) => api
            .ports
            .blobs
            .exists(&key)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let queue = api.ports.queue.depth(QueueName::Imports).await.map(|_| ());
    let check = |r: Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    let ok = store.is_ok() && blobs.is_ok() && queue.is_ok();
    let model = api.ports.llm.info();
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "dependencies": {
            "store": check(store.map_err(|e| e.to_string())),
            "blobs": check(blobs),
            "queue": check(queue.map_err(|e| e.to_string())),
            "model": {"ok": !api.chat.breaker.is_open(), "label": model.label, "offline": model.offline},
        },
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI)
}

pub async fn page() -> Html<&'static str> {
    Html(crate::PAGE)
}
