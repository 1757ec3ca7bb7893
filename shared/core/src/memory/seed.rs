//! What the export already knew about the person, as facts: custom instructions and ChatGPT's
//! own memory. They seed the memory before any model reads a conversation.

use crate::conversation::Conversation;

use super::fact::{Category, Fact, Origin, Source};
use super::statements::classify;

/// Facts from the signals of `conversation` (none from a do-not-remember conversation).
pub fn seed_facts(conversation: &Conversation) -> Vec<Fact> {
    if conversation.do_not_remember {
        return Vec::new();
    }
    let mut facts = Vec::new();
    let signals = &conversation.profile_signals;
    let mut push = |text: &str, origin, at, default: Category| {
        for line in text
            .split(['\n', ';'])
            .flat_map(|l| l.split(". "))
            .map(|l| l.trim().trim_start_matches(['-', '*', '•']).trim())
            .filter(|l| l.chars().count() >= 4)
        {
            let (category, subject) = classify(&line.to_lowercase()).unwrap_or((default, None));
            let mut text = line.trim_end_matches('.').to_owned();
            text.push('.');
            facts.push(Fact {
                category,
                text,
                subject,
                source: Source {
                    origin,
                    conversation_id: conversation.id.clone(),
                    message_ids: Vec::new(),
                    observed_at: at,
                },
            });
        }
    };
    for ci in &signals.custom_instructions {
        if let Some(about) = &ci.about_user {
            push(
                about,
                Origin::CustomInstructions,
                ci.created_at,
                Category::Life,
            );
        }
        if let Some(style) = &ci.about_model {
            push(
                style,
                Origin::CustomInstructions,
                ci.created_at,
                Category::Preference,
            );
        }
    }
    for m in &signals.memories {
        push(&m.text, Origin::ChatgptMemory, m.created_at, Category::Life);
    }
    facts
}
