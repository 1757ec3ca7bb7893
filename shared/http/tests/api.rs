//! The HTTP API through its router, with the local adapters and the offline engine: the
//! contract's routes exist and need a token; nobody reaches another's data; an upload resumes;
//! an import, the profile, a streamed chat turn, memory, export and forgetting work end to end.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use soulprint_core::import_state::ImportStatus;
use soulprint_core::ports::UserId;
use soulprint_e2e::pipeline::{finished, generated, work_until};
use soulprint_http::{router, Api, RateLimits, Tokens};
use soulprint_local::{Local, LocalOptions, Offline};
use tower::ServiceExt;

struct Server {
    app: Router,
    tokens: Arc<Tokens>,
    local: Local,
    _dir: tempfile::TempDir,
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let local = Local::open(LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm: Arc::new(Offline),
        fact_llm: None,
        fact_workers: 2,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    let limits = RateLimits::new(Arc::new(soulprint_local::MemoryWindows::default()));
    let mut api = Api::new(local.ports.clone(), limits);
    api.part_bytes = 64 * 1024;
    let tokens = Arc::new(Tokens::hs256(
        b"test-key-of-32-bytes-or-more....",
        "iss",
        "aud",
    ));
    Server {
        app: router(Arc::new(api), Arc::clone(&tokens)),
        tokens,
        local,
        _dir: dir,
    }
}

impl Server {
    fn token(&self, user: &str) -> String {
        self.tokens
            .issue(&UserId::new(user).unwrap(), time::Duration::hours(1))
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let json_body = body.as_ref().is_some_and(|b| b.first() == Some(&b'{'));
        if json_body {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value, headers)
    }

    async fn json(
        &self,
        method: Method,
        uri: &str,
        user: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let (s, v, _) = self
            .call(
                method,
                uri,
                Some(&self.token(user)),
                Some(body.to_string().into_bytes()),
            )
            .await;
        (s, v)
    }

    async fn get(&self, uri: &str, user: &str) -> (StatusCode, Value) {
        let (s, v, _) = self
            .call(Method::GET, uri, Some(&self.token(user)), None)
            .await;
        (s, v)
    }
}

/// Every operation of the contract, its path parameters filled in.
fn operations() -> Vec<(Method, String, bool)> {
    let doc: Value = serde_json::from_str(soulprint_http::OPENAPI).unwrap();
    let mut ops = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let public = op.get("security").is_some_and(|s| s == &json!([]));
            let uri = path
                .replace("{upload_id}", "0123456789abcdef0123456789abcdef")
                .replace("{thread_id}", "0123456789abcdef0123456789abcdef")
                .replace("{part}", "1")
                .replace("{id}", "some-id");
            ops.push((method.to_uppercase().parse().unwrap(), uri, public));
        }
    }
    ops
}

