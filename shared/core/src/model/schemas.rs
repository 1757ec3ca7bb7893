//! The JSON schemas model answers must match, and the answers' shapes and checks.

use serde_json::{json, Value};

use crate::memory::{Category, Subject};
use crate::ports::llm::{ExtractedFact, PackFacts};
use crate::sections::is_placeholder;

// Bounds on every string and list: the domain cuts longer ones anyway (`tidy_sections`), and
// a server that turns the schema into a grammar (llama.cpp) then stops a small model that
// loops inside a string, instead of letting it write until `max_tokens`.
const FIELD_CHARS: u32 = 500;
const ITEM_CHARS: u32 = 200;
const LIST_ITEMS: u32 = 12;
const FACT_CHARS: u32 = 200;
const FACTS_PER_CHUNK: u32 = 12;
/// Tokens of a pack's answer, a chunk's share and the most in all. A chunk rarely holds more
/// than a few durable facts (~60 tokens each with evidence); Bedrock reserves the whole
/// `maxTokens` against the quota, so it is sized to the answer, not to the worst case. An
/// answer cut off at it is asked again, then chunk by chunk.
const FACTS_TOKENS_PER_CHUNK: u32 = 400;
const FACTS_ANSWER_MAX_TOKENS: u32 = 4_096;
/// A chunk asked alone may take its worst case: [`FACTS_PER_CHUNK`] facts of two
/// [`FACT_CHARS`]-character strings (~1,500 tokens). It is the last try for that chunk, and a
/// small model asked one chunk a call writes long evidence.
const ONE_CHUNK_ANSWER_TOKENS: u32 = 2_048;

/// Tokens the answer for a pack of `chunks` chunks may take.
pub fn facts_answer_tokens(chunks: usize) -> u32 {
    if chunks <= 1 {
        return ONE_CHUNK_ANSWER_TOKENS;
    }
    let chunks = u32::try_from(chunks).unwrap_or(u32::MAX);
    FACTS_TOKENS_PER_CHUNK
        .saturating_mul(chunks)
        .saturating_add(FACTS_TOKENS_PER_CHUNK)
        .min(FACTS_ANSWER_MAX_TOKENS)
}
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

/// The answer for `chunks` chunks: `{"facts": [...]}` for one chunk, and for a pack
/// `{"chunks": [{"chunk": 1, "facts": [...]}, ...]}` with one entry per chunk. Both are a
/// top-level object, as structured-output APIs require. One chunk gets the flat shape because
/// a small model (asked one chunk a call) fills it well and loses its way in the nested one.
pub fn facts_schema(chunks: usize) -> Value {
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let subjects: Vec<Value> = Subject::ALL
        .iter()
        .map(|s| Value::from(s.as_str()))
        .chain([Value::Null])
        .collect();
    let facts = json!({
        "type": "array",
        "maxItems": FACTS_PER_CHUNK,
        "items": object(&[
            ("category", json!({"type": "string", "enum": categories})),
            ("text", bounded_text(FACT_CHARS)),
            ("subject", json!({"type": ["string", "null"], "enum": subjects})),
            ("evidence", bounded_text(FACT_CHARS)),
        ]),
    });
    if chunks <= 1 {
        return object(&[("facts", facts)]);
    }
    object(&[(
        "chunks",
        json!({
            "type": "array",
            "minItems": chunks,
            "maxItems": chunks,
            "items": object(&[
                ("chunk", json!({"type": "integer", "minimum": 1, "maximum": chunks})),
                ("facts", facts),
            ]),
        }),
    )])
}

/// `{"memory_md": "..."}`.
pub fn memory_schema() -> Value {
    object(&[("memory_md", bounded_text(MEMORY_CHARS))])
}

/// The five sections must all be there, as objects, and not degenerate ([`degenerate`]): a
/// model's answer, before it is parsed.
pub fn check_sections(v: &Value) -> Result<(), String> {
    for key in ["soul", "identity", "user", "agents", "tools"] {
        if !v.get(key).is_some_and(Value::is_object) {
            return Err(format!("missing the \"{key}\" section"));
        }
    }
    degenerate(v).map_or(Ok(()), Err)
}

