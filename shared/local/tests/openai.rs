//! The OpenAI-compatible adapter against a fake chat-completions server on 127.0.0.1.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use soulprint_contract::llm::{Harness, Scripted};
use soulprint_core::chunker::{Chunk, ChunkPart};
use soulprint_core::model::Model;
use soulprint_core::person_stats::PersonStats;
use soulprint_core::ports::llm::{ChatAnswer, ChatRequest, FactRequest, ProfileRequest};
use soulprint_core::ports::web::{WebSearchDone, WebSource};
use soulprint_core::ports::{Llm, LlmError};
use soulprint_local::openai::{OpenAiCompatible, OpenAiConfig};

mod fake_http;
use fake_http::{serve, Answer, Seen};

/// Serves the scripted (status, body) answers in turn and keeps the requests.
async fn fake(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let answers = answers
        .into_iter()
        .map(|(s, b)| Answer::json(s, b))
        .collect();
    serve("/v1", answers).await
}

fn completion(content: &str) -> (u16, String) {
    (
        200,
        json!({
            "choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 300},
        })
        .to_string(),
    )
}

fn sections_json(name: &str) -> String {
    json!({
        "soul": {"communication_style": "brief", "personality_traits": ["curious"], "tone_preferences": "warm",
                 "boundaries": "", "humor_style": "", "formality_level": "", "emotional_patterns": ""},
        "identity": {"ai_name": name, "archetype": "Curious Builder", "vibe": "", "emoji_style": "", "signature_greeting": ""},
        "user": {"name": "Sam", "location": "Lisbon", "occupation": "", "relationships": [], "interests": [], "life_context": "", "preferred_address": ""},
        "agents": {"response_style": "", "behavioral_rules": [], "context_adaptation": "", "memory_directives": "", "do_not": []},
        "tools": {"likely_usage": [], "capabilities_emphasis": [], "output_preferences": "", "depth_preference": ""},
    })
    .to_string()
}

/// The domain's recipe over the adapter, waiting little between attempts.
fn model(url: String) -> Model {
    let mut config = OpenAiConfig::new(url, "qwen-test");
    config.price_in = 1.0;
    config.price_out = 5.0;
    Model::new(Arc::new(OpenAiCompatible::new(config).unwrap()))
        .with_backoff(std::time::Duration::from_millis(5))
}

