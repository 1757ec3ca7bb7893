//! What every model is asked, and the JSON schemas its answers must match. One text for all
//! adapters (an OpenAI-compatible server, Bedrock), so that a change of model is not a change
//! of question.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::memory::{Category, Subject};
use crate::ports::llm::{ExtractedFact, FactRequest, MemoryRequest, ProfileRequest};

pub const PROFILE_SYSTEM: &str = "You write a personality profile of a person from their \
conversations with an AI assistant, so that a new assistant can talk with them as if it \
already knew them. Base every field on the conversations; where they do not tell, write \
\"not enough data\". Give the assistant a creative, personal name that fits the person (never \
Assistant, Helper, AI, Bot, Buddy or Soul) and a 2-4 word archetype. Personality traits and \
behavioural rules: 3 to 7 each. Answer with JSON only, matching the schema.";

pub const FACTS_SYSTEM: &str = "You extract durable facts about a person from an excerpt of \
their conversation with an AI assistant. Only facts about the person themselves that will \
still be true in a month: where they live, their work, people and animals in their life, \
preferences, projects, important dates, beliefs, decisions. Use only what the person says \
(lines starting \"Person:\"); assistant lines are context. No facts about the assistant, about \
the topic in general, or one-off requests. Each fact is one short sentence in the third person; \
`evidence` quotes the person's words it rests on; `subject` is location, occupation, employer \
or relationship when the fact is about one of those, else null. Answer with JSON only, matching \
the schema; an excerpt with no such facts gives an empty list.";

pub const MEMORY_SYSTEM: &str = "You write the MEMORY section of an assistant's notes about a \
person from a list of facts. Markdown, with exactly these headings in this order, each as a \
level-2 heading: Life & Circumstances, Preferences, Projects, Important Dates, Beliefs & Values, \
Decisions & Context. Under each, short bullet points; where a fact replaced an older one, say \
what changed. Write \"No data yet.\" under a heading with no facts. Use only the facts given.";

/// The user turn of the quick pass (and of the regeneration, which adds MEMORY).
pub fn profile_prompt(request: &ProfileRequest) -> String {
    let mut out = String::new();
    let s = &request.stats;
    let _ = writeln!(
        out,
        "The person's export: {} conversations, {} of their own messages ({:.0} words each on \
         average, {}% questions), from {} to {}.\n",
        s.conversations,
        s.person_messages,
        s.words_per_message(),
        s.percent(s.questions),
        s.first_at.map_or("?".into(), |t| t.date().to_string()),
        s.last_at.map_or("?".into(), |t| t.date().to_string()),
    );
    let signals = &request.signals;
    if !signals.is_empty() {
        out.push_str("# What ChatGPT already knew about them\n");
        for ci in &signals.custom_instructions {
            if let Some(u) = &ci.about_user {
                let _ = writeln!(out, "About them (their own words): {u}");
            }
            if let Some(m) = &ci.about_model {
                let _ = writeln!(out, "How they want answers: {m}");
            }
        }
        for m in &signals.memories {
            let _ = writeln!(out, "- {}", m.text);
        }
        out.push('\n');
    }
    if let Some(memory) = &request.memory_md {
        let _ = writeln!(
            out,
            "# MEMORY (facts from all their conversations)\n{memory}\n"
        );
    }
    out.push_str("# Conversations\n");
    for c in &request.sample {
        out.push_str(&c.text);
        out.push('\n');
    }
    out
}

pub fn facts_prompt(request: &FactRequest) -> String {
    let c = &request.chunk;
    format!(
        "Conversation \"{}\" ({}), part {} of {}:\n\n{}",
        c.title.as_deref().unwrap_or("Untitled"),
        c.observed_at
            .map_or("undated".into(), |t| t.date().to_string()),
        c.index + 1,
        c.total,
        c.text
    )
}

pub fn memory_prompt(request: &MemoryRequest) -> String {
    let mut out = String::from("Facts (current unless marked as replaced):\n");
    for f in &request.facts {
        let _ = write!(out, "- [{}] {}", f.category.heading(), f.text);
        if let Some(t) = f.last_observed() {
            let _ = write!(out, " ({})", t.date());
        }
        if f.superseded_by.is_some() {
            out.push_str(" [replaced by a newer fact]");
        }
        out.push('\n');
    }
    out
}

// Bounds on every string and list: the domain cuts longer ones anyway (`tidy_sections`), and
// a server that turns the schema into a grammar (llama.cpp) then stops a small model that
// loops inside a string, instead of letting it write until `max_tokens`.
const FIELD_CHARS: u32 = 500;
const ITEM_CHARS: u32 = 200;
const LIST_ITEMS: u32 = 12;
const FACT_CHARS: u32 = 200;
const FACTS_PER_CHUNK: u32 = 12;
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

/// The one tool a chat model is offered, by every adapter.
pub const WEB_SEARCH_TOOL: &str = "web_search";
pub const WEB_SEARCH_DESCRIPTION: &str = "Search the web for current or factual information you \
    do not have. Use it only when the answer depends on it; cite results as [n].";

/// The input of [`WEB_SEARCH_TOOL`].
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
    pub memory_md: String,
}
