//! The quick pass: the five sections from a sample, validated, and the soulprint rendered.

use tracing::warn;

use super::StageError;
use crate::conversation::ProfileSignals;
use crate::person_stats::PersonStats;
use crate::ports::llm::{LlmError, ProfileRequest, Usage};
use crate::ports::{Ports, UserId};
use crate::profile::Profile;
use crate::sampler::Sample;
use crate::sections::{is_generic_name, is_placeholder, Sections};

/// What one read of the conversations gathers for the quick pass.
pub(crate) struct Gathered {
    pub sample: Sample,
    pub stats: PersonStats,
    pub signals: ProfileSignals,
}

/// At most this many of ChatGPT's memories go into the prompt.
const MAX_MEMORIES: usize = 200;

/// Asks the model for the sections (the flag: whether its answer was usable). An unusable answer (after the adapter's one repair)
/// gives a clearly marked partial profile, not a failed import; a model that cannot be
/// reached fails the import with the reason.
pub(crate) async fn quick_pass(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    mut gathered: Gathered,
    memory_md: Option<String>,
) -> Result<(Profile, Usage, bool), StageError> {
    gathered.signals.memories.truncate(MAX_MEMORIES);
    let request = ProfileRequest {
        sample: gathered.sample.conversations,
        signals: gathered.signals,
        stats: gathered.stats,
        memory_md,
    };
    let info = ports.llm.info();
    let mut notes = Vec::new();
    let mut answered = true;
    // A fact model that cannot be called fails the import now, before the full pass asks it
    // thousands of times (the quick pass's own model says so with its answer).
    let mut usage = Usage::default();
    if request.memory_md.is_none() && ports.fact_llm.info().label != info.label {
        usage.add(&ports.fact_llm.check().await?);
    }
    let (sections, spent) = match ports.llm.profile(&request).await {
        Ok(reply) => (reply.value, reply.usage),
        // Unusable, or this request refused: a clearly marked partial profile. A model that
        // is not served at all fails the import with the reason.
        Err(e @ (LlmError::InvalidOutput(_) | LlmError::Refused(_))) => {
            warn!(error = %e, "quick pass: the model's answer was unusable");
            answered = false;
            notes.push(format!(
                "The sections are empty: {e}. The full pass will try again with more to go on."
            ));
            (Sections::default(), Usage::default())
        }
        Err(e) => return Err(e.into()),
    };
    usage.add(&spent);
    let (mut sections, tidied) = tidy_sections(sections, user.as_str());
    notes.extend(tidied);
    // The export still states what the person deleted; the sections must not.
    let tombstones = ports.store.tombstones(user).await?;
    sections.forget(|text| tombstones.iter().any(|t| t.mentioned_in(text)));
    let now = ports.clock.now();
    let mut profile = Profile {
        import_id: import_id.to_owned(),
        sections,
        memory_md: None,
        chunk_index: None,
        soulprint_text: String::new(),
        written_by: info.label,
        notes,
        updated_at: now,
    };
    profile.render(now);
    Ok((profile, usage, answered))
}

/// Characters of a section's field and of a list's item, as the answer's schema bounds them:
/// with the rest of the profile, its item stays far under DynamoDB's 400 KB.
const MAX_FIELD_CHARS: usize = 500;
const MAX_ITEM_CHARS: usize = 200;

/// Model output is hostile: fields are trimmed and cut, lists bounded, and a generic or
/// missing name replaced by a creative one. Returns what was changed, in words.
pub fn tidy_sections(mut s: Sections, seed: &str) -> (Sections, Vec<String>) {
    let mut notes = Vec::new();
    for field in s.texts_mut() {
        *field = field.trim().chars().take(MAX_FIELD_CHARS).collect();
    }
    for (list, max) in s.lists_mut() {
        for item in list.iter_mut() {
            *item = item.trim().chars().take(MAX_ITEM_CHARS).collect();
        }
        list.retain(|i| !is_placeholder(i));
        list.truncate(max);
    }
    let name = &mut s.identity.ai_name;
    *name = name.chars().take(50).collect::<String>().trim().to_owned();
    // The person's own name is not the assistant's (small models copy it over).
    let persons = s.user.name.trim();
    let theirs = !persons.is_empty() && name.eq_ignore_ascii_case(persons);
    if is_generic_name(name) || is_placeholder(name) || theirs {
        let chosen = creative_name(seed);
        let why = if theirs {
            "the person's own"
        } else {
            "generic"
        };
        notes.push(format!(
            "The name {:?} was {why}; the assistant is called {chosen} instead.",
            name.as_str()
        ));
        *name = chosen.to_owned();
    }
    let archetype: Vec<&str> = s.identity.archetype.split_whitespace().take(4).collect();
    s.identity.archetype = archetype.join(" ");
    (s, notes)
}

/// A name chosen from a list by the user id: the same person always gets the same one.
pub fn creative_name(seed: &str) -> &'static str {
    const NAMES: &[&str] = &[
        "Wren", "Juniper", "Marlowe", "Sable", "Quill", "Ember", "Rowan", "Indigo", "Lark",
        "Vesper", "Kestrel", "Saffron", "Atlas", "Tamsin", "Orrin", "Calloway",
    ];
    let h = seed
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    NAMES[h as usize % NAMES.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_sections_are_tidied() {
        let mut s = Sections::default();
        s.identity.ai_name = "  Assistant ".into();
        s.identity.archetype = "The Very Curious Night Owl Builder".into();
        s.soul.personality_traits = (0..12).map(|i| format!("trait {i}")).collect();
        s.soul
            .personality_traits
            .insert(0, "not enough data".into());
        s.user.location = "x".repeat(5_000);
        let (t, notes) = tidy_sections(s, "user-1");
        assert!(!is_generic_name(&t.identity.ai_name));
        assert_eq!(t.identity.ai_name, creative_name("user-1"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(t.identity.archetype, "The Very Curious Night");
        assert_eq!(t.soul.personality_traits.len(), 7);
        assert_eq!(t.soul.personality_traits[0], "trait 0");
        assert_eq!(t.user.location.len(), MAX_FIELD_CHARS);
    }

    #[test]
    fn the_persons_own_name_is_not_the_assistants() {
        let mut s = Sections::default();
        s.identity.ai_name = "Sam".into();
        s.user.name = "sam".into();
        let (t, notes) = tidy_sections(s, "user-1");
        assert_eq!(t.identity.ai_name, creative_name("user-1"));
        assert!(notes[0].contains("the person's own"), "{notes:?}");
    }
}
