//! The fact exam: precision and recall of what is remembered from a hand-written, labelled
//! exam (`tests/exam/facts.json`): plain, indirect, multilingual, superseded, custom-instruction
//! and ChatGPT-memory facts, and traps (relatives' facts, reactions, requests, role-play,
//! hypotheticals, pasted text). Each message goes through the same road as an import's: the
//! chunker, the engine's extraction, and the checks every fact passes (`with_provenance`);
//! custom instructions and memories through the seeding.
//!
//! `cargo bench -p soulprint-e2e --bench fact_exam` scores the offline engine; with
//! `SOULPRINT_MODEL_URL` and `SOULPRINT_MODEL` (and `SOULPRINT_MODEL_CONTEXT`) set, the model
//! on that OpenAI-compatible server too. Tune on the `tune` half; `holdout` is the honest figure.

#![allow(clippy::unwrap_used)] // a bench: a failed unwrap fails it, with its line

use std::sync::Arc;

use serde_json::Value;
use soulprint_core::chunker::{chunk_conversation, ChunkOptions};
use soulprint_core::conversation::{
    Conversation, CustomInstructions, Memory, MemorySource, Message, ProfileSignals, Role,
};
use soulprint_core::memory::seed::seed_facts;
use soulprint_core::memory::Subject;
use soulprint_core::model::Model;
use soulprint_core::ports::llm::FactRequest;
use soulprint_core::ports::Llm;
use soulprint_core::stages::with_provenance;
use soulprint_local::openai::OpenAiConfig;
use soulprint_local::{Offline, OpenAiCompatible};

const EXAM: &str = include_str!("../exam/facts.json");

/// What one engine remembered of one item: each fact's text and slot.
type Found = Vec<(String, Option<Subject>)>;

fn conversation(item: &Value) -> Conversation {
    let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
    Conversation {
        format_version: soulprint_core::conversation::FORMAT_VERSION,
        id: "exam".into(),
        title: Some("Exam".into()),
        created_at: None,
        updated_at: None,
        do_not_remember: false,
        messages: text("text")
            .map(|t| Message {
                id: "m1".into(),
                role: Role::User,
                text: t,
                created_at: None,
            })
            .into_iter()
            .collect(),
        profile_signals: ProfileSignals {
            custom_instructions: text("about_me")
                .map(|about| CustomInstructions {
                    about_user: Some(about),
                    about_model: None,
                    created_at: None,
                })
                .into_iter()
                .collect(),
            memories: text("memory")
                .map(|m| Memory {
                    text: m,
                    source: MemorySource::BioTool,
                    created_at: None,
                })
                .into_iter()
                .collect(),
        },
    }
}

async fn remembered(llm: &dyn Llm, item: &Value) -> Found {
    let c = conversation(item);
    let mut found: Found = seed_facts(&c)
        .into_iter()
        .map(|f| (f.text, f.subject))
        .collect();
    for chunk in chunk_conversation(
        &c,
        &ChunkOptions::default(),
        time::OffsetDateTime::now_utc(),
    ) {
        let request = FactRequest {
            chunks: vec![chunk.clone()],
        };
        let facts = match llm.extract_facts(&request).await {
            Ok(reply) => reply.value.into_iter().next().flatten().unwrap_or_default(),
            Err(e) => {
                eprintln!("  (no answer: {e})");
                Vec::new()
            }
        };
        found.extend(
            with_provenance(&chunk, facts)
                .into_iter()
                .map(|f| (f.text, f.subject)),
        );
    }
    found
}

#[derive(Default)]
struct Score {
    expected: usize,
    recalled: usize,
    plain_expected: usize,
    plain_recalled: usize,
    right: usize,
    wrong: usize,
    traps: usize,
    traps_taken: usize,
}

impl Score {
    fn add(&mut self, item: &Value, found: &Found) {
        let kind = item["kind"].as_str().unwrap();
        let phrases: Vec<String> = item["facts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_lowercase())
            .collect();
        let slot = item.get("slot").map(|s| s.as_str());
        if kind.starts_with("trap") {
            self.traps += 1;
            // A relative's fact may be kept without a slot; anything else a trap gives is taken.
            let taken: Vec<_> = found
                .iter()
                .filter(|(_, subject)| kind != "trap_relative" || subject.is_some())
                .collect();
            if !taken.is_empty() {
                self.traps_taken += 1;
                self.wrong += taken.len();
                println!("  trap taken ({kind}): {taken:?}");
            }
            return;
        }
        for phrase in &phrases {
            self.expected += 1;
            let hit = found.iter().any(|(text, subject)| {
                text.to_lowercase().contains(phrase)
                    && slot.is_none_or(|s| subject.map(|x| x.as_str()) == s)
            });
            if kind == "plain" {
                self.plain_expected += 1;
                self.plain_recalled += usize::from(hit);
            }
            if hit {
                self.recalled += 1;
            } else {
                println!("  missed ({kind}): {phrase:?} in {found:?}");
            }
        }
        for (text, _) in found {
            let lower = text.to_lowercase();
            if phrases.iter().any(|p| lower.contains(p)) {
                self.right += 1;
            } else {
                self.wrong += 1;
                println!("  not asked for ({kind}): {text:?}");
            }
        }
    }

    fn print(&self, engine: &str, half: &str) {
        let ratio = |a: usize, b: usize| a as f64 / b.max(1) as f64;
        println!(
            "{engine:>8} {half:>7}: recall {:.2} ({}/{}), plain first-person {:.2} ({}/{}), \
             precision {:.2} ({}/{}), traps taken {}/{}",
            ratio(self.recalled, self.expected),
            self.recalled,
            self.expected,
            ratio(self.plain_recalled, self.plain_expected),
            self.plain_recalled,
            self.plain_expected,
            ratio(self.right, self.right + self.wrong),
            self.right,
            self.right + self.wrong,
            self.traps_taken,
            self.traps,
        );
    }
}

async fn score(engine: &str, llm: &dyn Llm, items: &[Value]) {
    for half in ["tune", "holdout"] {
        println!("{engine}, {half} half:");
        let mut score = Score::default();
        for item in items.iter().filter(|i| i["half"] == half) {
            score.add(item, &remembered(llm, item).await);
        }
        score.print(engine, half);
    }
}

#[tokio::main]
async fn main() {
    let exam: Value = serde_json::from_str(EXAM).unwrap();
    let items = exam["items"].as_array().unwrap();
    score("offline", &Offline, items).await;
    if let (Ok(url), Ok(name)) = (
        std::env::var("SOULPRINT_MODEL_URL"),
        std::env::var("SOULPRINT_MODEL"),
    ) {
        let mut config = OpenAiConfig::new(url, name);
        config.context_tokens = std::env::var("SOULPRINT_MODEL_CONTEXT")
            .ok()
            .and_then(|c| c.parse().ok());
        let model = Model::new(Arc::new(OpenAiCompatible::new(config).unwrap()));
        score("model", &model, items).await;
    }
}