#[tokio::test]
async fn every_route_of_the_contract_exists_and_needs_a_valid_token() {
    let server = server();
    let ops = operations();
    // 18 private routes and 3 public ones (health, the contract, the page).
    assert_eq!(ops.len(), 21);
    let user = UserId::new("ana").unwrap();
    let expired = server.tokens.issue(&user, time::Duration::minutes(-10));
    let foreign = Tokens::hs256(b"another-key-of-32-bytes-or-more.", "iss", "aud")
        .issue(&user, time::Duration::hours(1));
    let wrong_audience = Tokens::hs256(b"test-key-of-32-bytes-or-more....", "iss", "other")
        .issue(&user, time::Duration::hours(1));
    for (method, uri, public) in ops {
        let (status, body, _) = server.call(method.clone(), &uri, None, None).await;
        if public {
            assert_eq!(status, StatusCode::OK, "{method} {uri}: {body}");
            continue;
        }
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {uri} with no token"
        );
        assert_eq!(body["error"]["code"], "unauthorized");
        for (what, token) in [
            ("expired", expired.as_str()),
            ("signed by another key", foreign.as_str()),
            ("for another audience", wrong_audience.as_str()),
            ("garbage", "not-a-jwt"),
        ] {
            let (status, _, headers) = server.call(method.clone(), &uri, Some(token), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {what}");
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        }
        // With a valid token the route exists (whatever it makes of the empty request).
        let (status, body, _) = server
            .call(method.clone(), &uri, Some(&server.token("ana")), None)
            .await;
        assert!(
            status != StatusCode::UNAUTHORIZED && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {status} {body}"
        );
        assert!(!status.is_server_error(), "{method} {uri}: {status} {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_an_import_runs_and_nobody_else_sees_it() {
    let server = server();
    let (zip, _) = generated(21, 600_000, 60_000);

    // An upload interrupted after two parts says what it lacks, and continues.
    let (_, upload) = server
        .json(
            Method::POST,
            "/uploads",
            "ana",
            json!({"size_bytes": zip.len()}),
        )
        .await;
    let id = upload["upload_id"].as_str().unwrap().to_owned();
    let parts = upload["parts"].as_u64().unwrap() as usize;
    assert!(parts >= 3, "{upload}");
    let part = |n: usize| zip.chunks(64 * 1024).nth(n - 1).unwrap().to_vec();
    for n in [1, 3] {
        let uri = format!("/uploads/{id}/parts/{n}");
        let (s, _, _) = server
            .call(Method::PUT, &uri, Some(&server.token("ana")), Some(part(n)))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (_, status) = server.get(&format!("/uploads/{id}"), "ana").await;
    assert_eq!(status["received"], json!([1, 3]));
    let (s, e) = server
        .json(Method::POST, "/imports", "ana", json!({"upload_id": id}))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("upload_incomplete"))
    );
    // A part of the wrong size is refused, not stored.
    let (s, _, _) = server
        .call(
            Method::PUT,
            &format!("/uploads/{id}/parts/2"),
            Some(&server.token("ana")),
            Some(vec![0; 10]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Someone else cannot see or add to it.
    let (s, _) = server.get(&format!("/uploads/{id}"), "bo").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = server
        .call(
            Method::PUT,
            &format!("/uploads/{id}/parts/2"),
            Some(&server.token("bo")),
            Some(part(2)),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = server
        .json(Method::POST, "/imports", "bo", json!({"upload_id": id}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for n in 2..=parts {
        let uri = format!("/uploads/{id}/parts/{n}");
        let (s, _, _) = server
            .call(Method::PUT, &uri, Some(&server.token("ana")), Some(part(n)))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (s, started) = server
        .json(Method::POST, "/imports", "ana", json!({"upload_id": id}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["import_status"], "processing");
    // The duplicate guard: a second import while the first is processing is refused.
    let again = server.import_refused("ana", &zip).await;
    assert_eq!(again, StatusCode::CONFLICT);

    let ana = UserId::new("ana").unwrap();
    work_until(&server.local, &ana, finished).await;
    let (s, latest) = server.get("/imports/latest", "ana").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(latest["full_pass_status"], "complete", "{latest}");
    let (s, profile) = server.get("/profile", "ana").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!profile["ai_name"].as_str().unwrap().is_empty());

    // A streamed turn: tokens, sources, the turn, [DONE].
    let (s, stream, headers) = server
        .call(
            Method::POST,
            "/chat/stream",
            Some(&server.token("ana")),
            Some(
                json!({"message": "What do I do for work?"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    let text = stream.as_str().unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(events.first(), Some(&"token"), "{text}");
    assert_eq!(&events[events.len() - 2..], ["sources", "done"], "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"));
    let done: Value = text
        .lines()
        .skip_while(|l| *l != "event: done")
        .nth(1)
        .and_then(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .unwrap();
    let thread = done["thread_id"].as_str().unwrap().to_owned();

    // Nobody else reaches any of it.
    let (_, facts) = server.get("/memory/facts", "ana").await;
    let fact = facts["facts"][0]["id"]
        .as_str()
        .expect("ana has facts")
        .to_owned();
    let (_, chunks) = server.get("/memory/chunks?limit=1", "ana").await;
    let chunk = chunks["chunks"][0]["id"]
        .as_str()
        .expect("ana has chunks")
        .to_owned();
    for uri in [
        format!("/chat/threads/{thread}/messages"),
        "/profile".into(),
        "/imports/latest".into(),
    ] {
        assert_eq!(
            server.get(&uri, "bo").await.0,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    for (uri, list) in [("/memory/facts", "facts"), ("/chat/threads", "threads")] {
        let (_, v) = server.get(uri, "bo").await;
        assert_eq!(v[list], json!([]), "{uri}");
        assert!(v["next"].is_null(), "{uri}");
    }
    let encoded = chunk.replace('#', "%23");
    for uri in [
        format!("/memory/facts/{fact}"),
        format!("/memory/chunks/{encoded}"),
    ] {
        let (s, _, _) = server
            .call(Method::DELETE, &uri, Some(&server.token("bo")), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
    }
    let (_, export) = server.get("/export", "bo").await;
    assert_eq!(export["facts"], json!([]));
    assert_eq!(export["profile"], Value::Null);
    assert_eq!(export["conversations"], json!([]));
    // Ana's export holds her conversations, as the import read them.
    let (status, export) = server.get("/export", "ana").await;
    assert_eq!(status, StatusCode::OK);
    assert!(export["conversations"].as_array().unwrap().len() > 1);
    assert!(export["conversations"][0]["messages"].is_array());
    // Bo forgetting himself leaves ana whole.
    let (s, _, _) = server
        .call(Method::DELETE, "/me", Some(&server.token("bo")), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(
        server
            .get(&format!("/chat/threads/{thread}/messages"), "ana")
            .await
            .0,
        StatusCode::OK
    );

    // Ana deletes a fact and a chunk; then forgets everything.
    for uri in [
        format!("/memory/facts/{fact}"),
        format!("/memory/chunks/{encoded}"),
    ] {
        let (s, _, _) = server
            .call(Method::DELETE, &uri, Some(&server.token("ana")), None)
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{uri}");
    }
    let (_, facts) = server.get("/memory/facts", "ana").await;
    assert!(facts["facts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["id"] != fact.as_str()));
    let (s, body, _) = server
        .call(Method::DELETE, "/me", Some(&server.token("ana")), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    // From the moment it is accepted nothing of ana is readable, before the job has run.
    for uri in [
        "/profile",
        "/memory/facts",
        "/chat/threads",
        "/export",
        "/imports/latest",
    ] {
        let (s, body) = server.get(uri, "ana").await;
        assert_eq!(s, StatusCode::GONE, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "forgotten");
    }
    // The job deletes it all and lifts the marker: ana may start again, from nothing.
    let ana = UserId::new("ana").unwrap();
    let workers = server.local.start_workers().await.unwrap();
    for _ in 0..400 {
        if server
            .local
            .ports
            .store
            .forgotten(&ana)
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    workers.stop(std::time::Duration::from_secs(5)).await;
    assert_eq!(server.get("/profile", "ana").await.0, StatusCode::NOT_FOUND);
    let (_, facts) = server.get("/memory/facts", "ana").await;
    assert_eq!(facts["facts"], json!([]));
    assert!(server
        .local
        .ports
        .blobs
        .list(&ana, "")
        .await
        .unwrap()
        .is_empty());
}

impl Server {
    /// Uploads `bytes` and tries to start an import; the status of that try.
    async fn import_refused(&self, user: &str, bytes: &[u8]) -> StatusCode {
        let (_, upload) = self
            .json(
                Method::POST,
                "/uploads",
                user,
                json!({"size_bytes": bytes.len()}),
            )
            .await;
        let id = upload["upload_id"].as_str().unwrap().to_owned();
        let part = upload["part_bytes"].as_u64().unwrap() as usize;
        for (i, piece) in bytes.chunks(part).enumerate() {
            let uri = format!("/uploads/{id}/parts/{}", i + 1);
            self.call(
                Method::PUT,
                &uri,
                Some(&self.token(user)),
                Some(piece.to_vec()),
            )
            .await;
        }
        self.json(Method::POST, "/imports", user, json!({"upload_id": id}))
            .await
            .0
    }
}

#[tokio::test]
async fn the_expensive_tier_allows_20_a_minute_then_says_when_to_come_back() {
    let server = server();
    for _ in 0..20 {
        let (s, _) = server
            .json(Method::POST, "/chat", "ana", json!({"message": ""}))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    let (s, body, headers) = server
        .call(
            Method::POST,
            "/chat",
            Some(&server.token("ana")),
            Some(json!({"message": "hi"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    // Another person, and another tier, are not limited by it.
    let (s, _) = server
        .json(Method::POST, "/chat", "bo", json!({"message": ""}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(server.get("/memory/facts", "ana").await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_bodies_get_the_json_error_shape() {
    let server = server();
    let (s, v, _) = server
        .call(
            Method::POST,
            "/uploads",
            Some(&server.token("ana")),
            Some(b"{\"size_bytes\": \"big\"}".to_vec()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["code"], "bad_body");
    let (s, v, _) = server
        .call(
            Method::POST,
            "/uploads",
            Some(&server.token("ana")),
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = server
        .json(Method::POST, "/uploads", "ana", json!({"size_bytes": 0}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v, _) = server
        .call(
            Method::PUT,
            "/uploads/0123456789abcdef0123456789abcdef/parts/x",
            Some(&server.token("ana")),
            Some(vec![1]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]["message"].is_string());
}

#[tokio::test]
async fn a_body_must_be_a_json_object_and_a_bad_token_says_only_that() {
    let server = server();
    // `["hi"]` is JSON, but no request of the API is an array.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/chat")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", server.token("ana")),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"["hi"]"#))
        .unwrap();
    let response = server.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("JSON object"));

    // A token claiming no algorithm: refused, without the library's words about why.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbmEifQ.";
    let (s, v, _) = server
        .call(Method::GET, "/imports/latest", Some(none), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("invalid token"), "{message}");
    assert!(
        !message.contains("variant") && !message.contains("HS256"),
        "{message}"
    );
}

#[tokio::test]
async fn an_earlier_page_of_a_thread_that_does_not_exist_is_not_found() {
    let server = server();
    let (s, v) = server
        .get(
            "/chat/threads/0193a1b2c3d4e5f60718293a4b5c6d7e/messages?before=5",
            "ana",
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn a_person_may_hold_only_so_many_unfinished_uploads() {
    let server = server();
    for _ in 0..3 {
        let (s, v) = server
            .json(Method::POST, "/uploads", "ana", json!({"size_bytes": 1000}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = server
        .json(Method::POST, "/uploads", "ana", json!({"size_bytes": 1000}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"]["code"], "upload_quota");
    // Someone else's uploads are theirs to count.
    let (s, _) = server
        .json(Method::POST, "/uploads", "bo", json!({"size_bytes": 1000}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // Declared bytes count too: one upload as large as the quota leaves no room.
    let (s, v) = server
        .json(
            Method::POST,
            "/uploads",
            "bo",
            json!({"size_bytes": 5u64 << 30}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = server
        .json(
            Method::POST,
            "/uploads",
            "bo",
            json!({"size_bytes": 5u64 << 30}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}

/// Every file of the data directory that is not the person's own record (the exports and the
/// conversations read from them stay), with whether it holds `needle`.
fn holding(dir: &std::path::Path, needle: &str, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // An import's blobs: its export, the conversations read from it and their chunks.
            if path.parent().is_some_and(|p| p.ends_with("imports")) {
                continue;
            }
            holding(&path, needle, found);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let lower = String::from_utf8_lossy(&bytes).to_lowercase();
            if lower.contains(&needle.to_lowercase()) {
                found.push(path.display().to_string());
            }
        }
    }
}

/// A newer import failed: the person's memory controls still work, a deleted fact is gone from
/// everything the model sees and from the database at once, and the next pass over the same
/// export does not bring it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_controls_work_after_a_failed_import_and_a_deleted_fact_stays_deleted() {
    let server = server();
    let ana = UserId::new("ana").unwrap();
    let (zip, _) = generated(21, 600_000, 60_000);
    assert_eq!(
        server.import_refused("ana", &zip).await,
        StatusCode::ACCEPTED
    );
    work_until(&server.local, &ana, finished).await;
    // A fact MEMORY and the system prompt show.
    let (_, profile) = server.get("/profile", "ana").await;
    let memory_md = profile["memory_md"].as_str().unwrap().to_owned();
    let (_, facts) = server.get("/memory/facts", "ana").await;
    let fact = facts["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["status"] == "current" && memory_md.contains(f["text"].as_str().unwrap()))
        .expect("a fact in MEMORY")
        .clone();
    let (id, text) = (fact["id"].as_str().unwrap(), fact["text"].as_str().unwrap());

    // A newer import of something that is no export: it fails.
    assert_eq!(
        server.import_refused("ana", b"not an export at all").await,
        StatusCode::ACCEPTED
    );
    work_until(&server.local, &ana, |s| s.status == ImportStatus::Failed).await;

    let (s, v) = server
        .json(
            Method::PATCH,
            "/profile",
            "ana",
            json!({"ai_name": "Juniper"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = server
        .call(
            Method::DELETE,
            &format!("/memory/facts/{id}"),
            Some(&server.token("ana")),
            None,
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let (_, profile) = server.get("/profile", "ana").await;
    for field in ["memory_md", "soulprint_text"] {
        let shown = profile[field].as_str().unwrap_or_default();
        assert!(!shown.contains(text), "{field} still holds {text:?}");
    }
    assert_eq!(profile["ai_name"], "Juniper");
    let (_, facts) = server.get("/memory/facts", "ana").await;
    assert!(!facts.to_string().contains(id));
    // Nothing of it left readable in the database, its log or the index.
    let mut found = Vec::new();
    holding(server._dir.path(), text, &mut found);
    assert!(found.is_empty(), "{text:?} is still in {found:?}");

    // An excerpt, deleted in the same state.
    let (_, chunks) = server.get("/memory/chunks?limit=1", "ana").await;
    let chunk = chunks["chunks"][0]["id"].as_str().unwrap().to_owned();
    let (s, v, _) = server
        .call(
            Method::DELETE,
            &format!("/memory/chunks/{}", chunk.replace('#', "%23")),
            Some(&server.token("ana")),
            None,
        )
        .await;
    assert!(s.is_success(), "{s} {v}");

    // The same export again: the pass reads the fact again, and leaves it out.
    assert_eq!(
        server.import_refused("ana", &zip).await,
        StatusCode::ACCEPTED
    );
    work_until(&server.local, &ana, |s| {
        s.full_pass.status == soulprint_core::import_state::FullPassStatus::Complete
    })
    .await;
    let (_, profile) = server.get("/profile", "ana").await;
    assert!(!profile["memory_md"].as_str().unwrap().contains(text));
    let (_, facts) = server.get("/memory/facts", "ana").await;
    assert!(
        !facts["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["text"] == text),
        "{text:?} came back"
    );
    let (_, chunks) = server.get("/memory/chunks?limit=200", "ana").await;
    assert!(
        !chunks.to_string().contains(&format!("\"{chunk}\"")),
        "the excerpt came back"
    );
}

/// A person's imports have a budget: so many a day, so much model spend a month. Past it a new
/// import is refused with 429 and when to come back, and their status says where they stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_past_the_persons_budget_are_refused_and_the_status_says_so() {
    use soulprint_core::ports::store::ImportUsage;
    let dir = tempfile::tempdir().unwrap();
    let local = Local::open(LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm: Arc::new(Offline),
        fact_llm: None,
        fact_workers: 2,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    let windows = Arc::new(soulprint_local::MemoryWindows::default());
    let mut api = Api::new(local.ports.clone(), RateLimits::off());
    api.part_bytes = 64 * 1024;
    api.import_budget = Some(soulprint_http::import_budget::ImportBudget {
        windows,
        per_day: 2,
        spend_per_month_usd: 0.5,
    });
    let tokens = Arc::new(Tokens::hs256(
        b"test-key-of-32-bytes-or-more....",
        "iss",
        "aud",
    ));
    let server = Server {
        app: router(Arc::new(api), Arc::clone(&tokens)),
        tokens,
        local,
        _dir: dir,
    };
    let ana = UserId::new("ana").unwrap();
    for _ in 0..2 {
        assert_eq!(
            server.import_refused("ana", b"no export").await,
            StatusCode::ACCEPTED
        );
        work_until(&server.local, &ana, |s| s.status == ImportStatus::Failed).await;
    }
    let (_, latest) = server.get("/imports/latest", "ana").await;
    assert_eq!(latest["budget"]["imports_today"], 2, "{latest}");
    assert_eq!(latest["budget"]["imports_per_day"], 2);
    let (_, upload) = server
        .json(Method::POST, "/uploads", "ana", json!({"size_bytes": 9}))
        .await;
    let id = upload["upload_id"].as_str().unwrap().to_owned();
    server
        .call(
            Method::PUT,
            &format!("/uploads/{id}/parts/1"),
            Some(&server.token("ana")),
            Some(b"no export".to_vec()),
        )
        .await;
    let (s, v, headers) = server
        .call(
            Method::POST,
            "/imports",
            Some(&server.token("ana")),
            Some(json!({"upload_id": id}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "budget_imports");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Someone else's budget is their own; spend past the month's is refused the same way.
    server
        .local
        .ports
        .store
        .record_usage(
            &UserId::new("bo").unwrap(),
            "i1",
            "quick_pass",
            &ImportUsage {
                cost_usd: 0.75,
                ..ImportUsage::default()
            },
        )
        .await
        .unwrap();
    let (_, upload) = server
        .json(Method::POST, "/uploads", "bo", json!({"size_bytes": 9}))
        .await;
    let id = upload["upload_id"].as_str().unwrap().to_owned();
    let (s, v) = server
        .json(Method::POST, "/imports", "bo", json!({"upload_id": id}))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"]["code"], "budget_spent");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("$0.75"),
        "{v}"
    );
}

/// Long lists come a page at a time: facts and threads by cursor, each page within its count
/// and its bytes, every item once; a thread's page of long messages stays under Lambda's
/// 6 MB, its oldest left for the next page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lists_come_in_pages_that_fit_a_response() {
    use soulprint_core::conversation::Role;
    use soulprint_core::memory::{consolidate, Category, Fact, Origin, Source};
    use soulprint_core::ports::store::ChatMessage;
    let server = server();
    let ana = UserId::new("ana").unwrap();
    let store = &server.local.ports.store;
    let facts: Vec<Fact> = (0..1_200)
        .map(|i| Fact {
            category: Category::Preference,
            text: format!("Collects stamp series {i}"),
            subject: None,
            source: Source {
                origin: Origin::Conversation,
                conversation_id: format!("c{i}"),
                message_ids: vec![format!("m{i}")],
                observed_at: None,
            },
        })
        .collect();
    store
        .put_facts(&ana, None, &consolidate(facts))
        .await
        .unwrap();

    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let uri = match &cursor {
            Some(c) => format!("/memory/facts?limit=500&cursor={c}"),
            None => "/memory/facts?limit=500".to_owned(),
        };
        let (status, page) = server.get(&uri, "ana").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 1_200);
        let items = page["facts"].as_array().unwrap();
        assert!(items.len() <= 500);
        for f in items {
            assert!(
                seen.insert(f["id"].as_str().unwrap().to_owned()),
                "once each"
            );
        }
        pages += 1;
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (1_200, 3));
    let (status, _) = server.get("/memory/facts?cursor=abc", "ana").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // 200 messages of 50,000 characters: more than 6 MB in one page, were it not bounded.
    let thread = "0193a1b2c3d4e5f60718293a4b5c6d7e";
    let now = time::OffsetDateTime::now_utc();
    let messages: Vec<ChatMessage> = (0..200u64)
        .map(|n| ChatMessage {
            thread_id: thread.into(),
            seq: 0,
            id: format!("msg{n}"),
            role: if n % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            },
            text: format!("{n} {}", "é".repeat(50_000)),
            answered_by: None,
            at: now,
        })
        .collect();
    store.append_chat(&ana, &messages).await.unwrap();
    let uri = format!("/chat/threads/{thread}/messages?limit=200");
    let token = server.token("ana");
    let request = Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = server.app.clone().oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.len() < 6_000_000, "{} bytes", bytes.len());
    let page: Value = serde_json::from_slice(&bytes).unwrap();
    let got = page["messages"].as_array().unwrap();
    assert!(got.len() < 200 && !got.is_empty());
    assert_eq!(got.last().unwrap()["id"], "msg199", "the newest are kept");
    let (_, threads) = server.get("/chat/threads?limit=1", "ana").await;
    assert_eq!(threads["threads"].as_array().unwrap().len(), 1);
    assert!(threads["next"].is_null());
}