/// The fake playing a contract script.
async fn contract_fake(script: Vec<Scripted>) -> Harness {
    let answers = script
        .into_iter()
        .map(|s| match s {
            Scripted::Answer(v) => completion(&v.to_string()),
            Scripted::Prose(t) => completion(t),
            Scripted::CutOff => (
                200,
                json!({
                    "choices": [{"message": {"role": "assistant", "content": "{\"chunks\": [{\"chunk"}, "finish_reason": "length"}],
                    "usage": {"prompt_tokens": 1200, "completion_tokens": 2048},
                })
                .to_string(),
            ),
            Scripted::Throttle => (429, r#"{"error": {"message": "rate limited"}}"#.into()),
            Scripted::Retired => (
                404,
                r#"{"error": "model \"qwen-test\" not found, try pulling it first"}"#.into(),
            ),
        })
        .collect();
    let (url, seen) = fake(answers).await;
    Harness {
        llm: Arc::new(model(url)),
        requests: Box::new(move || seen.lock().unwrap().len()),
    }
}

soulprint_contract::llm_contract!(contract_fake);

fn profile_request() -> ProfileRequest {
    ProfileRequest {
        sample: vec![],
        signals: Default::default(),
        stats: PersonStats::default(),
        memory_md: None,
    }
}

#[tokio::test]
async fn asks_for_json_matching_the_schema_and_accounts_tokens() {
    let (url, seen) = fake(vec![completion(&sections_json("Wren"))]).await;
    let reply = model(url).profile(&profile_request()).await.unwrap();
    assert_eq!(reply.value.identity.ai_name, "Wren");
    assert_eq!(reply.value.user.location, "Lisbon");
    assert_eq!(
        (
            reply.usage.input_tokens,
            reply.usage.output_tokens,
            reply.usage.calls
        ),
        (1200, 300, 1)
    );
    assert!((reply.usage.cost_usd - (1200.0 + 1500.0) / 1e6).abs() < 1e-12);
    let body = &seen.lock().unwrap()[0].body;
    assert_eq!(body["model"], "qwen-test");
    assert_eq!(body["max_tokens"], 8192);
    assert_eq!(body["response_format"]["type"], "json_schema");
    let schema = &body["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["required"],
        json!(["soul", "identity", "user", "agents", "tools"])
    );
    assert_eq!(body["messages"][0]["role"], "system");
}

#[tokio::test]
async fn a_broken_answer_gets_one_repair_attempt() {
    let fenced = format!("```json\n{}\n```", sections_json("Ember"));
    let (url, seen) = fake(vec![
        completion("Sure! Here is the profile: {"),
        completion(&fenced),
    ])
    .await;
    let reply = model(url).profile(&profile_request()).await.unwrap();
    assert_eq!(reply.value.identity.ai_name, "Ember");
    assert_eq!(reply.usage.calls, 2);
    let repair = &seen.lock().unwrap()[1].body;
    let messages = repair["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert!(messages[3]["content"]
        .as_str()
        .unwrap()
        .contains("not JSON"));
}

#[tokio::test]
async fn a_wrong_schema_twice_is_an_invalid_output() {
    let (url, _) = fake(vec![
        completion(r#"{"soul": {}}"#),
        completion(r#"{"profile": "I cannot"}"#),
    ])
    .await;
    let err = model(url).profile(&profile_request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::InvalidOutput(ref m) if m.contains("missing")),
        "{err}"
    );
}

/// What Qwen2.5-Coder-0.5B once answered on a ten-conversation exam: "GPT-4" as the person's
/// name, home, work and life, and twelve times over as their interests.
fn degenerate_sections() -> String {
    let gpt = "GPT-4";
    json!({
        "soul": {"communication_style": "brief", "personality_traits": ["curious"], "tone_preferences": "warm",
                 "boundaries": "", "humor_style": "", "formality_level": "", "emotional_patterns": ""},
        "identity": {"ai_name": "Wren", "archetype": "Curious Builder", "vibe": "", "emoji_style": "", "signature_greeting": ""},
        "user": {"name": gpt, "location": gpt, "occupation": gpt, "relationships": [gpt], "interests": vec![gpt; 12],
                 "life_context": gpt, "preferred_address": ""},
        "agents": {"response_style": "", "behavioral_rules": [], "context_adaptation": "", "memory_directives": "", "do_not": []},
        "tools": {"likely_usage": [], "capabilities_emphasis": [], "output_preferences": "", "depth_preference": ""},
    })
    .to_string()
}

#[tokio::test]
async fn a_degenerate_profile_is_repaired_once_then_refused() {
    let (url, requests) = fake(vec![
        completion(&degenerate_sections()),
        completion(&sections_json("Wren")),
    ])
    .await;
    let sections = model(url).profile(&profile_request()).await.unwrap().value;
    assert_eq!(sections.user.name, "Sam");
    let said = requests.lock().unwrap()[1].body["messages"][3]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        said.contains("GPT-4"),
        "the repair says what was wrong: {said}"
    );

    let (url, _) = fake(vec![
        completion(&degenerate_sections()),
        completion(&degenerate_sections()),
    ])
    .await;
    let err = model(url).profile(&profile_request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::InvalidOutput(ref m) if m.contains("GPT-4")),
        "{err}"
    );
}

