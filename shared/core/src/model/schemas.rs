//! The JSON schemas model answers must match, and the answers' shapes and checks.

use serde_json::{json, Value};

use crate::memory::{Category, Subject};
use crate::ports::llm::ExtractedFact;

// Bounds on every string and list: the domain cuts longer ones anyway (`tidy_sections`), and
// a server that turns the schema into a grammar (llama.cpp) then stops a small model that
// loops inside a string, instead of letting it write until `max_tokens`.
const FIELD_CHARS: u32 = 500;
const ITEM_CHARS: u32 = 200;
const LIST_ITEMS: u32 = 12;
const FACT_CHARS: u32 = 200;
const FACTS_PER_CHUNK: u32 = 12;
/// Tokens a chunk's facts may take: twelve facts of 200 characters and their evidence.
pub const FACTS_ANSWER_TOKENS: u32 = 2_048;
const MEMORY_CHARS: u32 = 20_000;

fn text() -> Value {
    bounded_text(FIELD_CHARS)
}

fn bounded_text(chars: u32) -> Value {
    json!({"type": "string", "maxLength": chars})
}

fn list() -> Value {
    json!({"type": "array", "maxItems": LIST_ITEMS, "items": bounded_text(ITEM_CHARS)})
}

fn object(fields: &[(&str, Value)]) -> Value {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let required: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The five sections (strict: every field required, nothing else allowed).
pub fn sections_schema() -> Value {
    object(&[
        (
            "soul",
            object(&[
                ("communication_style", text()),
                ("personality_traits", list()),
                ("tone_preferences", text()),
                ("boundaries", text()),
                ("humor_style", text()),
                ("formality_level", text()),
                ("emotional_patterns", text()),
            ]),
        ),
        (
            "identity",
            object(&[
                ("ai_name", text()),
                ("archetype", text()),
                ("vibe", text()),
                ("emoji_style", text()),
                ("signature_greeting", text()),
            ]),
        ),
        (
            "user",
            object(&[
                ("name", text()),
                ("location", text()),
                ("occupation", text()),
                ("relationships", list()),
                ("interests", list()),
                ("life_context", text()),
                ("preferred_address", text()),
            ]),
        ),
        (
            "agents",
            object(&[
                ("response_style", text()),
                ("behavioral_rules", list()),
                ("context_adaptation", text()),
                ("memory_directives", text()),
                ("do_not", list()),
            ]),
        ),
        (
            "tools",
            object(&[
                ("likely_usage", list()),
                ("capabilities_emphasis", list()),
                ("output_preferences", text()),
                ("depth_preference", text()),
            ]),
        ),
    ])
}

/// `{"facts": [...]}`: a top-level object, as structured-output APIs require.
pub fn facts_schema() -> Value {
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let subjects: Vec<Value> = Subject::ALL
        .iter()
        .map(|s| Value::from(s.as_str()))
        .chain([Value::Null])
        .collect();
    object(&[(
        "facts",
        json!({
            "type": "array",
            "maxItems": FACTS_PER_CHUNK,
            "items": object(&[
                ("category", json!({"type": "string", "enum": categories})),
                ("text", bounded_text(FACT_CHARS)),
                ("subject", json!({"type": ["string", "null"], "enum": subjects})),
                ("evidence", bounded_text(FACT_CHARS)),
            ]),
        }),
    )])
}

/// `{"memory_md": "..."}`.
pub fn memory_schema() -> Value {
    object(&[("memory_md", bounded_text(MEMORY_CHARS))])
}

/// The five sections must all be there, as objects (a model's answer, before it is parsed).
pub fn check_sections(v: &Value) -> Result<(), String> {
    for key in ["soul", "identity", "user", "agents", "tools"] {
        if !v.get(key).is_some_and(Value::is_object) {
            return Err(format!("missing the \"{key}\" section"));
        }
    }
    Ok(())
}

/// The input of [`super::questions::WEB_SEARCH_TOOL`].
pub fn web_search_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to search for"}},
        "required": ["query"],
    })
}

/// The fact-extraction answer, as [`facts_schema`] shapes it.
#[derive(Debug, serde::Deserialize)]
pub struct FactsAnswer {
    facts: Vec<Value>,
}

impl FactsAnswer {
    /// The facts; a malformed item is dropped, not the chunk's other facts.
    pub fn into_facts(self) -> Vec<ExtractedFact> {
        self.facts
            .into_iter()
            .filter_map(|f| serde_json::from_value(f).ok())
            .collect()
    }
}

/// The fact list must be there (its items are checked one by one).
pub fn check_facts(v: &Value) -> Result<(), String> {
    match v.get("facts") {
        Some(Value::Array(_)) => Ok(()),
        _ => Err("missing the \"facts\" list".into()),
    }
}

/// The MEMORY answer, as [`memory_schema`] shapes it.
#[derive(Debug, serde::Deserialize)]
pub struct MemoryAnswer {
    /// The MEMORY section, in Markdown.
    pub memory_md: String,
}

/// `{"ready": true}`: the answer to [`super::questions::READY_SYSTEM`].
pub fn ready_schema() -> Value {
    object(&[("ready", json!({"type": "boolean"}))])
}
