//! The Bedrock adapter against a fake Converse server on 127.0.0.1: the real SDK, pointed at
//! a server that answers as Bedrock does (JSON for Converse, AWS event-stream frames for
//! ConverseStream), throttles, fails, or answers with the wrong shape.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Response, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use soulprint_aws::bedrock::retry_config;
use soulprint_aws::{Bedrock, BedrockConfig};
use soulprint_contract::llm::{Harness, Scripted};
use soulprint_core::conversation::Role;
use soulprint_core::model::Model;
use soulprint_core::ports::llm::{ChatAnswer, ChatRequest, ChatTurn, MemoryRequest};
use soulprint_core::ports::{Llm, LlmError};

/// What the fake answers to the next call of a model.
#[derive(Clone)]
enum Answer {
    /// A `toolUse` of `name` with this input.
    Tool(&'static str, Value),
    /// A `toolUse` of the tool the request forces, with this input.
    Forced(Value),
    /// The forced tool's input, cut off at `maxTokens`.
    CutOff,
    /// 404 ResourceNotFoundException: the model reached end of life.
    Retired,
    /// Plain text where a tool call was forced.
    Text(&'static str),
    /// 429 ThrottlingException.
    Throttle,
    /// 400 ValidationException.
    Invalid,
    /// ConverseStream: these text pieces, then usage.
    Stream(Vec<&'static str>),
    /// ConverseStream: a `web_search` call, its input in two pieces.
    StreamSearch(&'static str),
}

#[derive(Default)]
struct Fake {
    script: Mutex<VecDeque<Answer>>,
    /// Every request: the model id in the path and the body.
    seen: Mutex<Vec<(String, Value)>>,
}

impl Fake {
    fn seen(&self) -> Vec<(String, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn start(script: Vec<Answer>) -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake {
        script: Mutex::new(script.into()),
        seen: Mutex::default(),
    });
    let app = Router::new()
        .route("/model/{model}/converse", post(converse))
        .route("/model/{model}/converse-stream", post(converse))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, url)
}

async fn converse(
    State(fake): State<Arc<Fake>>,
    Path(model): Path<String>,
    body: String,
) -> Response<Body> {
    fake.seen
        .lock()
        .unwrap()
        .push((model.clone(), serde_json::from_str(&body).unwrap()));
    // A model whose id ends in ".throttled" never gets through; the others take the script.
    let next = if model.ends_with(".throttled") {
        Some(Answer::Throttle)
    } else {
        fake.script.lock().unwrap().pop_front()
    };
    let usage = json!({"inputTokens": 120, "outputTokens": 30, "totalTokens": 150});
    let json_reply = |status: StatusCode, error: Option<&str>, body: Value| {
        let mut r = Response::builder()
            .status(status)
            .header("content-type", "application/json");
        if let Some(kind) = error {
            r = r.header("x-amzn-errortype", kind);
        }
        r.body(Body::from(body.to_string())).unwrap()
    };
    match next {
        None | Some(Answer::Throttle) => json_reply(
            StatusCode::TOO_MANY_REQUESTS,
            Some("ThrottlingException"),
            json!({"message": "Too many requests, please wait before trying again."}),
        ),
        Some(Answer::Retired) => json_reply(
            StatusCode::NOT_FOUND,
            Some("ResourceNotFoundException"),
            json!({"message": "This model version has reached the end of its life. Please refer to the AWS documentation for more details."}),
        ),
        Some(Answer::Forced(input)) => {
            let name = fake.seen.lock().unwrap().last().unwrap().1["toolConfig"]["toolChoice"]
                ["tool"]["name"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            json_reply(
                StatusCode::OK,
                None,
                json!({
                    "output": {"message": {"role": "assistant", "content": [
                        {"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": input}}
                    ]}},
                    "stopReason": "tool_use",
                    "usage": usage,
                    "metrics": {"latencyMs": 5},
                }),
            )
        }
        Some(Answer::CutOff) => json_reply(
            StatusCode::OK,
            None,
            json!({
                "output": {"message": {"role": "assistant", "content": [{"text": "{\"chunks\": [{\"chunk"}]}},
                "stopReason": "max_tokens",
                "usage": usage,
                "metrics": {"latencyMs": 5},
            }),
        ),
        Some(Answer::Invalid) => json_reply(
            StatusCode::BAD_REQUEST,
            Some("ValidationException"),
            json!({"message": "The model returned the following errors: input is too long"}),
        ),
        Some(Answer::Tool(name, input)) => json_reply(
            StatusCode::OK,
            None,
            json!({
                "output": {"message": {"role": "assistant", "content": [
                    {"toolUse": {"toolUseId": "tooluse_1", "name": name, "input": input}}
                ]}},
                "stopReason": "tool_use",
                "usage": usage,
                "metrics": {"latencyMs": 5},
            }),
        ),
        Some(Answer::Text(text)) => json_reply(
            StatusCode::OK,
            None,
            json!({
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": usage,
                "metrics": {"latencyMs": 5},
            }),
        ),
        Some(Answer::Stream(pieces)) => {
            let mut events = vec![("messageStart", json!({"role": "assistant"}))];
            for p in pieces {
                events.push((
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"text": p}}),
                ));
            }
            events.push(("contentBlockStop", json!({"contentBlockIndex": 0})));
            events.push(("messageStop", json!({"stopReason": "end_turn"})));
            events.push((
                "metadata",
                json!({"usage": usage, "metrics": {"latencyMs": 5}}),
            ));
            event_stream(events)
        }
        Some(Answer::StreamSearch(query)) => {
            let input = json!({"query": query}).to_string();
            let (a, b) = input.split_at(input.len() / 2);
            event_stream(vec![
                ("messageStart", json!({"role": "assistant"})),
                (
                    "contentBlockStart",
                    json!({"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "web_search"}}}),
                ),
                (
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": a}}}),
                ),
                (
                    "contentBlockDelta",
                    json!({"contentBlockIndex": 0, "delta": {"toolUse": {"input": b}}}),
                ),
                ("contentBlockStop", json!({"contentBlockIndex": 0})),
                ("messageStop", json!({"stopReason": "tool_use"})),
                (
                    "metadata",
                    json!({"usage": usage, "metrics": {"latencyMs": 5}}),
                ),
            ])
        }
    }
}

/// Frames as Bedrock sends them: `application/vnd.amazon.eventstream`.
fn event_stream(events: Vec<(&'static str, Value)>) -> Response<Body> {
    let mut body = Vec::new();
    for (kind, payload) in events {
        let message = Message::new(payload.to_string().into_bytes())
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".into()),
            ))
            .add_header(Header::new(":event-type", HeaderValue::String(kind.into())))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".into()),
            ));
        aws_smithy_eventstream::frame::write_message_to(&message, &mut body).unwrap();
    }
    Response::builder()
        .header("content-type", "application/vnd.amazon.eventstream")
        .body(Body::from(body))
        .unwrap()
}

