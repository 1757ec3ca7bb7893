//! The five soulprint sections, as the quick pass asks the model for them (SEED_PARITY.md).
//!
//! Every field is a string or a list of strings; "not enough data" is the model's way of saying
//! it did not know, and renders as nothing.

use serde::{Deserialize, Serialize};

/// SOUL: the person's manner, as the model reads it from their conversations; the assistant takes
/// it on ("Your style: …").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Soul {
    /// How they communicate; the assistant's style follows it.
    pub communication_style: String,
    /// 3–7 traits.
    pub personality_traits: Vec<String>,
    /// The tone they like to be answered in.
    pub tone_preferences: String,
    /// What the assistant should stay away from or handle with care.
    pub boundaries: String,
    /// What humour they use and enjoy.
    pub humor_style: String,
    /// How formal they are, casual to formal.
    pub formality_level: String,
    /// How their moods show and shift ("calm until deadlines").
    pub emotional_patterns: String,
}

/// IDENTITY: who the assistant is to this person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identity {
    /// A creative name, never a generic one (see [`is_generic_name`]).
    pub ai_name: String,
    /// Two to four words.
    pub archetype: String,
    /// Its character in a phrase ("a friend who reads the manual").
    pub vibe: String,
    /// How much emoji it uses, and which ("none" is an answer).
    pub emoji_style: String,
    /// A greeting of its own.
    pub signature_greeting: String,
}

/// USER: who the person is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Their name, where they gave it.
    pub name: String,
    /// Where they live.
    pub location: String,
    /// Their work.
    pub occupation: String,
    /// People and animals in their life, one an item.
    pub relationships: Vec<String>,
    /// What they care about and spend time on.
    pub interests: Vec<String>,
    /// Where they are in life now ("moved from Berlin in 2024").
    pub life_context: String,
    /// What they like to be called.
    pub preferred_address: String,
}

/// AGENTS: how the assistant behaves with this person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Agents {
    /// How its answers are shaped ("lead with the answer").
    pub response_style: String,
    /// 3–7 rules.
    pub behavioral_rules: Vec<String>,
    /// How it changes with the topic ("more detail for code").
    pub context_adaptation: String,
    /// What to remember and bring up ("bring up the garden when it fits").
    pub memory_directives: String,
    /// What it must never do ("moralise").
    pub do_not: Vec<String>,
}

/// TOOLS: what the person uses an assistant for, and how they like its output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tools {
    /// What they are likely to ask for (code, writing, planning, …).
    pub likely_usage: Vec<String>,
    /// Capabilities to lean on for them.
    pub capabilities_emphasis: Vec<String>,
    /// How output should look: lists or prose, length, code.
    pub output_preferences: String,
    /// How deep answers should go.
    pub depth_preference: String,
}

/// A soulprint's five sections, as the quick pass asks the model for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sections {
    /// SOUL: the person's manner, which the assistant takes on.
    pub soul: Soul,
    /// IDENTITY: who the assistant is.
    pub identity: Identity,
    /// USER: who the person is.
    pub user: User,
    /// AGENTS: how the assistant behaves with them.
    pub agents: Agents,
    /// TOOLS: what they use it for and how they like its output.
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
