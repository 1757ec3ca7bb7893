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
            .map(clean)
            .filter(|l| {
                l.split_whitespace()
                    .filter(|w| w.chars().any(char::is_alphabetic))
                    .count()
                    >= 2
            })
            // "…how they would like you to respond:" introduces; it says nothing itself.
            .filter(|l| !l.ends_with(':'))
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

/// A line of a memory or an instruction without its bullet, `[date].` prefix and code fences.
fn clean(line: &str) -> &str {
    let mut l = line.trim().trim_start_matches(['-', '*', '•']).trim();
    if l.starts_with('[') {
        if let Some(end) = l.find(']') {
            l = l[end + 1..].trim_start_matches(['.', ' ']);
        }
    }
    l.trim_matches('`').trim()
}

/// The same seed from many conversations (custom instructions and ChatGPT's memory repeat in
/// each one) is one observation: the earliest.
pub fn dedup_seeds(seeds: &mut Vec<Fact>) {
    seeds.sort_by(|a, b| {
        (
            a.source.origin,
            &a.text,
            a.source.observed_at,
            &a.source.conversation_id,
        )
            .cmp(&(
                b.source.origin,
                &b.text,
                b.source.observed_at,
                &b.source.conversation_id,
            ))
    });
    seeds.dedup_by(|later, first| {
        later.source.origin == first.source.origin && later.text == first.text
    });
}