async fn bedrock(url: &str, model_id: &str, parameter: &str) -> Bedrock {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .retry_config(retry_config())
        .load()
        .await;
    let mut config = BedrockConfig::new(model_id);
    config.parameter = parameter.into();
    config.price_in = 3.0;
    config.price_out = 15.0;
    Bedrock::new(aws_sdk_bedrockruntime::Client::new(&sdk), config)
}

/// The domain's recipe over the adapter, waiting little between attempts: the model of
/// the `ModelId` parameter.
async fn model(url: &str, model_id: &str) -> Model {
    recipe(bedrock(url, model_id, "ModelId").await)
}

/// The same for fact extraction's model.
async fn fact_model(url: &str, model_id: &str) -> Model {
    recipe(bedrock(url, model_id, "FactModelId").await)
}

fn recipe(bedrock: Bedrock) -> Model {
    Model::new(Arc::new(bedrock)).with_backoff(Duration::from_millis(5))
}

/// The fake playing a contract script.
async fn contract_fake(script: Vec<Scripted>) -> Harness {
    let answers = script
        .into_iter()
        .map(|s| match s {
            Scripted::Answer(v) => Answer::Forced(v),
            Scripted::Prose(t) => Answer::Text(t),
            Scripted::CutOff => Answer::CutOff,
            Scripted::Throttle => Answer::Throttle,
            Scripted::Retired => Answer::Retired,
        })
        .collect();
    let (fake, url) = start(answers).await;
    Harness {
        llm: Arc::new(fact_model(&url, "amazon.nova-test").await),
        requests: Box::new(move || fake.seen().len()),
    }
}