#[tokio::test]
async fn a_bad_request_is_refused_and_nothing_listening_is_unavailable() {
    let (url, _) = fake(vec![(400, r#"{"error": "context too long"}"#.into())]).await;
    let err = model(url).profile(&profile_request()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Refused(ref m) if m.contains("context too long")),
        "{err}"
    );
    let err = model("http://127.0.0.1:9/v1".into())
        .profile(&profile_request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Unavailable(_)),
        "nothing listening: {err}"
    );
}

#[tokio::test]
async fn a_malformed_fact_is_dropped_not_its_neighbours() {
    let answer = json!({"facts": [
        {"category": "life", "text": "Lives in Lisbon", "subject": "location", "evidence": "I live in Lisbon"},
        {"category": "astrology", "text": "Is a Leo", "subject": null, "evidence": "x"},
        {"text": 42},
    ]})
    .to_string();
    let (url, _) = fake(vec![completion(&answer)]).await;
    let text = "Person: I live in Lisbon.".to_string();
    let chunk = Chunk {
        conversation_id: "c1".into(),
        title: None,
        index: 0,
        total: 1,
        tokens: 6,
        message_ids: vec!["m1".into()],
        observed_at: None,
        recent: false,
        parts: vec![ChunkPart {
            message_id: "m1".into(),
            person: true,
            at: None,
            start: 0,
            end: text.len() as u32,
        }],
        text,
    };
    let reply = model(url)
        .extract_facts(&FactRequest {
            chunks: vec![chunk],
        })
        .await
        .unwrap();
    let facts = reply.value[0].as_ref().expect("the chunk is answered");
    assert_eq!(facts.len(), 1);
    assert_eq!(facts[0].text, "Lives in Lisbon");
}

fn chat_request(can_search: bool, searches: Vec<WebSearchDone>) -> ChatRequest {
    ChatRequest {
        system: "# Wren".into(),
        history: vec![],
        message: "What's the weather in Lisbon this weekend?".into(),
        recalled: vec![],
        can_search,
        searches,
    }
}

fn delta(delta: Value) -> Value {
    json!({"choices": [{"index": 0, "delta": delta}]})
}

#[tokio::test]
async fn a_chat_reply_streams_piece_by_piece_and_accounts_tokens() {
    let (url, seen) = serve(
        "/v1",
        vec![Answer::events(&[
            delta(json!({"role": "assistant", "content": ""})),
            delta(json!({"content": "Sunny"})),
            delta(json!({"content": ", 24°C."})),
            json!({"choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 7}}),
        ])],
    )
    .await;
    let pieces = Mutex::new(Vec::new());
    let sink = |p: &str| pieces.lock().unwrap().push(p.to_owned());
    let reply = model(url)
        .chat(&chat_request(false, vec![]), &sink)
        .await
        .unwrap();
    assert_eq!(reply.value, ChatAnswer::Reply("Sunny, 24°C.".into()));
    assert_eq!(
        pieces.into_inner().unwrap(),
        ["", "Sunny", ", 24°C."].map(String::from)
    );
    assert_eq!(
        (reply.usage.input_tokens, reply.usage.output_tokens),
        (900, 7)
    );
    let body = &seen.lock().unwrap()[0].body;
    assert_eq!(body["stream"], true);
    assert!(body.get("tools").is_none(), "no search offered: {body}");
}

#[tokio::test]
async fn a_web_search_call_arrives_in_pieces_and_its_results_go_back_as_a_tool_message() {
    let (url, seen) = serve(
        "/v1",
        vec![
            Answer::events(&[
                delta(json!({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                    "function": {"name": "web_search", "arguments": ""}}]})),
                delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"query\": \"Lis"}}]})),
                delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "bon weather\"}"}}]})),
            ]),
            Answer::events(&[delta(json!({"content": "Sunny [1]."}))]),
        ],
    )
    .await;
    let llm = model(url);
    let sink = |_: &str| {};
    let first = llm.chat(&chat_request(true, vec![]), &sink).await.unwrap();
    assert_eq!(
        first.value,
        ChatAnswer::Search {
            query: "Lisbon weather".into()
        }
    );
    let searched = WebSearchDone {
        query: "Lisbon weather".into(),
        results: Ok(vec![WebSource::checked(
            "Lisbon forecast",
            "https://weather.example/lisbon",
            "Sunny, 24°C",
        )
        .unwrap()]),
    };
    let second = llm
        .chat(&chat_request(false, vec![searched]), &sink)
        .await
        .unwrap();
    assert_eq!(second.value, ChatAnswer::Reply("Sunny [1].".into()));

    let seen = seen.lock().unwrap();
    let offered = &seen[0].body;
    assert_eq!(offered["tools"][0]["function"]["name"], "web_search");
    assert_eq!(offered["tool_choice"], "auto");
    let answered = &seen[1].body;
    // Calls left: none, so the tool is described but may not be called again.
    assert_eq!(answered["tool_choice"], "none");
    let messages = answered["messages"].as_array().unwrap();
    let call = &messages[messages.len() - 2];
    let result = &messages[messages.len() - 1];
    assert_eq!(call["tool_calls"][0]["function"]["name"], "web_search");
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], call["tool_calls"][0]["id"]);
    let text = result["content"].as_str().unwrap();
    assert!(
        text.starts_with("[1] Lisbon forecast (https://weather.example/lisbon)\nSunny, 24°C"),
        "{text}"
    );
}

#[tokio::test]
async fn a_tool_it_was_not_offered_is_an_invalid_output() {
    let (url, _) = serve(
        "/v1",
        vec![Answer::events(&[delta(
            json!({"tool_calls": [{"index": 0, "id": "x",
            "function": {"name": "delete_everything", "arguments": "{}"}}]}),
        )])],
    )
    .await;
    let error = model(url)
        .chat(&chat_request(true, vec![]), &|_: &str| {})
        .await
        .unwrap_err();
    assert!(matches!(error, LlmError::InvalidOutput(_)), "{error}");
}
