//! The OpenAI-compatible adapter against a fake chat-completions server on 127.0.0.1.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use soulprint_core::chunker::{Chunk, ChunkPart};
use soulprint_core::person_stats::PersonStats;
use soulprint_core::ports::llm::{FactRequest, ProfileRequest};
use soulprint_core::ports::{Llm, LlmError};
use soulprint_local::openai::{OpenAiCompatible, OpenAiConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves the scripted (status, body) answers in turn and keeps the request bodies.
async fn fake(answers: Vec<(u16, String)>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        for (status, body) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let request = loop {
                let n = socket.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + length {
                        break buf[end + 4..end + 4 + length].to_vec();
                    }
                }
            };
            log.lock()
                .unwrap()
                .push(serde_json::from_slice(&request).unwrap());
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    (url, seen)
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

fn model(url: String) -> OpenAiCompatible {
    let mut config = OpenAiConfig::new(url, "qwen-test");
    config.price_in = 1.0;
    config.price_out = 5.0;
    OpenAiCompatible::new(config).unwrap()
}

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
    let body = &seen.lock().unwrap()[0];
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
    let repair = &seen.lock().unwrap()[1];
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

#[tokio::test]
async fn throttling_is_retryable_and_a_bad_request_is_not() {
    let (url, _) = fake(vec![(429, "{}".into())]).await;
    let err = model(url).profile(&profile_request()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
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
    assert!(err.is_retryable(), "nothing listening: {err}");
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
        .extract_facts(&FactRequest { chunk })
        .await
        .unwrap();
    assert_eq!(reply.value.len(), 1);
    assert_eq!(reply.value[0].text, "Lives in Lisbon");
}