soulprint_contract::llm_contract!(contract_fake);

fn memory_request() -> MemoryRequest {
    MemoryRequest { facts: Vec::new() }
}

#[tokio::test]
async fn a_structured_answer_is_a_forced_tool_call_with_max_tokens_and_usage() {
    let (fake, url) = start(vec![Answer::Tool(
        "memory",
        json!({"memory_md": "- Lives in Porto"}),
    )])
    .await;
    let reply = model(&url, "anthropic.claude-test")
        .await
        .write_memory(&memory_request())
        .await
        .unwrap();
    assert_eq!(reply.value, "- Lives in Porto");
    assert_eq!(
        (
            reply.usage.calls,
            reply.usage.input_tokens,
            reply.usage.output_tokens
        ),
        (1, 120, 30)
    );
    assert!((reply.usage.cost_usd - (120.0 * 3.0 + 30.0 * 15.0) / 1e6).abs() < 1e-12);
    let seen = fake.seen();
    let (model_id, body) = &seen[0];
    assert_eq!(model_id, "anthropic.claude-test");
    assert!(body["inferenceConfig"]["maxTokens"].as_i64().unwrap() > 0);
    assert_eq!(body["toolConfig"]["toolChoice"]["tool"]["name"], "memory");
    let spec = &body["toolConfig"]["tools"][0]["toolSpec"];
    assert_eq!(spec["name"], "memory");
    assert_eq!(
        spec["inputSchema"]["json"],
        soulprint_core::model::schemas::memory_schema(),
        "the tool's input schema is the answer's schema"
    );
}

#[tokio::test]
async fn a_wrong_shape_is_repaired_once_through_the_tool_result() {
    let (fake, url) = start(vec![
        Answer::Tool("memory", json!({"notes": "wrong key"})),
        Answer::Tool("memory", json!({"memory_md": "- Has a tortoise"})),
    ])
    .await;
    let reply = model(&url, "m")
        .await
        .write_memory(&memory_request())
        .await
        .unwrap();
    assert_eq!(reply.value, "- Has a tortoise");
    assert_eq!(reply.usage.calls, 2, "both calls are paid for");
    assert_eq!(reply.usage.input_tokens, 240);
    let second = &fake.seen()[1].1;
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        3,
        "question, the bad answer, the tool's error"
    );
    assert_eq!(
        messages[1]["content"][0]["toolUse"]["toolUseId"],
        "tooluse_1"
    );
    let result = &messages[2]["content"][0]["toolResult"];
    assert_eq!(result["status"], "error");
    assert_eq!(result["toolUseId"], "tooluse_1");
}

#[tokio::test]
async fn a_validation_error_is_refused_at_once_and_a_retired_model_says_what_to_set() {
    let (fake, url) = start(vec![Answer::Invalid]).await;
    let err = model(&url, "m")
        .await
        .write_memory(&memory_request())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Refused(_)), "{err:?}");
    assert_eq!(fake.seen().len(), 1, "a refused request is not retried");

    let (_, url) = start(vec![Answer::Retired]).await;
    let err = fact_model(&url, "anthropic.claude-3-5-haiku-20241022-v1:0")
        .await
        .write_memory(&memory_request())
        .await
        .unwrap_err();
    let said = err.to_string();
    assert!(
        said.contains("model anthropic.claude-3-5-haiku-20241022-v1:0 has reached end of life")
            && said.contains("set FactModelId"),
        "{said}"
    );
}

fn chat_request(can_search: bool) -> ChatRequest {
    ChatRequest {
        system: "You are Saffron.".into(),
        history: vec![
            ChatTurn {
                role: Role::User,
                text: "hi".into(),
            },
            ChatTurn {
                role: Role::Assistant,
                text: "hello".into(),
            },
        ],
        message: "What is the weather in Porto?".into(),
        recalled: Vec::new(),
        can_search,
        searches: Vec::new(),
    }
}

