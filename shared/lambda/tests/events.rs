//! The functions' handlers fed the `events/` files, on real AWS adapters against moto: API
//! Gateway requests with and without the authorizer's claims, the Function URL request with
//! tokens good and bad, SQS batches with a poisoned message.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

mod common;

use common::{api_event, event, invocation};

use std::sync::Arc;

use http_body_util::BodyExt;
use soulprint_core::ports::{QueueName, UserId};
use soulprint_http::{Api, RouteGroup};
use soulprint_lambda::aws_lambda_events::event::sqs::SqsEvent;
use soulprint_lambda::lambda_http::{self, Request};
use soulprint_lambda::{api, sqs_worker, stream};
use tower::ServiceExt;

fn request(name: &str) -> Request {
    lambda_http::request::from_str(&event(name)).unwrap()
}

/// The same request as the authorizer would never pass it: no claims.
fn without_claims(name: &str) -> Request {
    let mut json: serde_json::Value = serde_json::from_str(&event(name)).unwrap();
    json["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

/// The function an event file is for (its name begins with the function's).
fn group(name: &str) -> RouteGroup {
    RouteGroup::ALL
        .into_iter()
        .filter(|g| name.starts_with(g.function()))
        .max_by_key(|g| g.function().len())
        .unwrap_or_else(|| panic!("{name} is for no API function"))
}

/// Each API function's app over one state, as each function would be deployed.
fn apps(state: &Arc<Api>) -> impl Fn(RouteGroup) -> axum::Router + '_ {
    move |group| api::app(Arc::clone(state), group)
}

async fn call(app: axum::Router, request: Request) -> (u16, String, serde_json::Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, kind, body)
}

