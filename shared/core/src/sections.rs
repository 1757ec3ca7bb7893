//! The five soulprint sections, as the quick pass asks the model for them (those of the
//! system SoulPrint replaces).
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

impl Sections {
    /// Every free-text field (the assistant's name among them), in section order.
    pub fn texts_mut(&mut self) -> [&mut String; 21] {
        let Sections {
            soul,
            identity,
            user,
            agents,
            tools,
        } = self;
        [
            &mut soul.communication_style,
            &mut soul.tone_preferences,
            &mut soul.boundaries,
            &mut soul.humor_style,
            &mut soul.formality_level,
            &mut soul.emotional_patterns,
            &mut identity.ai_name,
            &mut identity.archetype,
            &mut identity.vibe,
            &mut identity.emoji_style,
            &mut identity.signature_greeting,
            &mut user.name,
            &mut user.location,
            &mut user.occupation,
            &mut user.life_context,
            &mut user.preferred_address,
            &mut agents.response_style,
            &mut agents.context_adaptation,
            &mut agents.memory_directives,
            &mut tools.output_preferences,
            &mut tools.depth_preference,
        ]
    }

    /// Every list, with the most items it keeps.
    pub fn lists_mut(&mut self) -> [(&mut Vec<String>, usize); 7] {
        let Sections {
            soul,
            user,
            agents,
            tools,
            ..
        } = self;
        [
            (&mut soul.personality_traits, 7),
            (&mut agents.behavioral_rules, 7),
            (&mut user.relationships, MAX_LIST_ITEMS),
            (&mut user.interests, MAX_LIST_ITEMS),
            (&mut agents.do_not, MAX_LIST_ITEMS),
            (&mut tools.likely_usage, MAX_LIST_ITEMS),
            (&mut tools.capabilities_emphasis, MAX_LIST_ITEMS),
        ]
    }

    /// Takes out every sentence of a field, and every list item, that `mentions` a deleted
    /// fact (the assistant's name stays); returns how many went.
    pub fn forget(&mut self, mentions: impl Fn(&str) -> bool) -> usize {
        let mut gone = 0;
        let name = self.identity.ai_name.clone();
        for field in self.texts_mut() {
            if *field == name {
                continue;
            }
            let sentences = split_sentences(field);
            let kept: Vec<&str> = sentences.iter().copied().filter(|s| !mentions(s)).collect();
            if kept.len() < sentences.len() {
                gone += sentences.len() - kept.len();
                *field = kept.join(" ").trim().to_owned();
            }
        }
        for (list, _) in self.lists_mut() {
            let before = list.len();
            list.retain(|item| !mentions(item));
            gone += before - list.len();
        }
        gone
    }
}

/// Lists longer than this are cut (traits and rules keep 7).
pub const MAX_LIST_ITEMS: usize = 12;

/// A field's sentences, each with its end mark.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | ';' | '\n') {
            let end = i + c.len_utf8();
            let s = text[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
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
    fn forgetting_takes_out_the_sentences_and_items_that_mention_it_only() {
        let mut s = Sections::default();
        s.identity.ai_name = "Wren".into();
        s.user.location = "Berlin, Germany".into();
        s.user.life_context =
            "Moved to Berlin in 2024. Works as a nurse. Training for a marathon.".into();
        s.user.interests = vec!["Berlin techno".into(), "running".into()];
        let gone = s.forget(|t| t.to_lowercase().contains("berlin"));
        assert_eq!(gone, 3);
        assert_eq!(s.user.location, "");
        assert_eq!(
            s.user.life_context,
            "Works as a nurse. Training for a marathon."
        );
        assert_eq!(s.user.interests, ["running"]);
        assert_eq!(s.identity.ai_name, "Wren");
    }

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