#[tokio::test]
async fn chat_streams_its_pieces_in_order_and_counts_usage() {
    let (fake, url) = start(vec![Answer::Stream(vec!["It is ", "sunny ", "in Porto."])]).await;
    let pieces = Mutex::new(Vec::new());
    let sink = |p: &str| pieces.lock().unwrap().push(p.to_owned());
    let reply = model(&url, "m")
        .await
        .chat(&chat_request(false), &sink)
        .await
        .unwrap();
    assert_eq!(
        reply.value,
        ChatAnswer::Reply("It is sunny in Porto.".into())
    );
    assert_eq!(*pieces.lock().unwrap(), ["It is ", "sunny ", "in Porto."]);
    assert_eq!(
        (reply.usage.input_tokens, reply.usage.output_tokens),
        (120, 30)
    );
    let body = &fake.seen()[0].1;
    assert_eq!(body["system"][0]["text"], "You are Saffron.");
    assert_eq!(body["messages"].as_array().unwrap().len(), 3);
    assert!(
        body.get("toolConfig").is_none(),
        "no tool when it may not search"
    );
}

/// A thread whose reply was lost has two messages of the person in a row; Converse refuses
/// that, so they are joined and the turns alternate.
#[tokio::test]
async fn a_thread_with_a_lost_reply_still_alternates() {
    let (fake, url) = start(vec![Answer::Stream(vec!["ok"])]).await;
    let mut request = chat_request(false);
    request.history = vec![
        ChatTurn {
            role: Role::Assistant,
            text: "orphan reply".into(),
        },
        ChatTurn {
            role: Role::User,
            text: "first".into(),
        },
        ChatTurn {
            role: Role::User,
            text: "again".into(),
        },
    ];
    model(&url, "m")
        .await
        .chat(&request, &|_| {})
        .await
        .unwrap();
    let body = &fake.seen()[0].1;
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(body["messages"][0]["content"][0]["text"], "first\n\nagain");
}

#[tokio::test]
async fn chat_may_ask_for_a_web_search_only_when_offered() {
    let (fake, url) = start(vec![
        Answer::StreamSearch("Porto weather today"),
        Answer::StreamSearch("again"),
    ])
    .await;
    let bedrock = model(&url, "m").await;
    let reply = bedrock.chat(&chat_request(true), &|_| {}).await.unwrap();
    assert_eq!(
        reply.value,
        ChatAnswer::Search {
            query: "Porto weather today".into()
        }
    );
    assert_eq!(
        fake.seen()[0].1["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "web_search"
    );
    let err = bedrock
        .chat(&chat_request(false), &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::InvalidOutput(_)), "{err:?}");
}

/// Through the domain's chat turn: a primary model that keeps throttling
/// gives way to the fallback model, and after two failures the breaker stops
/// calling it at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_primary_gives_way_to_the_fallback_and_the_breaker_opens() {
    use soulprint_core::stages::{chat_turn, Chat, ChatBudget};
    use soulprint_e2e::pipeline::{self, sections, ScriptedModel};
    let (fake, url) = start(vec![
        Answer::Stream(vec!["From the ", "fallback."]),
        Answer::Stream(vec!["Again the fallback."]),
        Answer::Stream(vec!["Still the fallback."]),
    ])
    .await;
    // An imported soulprint to chat with (the scripted model writes it).
    let dir = tempfile::tempdir().unwrap();
    let scripted = Arc::new(ScriptedModel::new(vec![], vec![Ok(sections("Wren"))]));
    let mut local = soulprint_local::Local::open(soulprint_local::LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm: scripted,
        fact_llm: None,
        fact_workers: 2,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    let user = soulprint_core::ports::UserId::new("bedrock-user").unwrap();
    let (bytes, _) = pipeline::generated(3, 100_000, 20_000);
    pipeline::start(&local, &user, bytes).await;
    pipeline::work_until(&local, &user, pipeline::finished).await;

    // The primary answers nothing: every call throttles.
    local.ports.llm = Arc::new(model(&url, "primary.throttled").await);
    local.ports.fact_llm = Arc::clone(&local.ports.llm);
    local.ports.fallback_llm = Some(Arc::new(model(&url, "fallback.model").await));
    let chat = Chat::default();
    let mut replies = Vec::new();
    for _ in 0..3 {
        let turn = chat_turn(
            &local.ports,
            &chat,
            &user,
            None,
            "What should I cook tonight?",
            ChatBudget {
                primary: Duration::from_secs(30),
                fallback: Duration::from_secs(30),
            },
            &|_| {},
        )
        .await
        .unwrap();
        replies.push(turn.reply);
    }
    assert!(replies[0].contains("From the fallback."), "{replies:?}");
    let calls = |id: &str| fake.seen().iter().filter(|(m, _)| m == id).count();
    assert_eq!(
        calls("primary.throttled"),
        2,
        "two turns tried the primary once each (chat is not retried: the fallback answers); the third did not"
    );
    assert_eq!(calls("fallback.model"), 3);
}