/// What makes a well-formed profile degenerate, in words: a list that repeats an item, one
/// value filling most fields, or the person described as an AI model (a 0.5B model once wrote
/// "GPT-4" as their name, home, work and twelve interests, and every other check passed).
pub fn degenerate(v: &Value) -> Option<String> {
    let mut texts: Vec<(String, String)> = Vec::new();
    for (section, fields) in v.as_object()?.iter() {
        for (field, value) in fields.as_object().into_iter().flatten() {
            let at = format!("{section}.{field}");
            match value {
                Value::String(text) => texts.push((at, text.clone())),
                Value::Array(items) => {
                    let mut seen = std::collections::HashSet::new();
                    for item in items.iter().filter_map(Value::as_str) {
                        let key = item.trim().to_lowercase();
                        if !is_placeholder(&key) && !seen.insert(key) {
                            return Some(format!("{at} repeats {item:?}"));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some((at, text)) = texts
        .iter()
        .find(|(at, text)| PERSON_FIELDS.contains(&at.as_str()) && names_a_model(text))
    {
        return Some(format!("{at} describes the person as {text:?}"));
    }
    let filled: Vec<String> = texts
        .iter()
        .map(|(_, t)| t.trim().to_lowercase())
        // "None" is a real answer for a few fields (emoji, boundaries), not a fill.
        .filter(|t| !is_placeholder(t) && t != "none")
        .collect();
    let mut counts = std::collections::HashMap::new();
    for t in &filled {
        *counts.entry(t.as_str()).or_insert(0usize) += 1;
    }
    let (value, most) = counts.into_iter().max_by_key(|&(_, n)| n)?;
    (most >= 3 && most * 2 >= filled.len()).then(|| {
        format!(
            "{value:?} fills {most} of the {} fields given",
            filled.len()
        )
    })
}

/// The fields that describe who the person is: an AI model there is a degenerate answer.
/// (Interests and relationships may well name one: "AI", "Claude (husband)".)
const PERSON_FIELDS: [&str; 4] = [
    "user.name",
    "user.location",
    "user.occupation",
    "user.preferred_address",
];

/// An AI model or assistant where a description of a person belongs ("GPT-4", "ChatGPT",
/// "the assistant"): the whole value, not a word of it ("OpenAI engineer" is a person's work,
/// and "Claude" or "Ai" a person's name).
fn names_a_model(value: &str) -> bool {
    const MODELS: &[&str] = &[
        "chatgpt",
        "openai",
        "assistant",
        "the assistant",
        "an assistant",
        "ai assistant",
        "an ai",
        "an ai assistant",
        "chatbot",
        "bot",
        "language model",
        "a language model",
        "large language model",
        "llm",
    ];
    let v = value.trim().trim_end_matches('.').to_lowercase();
    // "gpt-4", "gpt4o", "gpt-3.5 turbo": a model's name, never a person's.
    let gpt = v.strip_prefix("gpt").is_some_and(|rest| {
        rest.is_empty()
            || rest.starts_with(['-', ' '])
            || rest.starts_with(|c: char| c.is_ascii_digit())
    });
    gpt || MODELS.contains(&v.as_str())
}

/// The input of [`super::questions::WEB_SEARCH_TOOL`].
pub fn web_search_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to search for"}},
        "required": ["query"],
    })
}

/// The fact-extraction answer, in either shape [`facts_schema`] gives.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum FactsAnswer {
    /// A pack's entries, one per chunk.
    Pack {
        /// `{"chunk": n, "facts": [...]}` each, checked one by one.
        chunks: Vec<Value>,
    },
    /// One chunk's facts.
    One {
        /// The facts, checked one by one.
        facts: Vec<Value>,
    },
}

impl FactsAnswer {
    /// Each of the `sent` chunks' facts, in the order sent ([`PackFacts`]). An entry naming a
    /// chunk that was not sent is dropped with its facts; an entry whose facts are not a list
    /// leaves its chunk unanswered; a malformed fact is dropped, not the chunk's other facts.
    /// The flat shape answers only a single chunk.
    pub fn into_pack(self, sent: usize) -> PackFacts {
        let mut pack: PackFacts = vec![None; sent];
        let entries = match self {
            FactsAnswer::Pack { chunks } => chunks,
            FactsAnswer::One { facts } if sent == 1 => {
                pack[0] = Some(parse_facts(&facts));
                return pack;
            }
            FactsAnswer::One { .. } => return pack,
        };
        for entry in entries {
            let Some(slot) = entry
                .get("chunk")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| pack.get_mut(i))
            else {
                continue;
            };
            let Some(Value::Array(facts)) = entry.get("facts") else {
                continue;
            };
            slot.get_or_insert_with(Vec::new).extend(parse_facts(facts));
        }
        pack
    }
}

fn parse_facts(facts: &[Value]) -> Vec<ExtractedFact> {
    facts
        .iter()
        .filter_map(|f| serde_json::from_value::<ExtractedFact>(f.clone()).ok())
        .collect()
}

/// A pack's answer must have its list of chunks; one chunk's, its list of facts (or a pack's
/// list). Each entry and fact is checked on its own.
pub fn check_facts(v: &Value, sent: usize) -> Result<(), String> {
    match (v.get("chunks"), v.get("facts")) {
        (Some(Value::Array(_)), _) => Ok(()),
        (_, Some(Value::Array(_))) if sent <= 1 => Ok(()),
        _ if sent <= 1 => Err("missing the \"facts\" list".into()),
        _ => Err("missing the \"chunks\" list".into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(user: Value) -> Value {
        json!({"soul": {"communication_style": "Short, direct messages", "boundaries": "None",
                        "humor_style": "None", "emoji_style": "None"},
               "identity": {"ai_name": "Wren"}, "user": user, "agents": {}, "tools": {}})
    }

    #[test]
    fn repeated_items_one_value_everywhere_and_a_model_for_a_person_are_degenerate() {
        let ok = profile(
            json!({"name": "Claude Dubois", "occupation": "OpenAI engineer",
                                 "location": "not enough data", "interests": ["AI", "LLM", "cello"],
                                 "relationships": ["Claude (husband)"]}),
        );
        assert_eq!(
            degenerate(&ok),
            None,
            "\"None\" thrice and an AI researcher are fine"
        );
        let repeated = profile(json!({"interests": ["cello", "Cello"]}));
        assert!(degenerate(&repeated)
            .unwrap()
            .contains("user.interests repeats"));
        let model = profile(json!({"name": "GPT-4"}));
        assert!(degenerate(&model)
            .unwrap()
            .contains("user.name describes the person"));
        let mut same = profile(json!({"name": "Erin"}));
        for field in ["vibe", "archetype", "signature_greeting"] {
            same["identity"][field] = json!("Calm and kind");
        }
        assert!(degenerate(&same).unwrap().contains("fills 3 of the 6"));
    }
}
