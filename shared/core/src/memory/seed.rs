//! What the export already knew about the person, as facts: custom instructions and ChatGPT's
//! own memory. They seed the memory before any model reads a conversation.

use crate::conversation::Conversation;

use super::about_me;
use super::fact::{Category, Fact, Origin, Source};
use super::statements::classify;

/// Facts from the signals of `conversation` (none from a do-not-remember conversation).
pub fn seed_facts(conversation: &Conversation) -> Vec<Fact> {
    if conversation.do_not_remember {
        return Vec::new();
    }
    let mut facts = Vec::new();
    let signals = &conversation.profile_signals;
    let source = |origin, at: Option<time::OffsetDateTime>| Source {
        origin,
        conversation_id: conversation.id.clone(),
        message_ids: Vec::new(),
        // Custom instructions carry no time of their own in 2025 exports: the conversation
        // they first appear in dates them, so they do not sort behind every dated fact.
        // (A memory entry without a time stays undated: it may have been written any time
        // before, and must not replace what the person said since.)
        observed_at: match origin {
            Origin::CustomInstructions => at.or(conversation.created_at),
            _ => at,
        },
    };
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
                source: source(origin, at),
            });
        }
    };
    let mut labelled = Vec::new();
    for ci in &signals.custom_instructions {
        if let Some(about) = &ci.about_user {
            // "Preferred name: Erin", "Role: …": read by the label, not guessed from words.
            for (label, value) in about.lines().filter_map(about_me::labelled) {
                labelled.push(Fact {
                    category: Category::Life,
                    text: format!("{}: {value}.", label.as_str()),
                    subject: label.subject(),
                    source: source(Origin::CustomInstructions, ci.created_at),
                });
            }
            push(
                &about_me::prose(about).join("\n"),
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
    facts.extend(labelled);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{CustomInstructions, ProfileSignals};
    use crate::memory::Subject;
    use time::macros::datetime;

    #[test]
    fn an_about_me_gives_name_work_and_home_by_label_dated_by_its_conversation() {
        let conversation = Conversation {
            format_version: crate::conversation::FORMAT_VERSION,
            id: "c1".into(),
            title: None,
            created_at: Some(datetime!(2025-03-01 9:00 UTC)),
            updated_at: None,
            do_not_remember: false,
            messages: Vec::new(),
            profile_signals: ProfileSignals {
                custom_instructions: vec![CustomInstructions {
                    about_user: Some(
                        "Preferred name: Erin\nRole: director of a gardening company\n\
                         Other Information: I have two whippets."
                            .into(),
                    ),
                    about_model: None,
                    created_at: None,
                }],
                memories: Vec::new(),
            },
        };
        let facts = seed_facts(&conversation);
        let texts: Vec<(&str, Option<Subject>)> =
            facts.iter().map(|f| (f.text.as_str(), f.subject)).collect();
        assert_eq!(
            texts,
            vec![
                ("I have two whippets.", None),
                ("Preferred name: Erin.", None),
                (
                    "Occupation: director of a gardening company.",
                    Some(Subject::Occupation)
                ),
            ]
        );
        assert!(facts
            .iter()
            .all(|f| f.source.observed_at == conversation.created_at));
    }
}