/// A person imports while the fact model has reached end of life: the import fails at once,
/// in the quick pass, saying which parameter to set; nothing else is asked of any model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_fact_model_fails_the_import_with_the_plain_reason() {
    use soulprint_core::import_state::{FullPassStatus, ImportStatus};
    use soulprint_e2e::pipeline::{self, sections, ScriptedModel};
    let (fake, url) = start(vec![Answer::Retired]).await;
    let dir = tempfile::tempdir().unwrap();
    let scripted = Arc::new(ScriptedModel::new(vec![], vec![Ok(sections("Wren"))]));
    let mut local = soulprint_local::Local::open(soulprint_local::LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm: scripted.clone(),
        fact_llm: None,
        fact_workers: 2,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    local.ports.fact_llm = Arc::new(fact_model(&url, "us.amazon.nova-retired-v1:0").await);
    let user = soulprint_core::ports::UserId::new("retired-user").unwrap();
    let (bytes, _) = pipeline::generated(5, 100_000, 20_000);
    pipeline::start(&local, &user, bytes).await;
    let end = pipeline::work_until(&local, &user, pipeline::finished).await;
    assert_eq!(end.status, ImportStatus::Failed);
    assert_eq!(end.full_pass.status, FullPassStatus::None);
    let reason = end.error.unwrap();
    assert!(
        reason.contains("model us.amazon.nova-retired-v1:0 has reached end of life")
            && reason.contains("set FactModelId"),
        "{reason}"
    );
    assert_eq!(fake.seen().len(), 1, "asked once, not retried");
    assert!(
        scripted.profile_requests.lock().unwrap().is_empty(),
        "the quick pass spent nothing"
    );
    assert!(local.ports.store.profile(&user).await.unwrap().is_none());
}

/// The quick pass's own model retired: the import fails with the reason, not with empty
/// sections and a full pass of failed chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_model_fails_the_import_instead_of_writing_empty_sections() {
    use soulprint_core::import_state::ImportStatus;
    use soulprint_e2e::pipeline;
    let (_, url) = start(vec![Answer::Retired]).await;
    let dir = tempfile::tempdir().unwrap();
    let llm: Arc<dyn Llm> = Arc::new(model(&url, "anthropic.claude-3-5-haiku-20241022-v1:0").await);
    let local = soulprint_local::Local::open(soulprint_local::LocalOptions {
        data_dir: dir.path().to_path_buf(),
        llm,
        fact_llm: None,
        fact_workers: 2,
        fact_tokens_per_minute: None,
    })
    .unwrap();
    let user = soulprint_core::ports::UserId::new("retired-user").unwrap();
    let (bytes, _) = pipeline::generated(5, 100_000, 20_000);
    pipeline::start(&local, &user, bytes).await;
    let end = pipeline::work_until(&local, &user, pipeline::finished).await;
    assert_eq!(end.status, ImportStatus::Failed);
    let reason = end.error.unwrap();
    assert!(
        reason.contains("has reached end of life") && reason.contains("set ModelId"),
        "{reason}"
    );
    assert!(local.ports.store.profile(&user).await.unwrap().is_none());
}