const PRIVATE: [&str; 8] = [
    "trigger-begin-upload.json",
    "trigger-start-import.json",
    "status-latest-import.json",
    "status-profile.json",
    "chat-turn.json",
    "memory-facts.json",
    "memory-chunks-search.json",
    "status-profile-without-claims.json",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_events_are_answered_for_the_authorizers_subject_and_refused_without_it() {
    let settings = common::resources(30).await;
    let state = settings.api().await.unwrap();
    let app = apps(&state);

    let (status, _, body) = call(app(RouteGroup::Health), request("health.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dependencies"]["store"]["ok"], true, "{body}");

    for name in PRIVATE {
        let (status, kind, body) = call(app(group(name)), without_claims(name)).await;
        assert_eq!(status, 401, "{name} without claims: {body}");
        assert!(kind.starts_with("application/json"), "{name}: {kind}");
    }
    for name in &PRIVATE[..7] {
        let (status, kind, body) = call(app(group(name)), request(name)).await;
        assert!(
            status != 401 && status < 500,
            "{name} answered {status}: {body}"
        );
        assert!(kind.starts_with("application/json"), "{name}: {kind}");
        // Another function does not serve it, and says which routes it does serve.
        let other = if group(name) == RouteGroup::Memory {
            RouteGroup::Status
        } else {
            RouteGroup::Memory
        };
        let (status, _, body) = call(app(other), request(name)).await;
        assert_eq!(status, 404, "{name} at the {other:?} function: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(other.function()),
            "{body}"
        );
    }
    // The subject is the user: an upload begun for user-7f3a is found only by user-7f3a.
    let app = app(RouteGroup::Trigger);
    let (status, _, upload) = call(app.clone(), request("trigger-begin-upload.json")).await;
    assert_eq!(status, 201, "{upload}");
    let id = upload["upload_id"].as_str().unwrap();
    let mut status_event: serde_json::Value =
        serde_json::from_str(&event("status-latest-import.json")).unwrap();
    status_event["rawPath"] = format!("/uploads/{id}").into();
    status_event["requestContext"]["http"]["path"] = format!("/uploads/{id}").into();
    let owner = lambda_http::request::from_str(&status_event.to_string()).unwrap();
    assert_eq!(call(app.clone(), owner).await.0, 200);
    status_event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "someone-else".into();
    let stranger = lambda_http::request::from_str(&status_event.to_string()).unwrap();
    assert_eq!(call(app.clone(), stranger).await.0, 404);
}

fn signed(claims: serde_json::Value) -> String {
    signed_with(include_bytes!("fixtures/signing-key.pem"), "key-1", claims)
}

fn signed_with(pem: &[u8], kid: &str, claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// An issuer's JWKS endpoint on 127.0.0.1: key-1 until the switch is flipped, then key-1 and
/// key-2 (a rotation).
async fn jwks_server() -> (String, Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let rotated = Arc::new(AtomicBool::new(false));
    let flag = rotated.clone();
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let flag = flag.clone();
            async move {
                if flag.load(Ordering::SeqCst) {
                    include_str!("fixtures/jwks-rotated.json")
                } else {
                    include_str!("fixtures/jwks.json")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rotated)
}

/// The issuer rotates its keys: a token of the new key is accepted once the keys are fetched
/// again, which happens for an unknown key id, at most once per interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_url_fetches_the_keys_again_after_a_rotation() {
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let (url, rotated) = jwks_server().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": "user-7f3a", "iss": issuer, "aud": "4b1f0c2example", "exp": now + 600, "iat": now,
    });
    let new_key = signed_with(
        include_bytes!("fixtures/signing-key-2.pem"),
        "key-2",
        claims,
    );
    let eager = stream::IssuerKeys::fetch(&url, issuer, "4b1f0c2example", Default::default())
        .await
        .unwrap();
    let patient = stream::IssuerKeys::fetch(
        &url,
        issuer,
        "4b1f0c2example",
        std::time::Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert!(eager.verify(&new_key).await.is_err(), "not published yet");
    rotated.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(eager.verify(&new_key).await.unwrap().as_str(), "user-7f3a");
    // Fetched less than an interval ago: not fetched again, however many unknown ids arrive.
    assert!(matches!(
        patient.verify(&new_key).await,
        Err(soulprint_http::AuthError::UnknownKey(_))
    ));
}

fn stream_request(token: &str) -> Request {
    let mut json: serde_json::Value =
        serde_json::from_str(&event("chat-stream-function-url.json")).unwrap();
    json["headers"]["authorization"] = format!("Bearer {token}").into();
    lambda_http::request::from_str(&json.to_string()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_url_checks_the_token_against_the_issuers_keys() {
    let settings = common::resources(30).await;
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let (jwks_url, _) = jwks_server().await;
    let keys = stream::IssuerKeys::fetch(
        jwks_url,
        issuer,
        "4b1f0c2example",
        std::time::Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let app = stream::app(settings.api().await.unwrap(), Arc::new(keys));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |iss: &str, aud: serde_json::Value, exp: u64| serde_json::json!({"sub": "user-7f3a", "iss": iss, "aud": aud, "exp": exp, "iat": now});
    // Good: answered for the user (who has no soulprint yet: 409, not 401).
    let good = signed(claims(issuer, "4b1f0c2example".into(), now + 600));
    let (status, _, body) = call(app.clone(), stream_request(&good)).await;
    assert!(status != 401 && status < 500, "{status} {body}");
    // An audience list naming this client is fine too.
    let listed = signed(claims(
        issuer,
        serde_json::json!(["other", "4b1f0c2example"]),
        now + 600,
    ));
    assert_ne!(call(app.clone(), stream_request(&listed)).await.0, 401);
    for (what, token) in [
        (
            "expired",
            signed(claims(issuer, "4b1f0c2example".into(), now - 3600)),
        ),
        (
            "another issuer",
            signed(claims(
                "https://evil.example",
                "4b1f0c2example".into(),
                now + 600,
            )),
        ),
        (
            "another audience",
            signed(claims(issuer, "other".into(), now + 600)),
        ),
        (
            "another key",
            soulprint_http::Tokens::hs256(b"k", issuer, "4b1f0c2example")
                .issue(&UserId::new("user-7f3a").unwrap(), time::Duration::hours(1)),
        ),
        ("garbage", "not.a.jwt".to_owned()),
        (
            "valid for 30 days (an identity provider's tokens live a day at most)",
            signed(claims(issuer, "4b1f0c2example".into(), now + 30 * 86_400)),
        ),
        ("not valid yet (nbf)", {
            let mut c = claims(issuer, "4b1f0c2example".into(), now + 7_200);
            c["nbf"] = (now + 3_600).into();
            signed(c)
        }),
    ] {
        let (status, _, body) = call(app.clone(), stream_request(&token)).await;
        assert_eq!(status, 401, "{what}: {body}");
    }
}

fn sqs_event(name: &str) -> SqsEvent {
    serde_json::from_str(&event(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_events_trust_only_ids_the_store_knows_and_fail_one_message_alone() {
    let settings = common::resources(30).await;
    let ports = settings.ports(false).await.unwrap();
    // What a worker still running when its person was forgotten wrote after the forget.
    let user = UserId::new("user-7f3a").unwrap();
    let orphan = soulprint_core::stages::import_blob(
        &user,
        "0193a1b2c3d4e5f60718293a4b5c6d7e",
        "conversations.jsonl",
    )
    .unwrap();
    ports.blobs.put(&orphan, b"{}".to_vec()).await.unwrap();
    for (name, queue) in [
        ("import-worker-sqs.json", QueueName::Imports),
        ("full-pass-sqs.json", QueueName::FullPass),
        ("fact-worker-sqs.json", QueueName::Facts),
        ("memory-finalizer-sqs.json", QueueName::Finalize),
        (
            "import-worker-supervisor-gave-up-sqs.json",
            QueueName::Imports,
        ),
    ] {
        let response =
            sqs_worker::handle_batch(&ports, queue, invocation(sqs_event(name), 60)).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{name}: {:?}",
            response.batch_item_failures
        );
    }
    // Nothing was written for the import the messages named: no such import here; and what
    // was left of it is gone.
    assert!(ports.store.import_state(&user).await.unwrap().is_none());
    assert!(!ports.blobs.exists(&orphan).await.unwrap());
    assert!(ports.store.profile(&user).await.unwrap().is_none());

    // A message that is not a job fails alone; its neighbour is done.
    let mut event = sqs_event("fact-worker-sqs.json");
    event.records[0].body = Some("{\"job\": \"rm -rf\"}".into());
    let poisoned = event.records[0].message_id.clone().unwrap();
    let response = sqs_worker::handle_batch(&ports, QueueName::Facts, invocation(event, 60)).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, [poisoned.as_str()]);

    // A job of another queue is refused by this worker (the event source is wired wrong):
    // it fails, to reach the dead letters, and nothing is done for it.
    let event = sqs_event("fact-worker-sqs.json");
    let jobs = event.records.len();
    let response =
        sqs_worker::handle_batch(&ports, QueueName::Finalize, invocation(event, 60)).await;
    assert_eq!(response.batch_item_failures.len(), jobs);
}

/// Two instances of a function (two processes on Lambda) count in the same windows: the
/// 61st standard request of a minute is refused with `Retry-After`, whichever answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_counted_across_instances() {
    let settings = common::resources(30).await;
    let one = api::app(settings.api().await.unwrap(), RouteGroup::Status);
    let two = api::app(settings.api().await.unwrap(), RouteGroup::Status);
    // Start early in a minute, so that all 61 fall in one window.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let mut statuses = Vec::new();
    for i in 0..61 {
        let app = if i % 2 == 0 { one.clone() } else { two.clone() };
        let response = app.oneshot(request("status-profile.json")).await.unwrap();
        statuses.push((
            response.status().as_u16(),
            response.headers().get("retry-after").cloned(),
        ));
    }
    let (last, retry_after) = statuses.pop().unwrap();
    assert_eq!(last, 429, "the 61st of the minute is refused");
    assert!(statuses.iter().all(|(s, _)| *s != 429), "{statuses:?}");
    let seconds: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
}

/// An export goes straight to S3 in presigned parts and an interrupted upload continues with
/// the parts S3 lacks. Then starting the execution fails (here: no such state machine): the
/// person is told at once, the import is not left "processing", and the uploaded export stays
/// for another try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_goes_straight_to_s3_resumes_and_outlives_an_import_that_cannot_start() {
    let settings = common::resources(30).await;
    let sdk = settings.sdk_config().await;
    let blobs = Arc::new(settings.s3_blobs(&sdk));
    let mut state = api::state(
        settings.ports(true).await.unwrap(),
        settings.rate_windows(&sdk),
        blobs.clone(),
    );
    // S3's smallest part (5 MiB) keeps the test small: 11 MiB in three parts.
    Arc::get_mut(&mut state).unwrap().direct_part_bytes = 5 << 20;
    let app = api::app(Arc::clone(&state), RouteGroup::Trigger);
    let status_app = api::app(state, RouteGroup::Status);
    let export: Vec<u8> = (0..11u32 << 20).map(|i| (i % 253) as u8).collect();
    let begin = serde_json::json!({"size_bytes": export.len()}).to_string();
    let (status, _, upload) = call(
        app.clone(),
        api_event("POST", "/uploads", Some(begin.as_bytes()), true),
    )
    .await;
    assert_eq!(status, 201, "{upload}");
    assert_eq!(upload["parts"], 3);
    assert!(upload.get("storage_upload_id").is_none(), "{upload}");
    let id = upload["upload_id"].as_str().unwrap().to_owned();
    let urls: Vec<String> = upload["part_urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(urls.len(), 3);
    let http = reqwest::Client::new();
    let put = |n: usize, url: String| {
        let part = export[(n - 1) * (5 << 20)..(n * (5 << 20)).min(export.len())].to_vec();
        let http = http.clone();
        async move {
            let r = http.put(url).body(part).send().await.unwrap();
            assert!(r.status().is_success(), "part {n}: {}", r.status());
        }
    };
    // Parts 1 and 3 arrive; the connection drops.
    put(1, urls[0].clone()).await;
    put(3, urls[2].clone()).await;
    let (status, _, upload) = call(
        app.clone(),
        api_event("GET", &format!("/uploads/{id}"), None, true),
    )
    .await;
    assert_eq!(status, 200, "{upload}");
    assert_eq!(upload["received"], serde_json::json!([1, 3]));
    let missing = upload["part_urls"].as_array().unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["part"], 2);
    // Parts go to S3, not through the function.
    let (status, _, body) = call(
        app.clone(),
        api_event("PUT", &format!("/uploads/{id}/parts/2"), Some(b"x"), false),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    put(2, missing[0]["url"].as_str().unwrap().to_owned()).await;

    let start = serde_json::json!({"upload_id": id}).to_string();
    for _ in 0..2 {
        let (status, _, body) = call(
            app.clone(),
            api_event("POST", "/imports", Some(start.as_bytes()), true),
        )
        .await;
        assert!(status >= 500, "{status} {body}");
        let (status, _, latest) =
            call(status_app.clone(), request("status-latest-import.json")).await;
        assert_eq!(status, 200, "{latest}");
        assert_eq!(latest["import_status"], "failed", "{latest}");
        assert!(
            latest["import_error"]
                .as_str()
                .unwrap()
                .contains("could not be started"),
            "{latest}"
        );
        // The export, joined in S3, is whole and still there for the next try.
        let user = UserId::new("user-7f3a").unwrap();
        let key =
            soulprint_core::stages::import_blob(&user, &id, soulprint_core::stages::EXPORT_BLOB)
                .unwrap();
        use soulprint_core::ports::Blobs;
        assert!(blobs.get(&key).await.unwrap() == export);
    }
}

/// On AWS an export leaves from S3: `GET /export` answers a redirect to a short-lived
/// presigned link, and the link gives the whole document, conversations included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_a_link_to_the_whole_document_in_s3() {
    let settings = common::resources(30).await;
    let sdk = settings.sdk_config().await;
    let blobs = Arc::new(settings.s3_blobs(&sdk));
    let ports = settings.ports(true).await.unwrap();
    let user = UserId::new("user-7f3a").unwrap();
    // An import that read its export: its conversations are stored.
    let mut state =
        soulprint_core::import_state::ImportState::begin(None, "i1", ports.clock.now()).unwrap();
    state.quick_ready("i1", ports.clock.now()).unwrap();
    ports
        .store
        .put_import_state(&user, &state, None)
        .await
        .unwrap();
    let conversations = soulprint_core::stages::import_blob(
        &user,
        "i1",
        soulprint_core::stages::CONVERSATIONS_BLOB,
    )
    .unwrap();
    use soulprint_core::ports::Blobs;
    blobs
        .put(
            &conversations,
            b"{\"id\":\"c1\",\"messages\":[]}\n{\"id\":\"c2\",\"messages\":[]}\n".to_vec(),
        )
        .await
        .unwrap();
    let app = api::app(
        api::state(ports, settings.rate_windows(&sdk), blobs),
        RouteGroup::Memory,
    );
    let response = app
        .oneshot(api_event("GET", "/export", None, true))
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let link = response.headers()["location"].to_str().unwrap().to_owned();
    let export: serde_json::Value = reqwest::get(&link).await.unwrap().json().await.unwrap();
    assert_eq!(export["user"], "user-7f3a");
    assert_eq!(export["conversations"][1]["id"], "c2");
    assert_eq!(export["import"]["import_id"], "i1");
}

/// The chat function behind API Gateway has 30 s in all: a primary model that hangs takes only
/// its share of the invocation's time, and the fallback answers before the deadline, the turn
/// kept. (With the 120 s limit of `soulprint serve` the function was killed first, and the
/// person got a 5xx.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_model_leaves_the_chat_function_time_to_answer_by_the_fallback() {
    use soulprint_core::import_state::ImportState;
    use soulprint_e2e::pipeline::ScriptedModel;
    use soulprint_lambda::lambda_http::RequestExt;
    let settings = common::resources(30).await;
    let mut state = settings.api().await.unwrap();
    let hanging = Arc::new(ScriptedModel::new(vec![], vec![]));
    hanging
        .hang_chat
        .store(true, std::sync::atomic::Ordering::SeqCst);
    {
        let api = Arc::get_mut(&mut state).unwrap();
        api.ports.llm = hanging;
        api.ports.fallback_llm = Some(Arc::new(soulprint_local::Offline));
        api.chat_budget = soulprint_core::stages::ChatBudget {
            primary: std::time::Duration::from_secs(20),
            fallback: std::time::Duration::from_secs(10),
        };
    }
    // The person has a soulprint to chat with.
    let user = UserId::new("user-7f3a").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut import = ImportState::begin(None, "i1", now).unwrap();
    import.quick_ready("i1", now).unwrap();
    state
        .ports
        .store
        .put_import_state(&user, &import, None)
        .await
        .unwrap();
    let profile = soulprint_e2e::pipeline::profile("Wren", now);
    state
        .ports
        .store
        .put_profile(&user, &profile)
        .await
        .unwrap();

    // An invocation with 6 s left.
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 6_000;
    let mut context = soulprint_lambda::lambda_runtime::Context::default();
    context.deadline = deadline;
    let app = api::app(Arc::clone(&state), RouteGroup::Chat);
    let started = std::time::Instant::now();
    let (status, _, body) = call(app, request("chat-turn.json").with_lambda_context(context)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(
        body["answered_by"].as_str().unwrap().contains("fallback"),
        "{body}"
    );
    let thread = body["thread_id"].as_str().unwrap();
    let kept = state
        .ports
        .store
        .chat_messages(&user, thread, None, 10)
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
}
