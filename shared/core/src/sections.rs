//! The five soulprint sections, as the quick pass asks the model for them (SEED_PARITY.md).
//!
//! Every field is a string or a list of strings; "not enough data" is the model's way of saying
//! it did not know, and renders as nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Soul {
    pub communication_style: String,
    /// 3–7 traits.
    pub personality_traits: Vec<String>,
    pub tone_preferences: String,
    pub boundaries: String,
    pub humor_style: String,
    pub formality_level: String,
    pub emotional_patterns: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identity {
    /// A creative name, never a generic one (see [`is_generic_name`]).
    pub ai_name: String,
    /// Two to four words.
    pub archetype: String,
    pub vibe: String,
    pub emoji_style: String,
    pub signature_greeting: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub name: String,
    pub location: String,
    pub occupation: String,
    pub relationships: Vec<String>,
    pub interests: Vec<String>,
    pub life_context: String,
    pub preferred_address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Agents {
    pub response_style: String,
    /// 3–7 rules.
    pub behavioral_rules: Vec<String>,
    pub context_adaptation: String,
    pub memory_directives: String,
    pub do_not: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tools {
    pub likely_usage: Vec<String>,
    pub capabilities_emphasis: Vec<String>,
    pub output_preferences: String,
    pub depth_preference: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sections {
    pub soul: Soul,
    pub identity: Identity,
    pub user: User,
    pub agents: Agents,
    pub tools: Tools,
}

/// Names an assistant must not be given: an empty one once reached people as "Soul".
pub fn is_generic_name(name: &str) -> bool {
    const GENERIC: &[&str] = &[
        "assistant",
        "helper",
        "ai",
        "bot",
        "buddy",
        "soul",
        "chatbot",
    ];
    let name = name.trim();
    name.is_empty() || GENERIC.contains(&name.to_lowercase().as_str())
}

/// Values that stand for "no data": rendered as nothing. ("None" is a real answer, as in
/// "emoji style: none", and is kept.)
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().trim_end_matches('.').to_lowercase();
    matches!(
        v.as_str(),
        "" | "not enough data" | "n/a" | "na" | "unknown" | "null" | "-" | "tbd"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_names_and_placeholders_are_recognised() {
        for generic in ["", "  ", "Assistant", "SOUL", "buddy"] {
            assert!(is_generic_name(generic), "{generic:?}");
        }
        assert!(!is_generic_name("Wren"));
        for placeholder in ["Not enough data.", "N/A", "unknown", ""] {
            assert!(is_placeholder(placeholder), "{placeholder:?}");
        }
        assert!(!is_placeholder("Lisbon"));
        assert!(!is_placeholder("None"));
    }

    #[test]
    fn missing_fields_read_as_empty() {
        let s: Sections = serde_json::from_str(
            r#"{"soul": {}, "identity": {"ai_name": "Wren"}, "user": {}, "agents": {}, "tools": {}}"#,
        )
        .unwrap();
        assert_eq!(s.identity.ai_name, "Wren");
        assert!(s.soul.personality_traits.is_empty());
    }
}
