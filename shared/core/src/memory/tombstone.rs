//! What a deletion leaves behind: enough to know the deleted thing again when a later pass
//! finds it (the export still holds the person's words), nothing to read it by. A deleted
//! fact is kept as the hashes of its content words, a deleted excerpt as its id.

use serde::{Deserialize, Serialize};

use super::words::{content_words, is_number, same_words};
use super::MemoryFact;

/// A deleted fact or excerpt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tombstone {
    /// A fact: its id, the hashes of its content words (sorted) and of its numbers, and the
    /// conversations it came from (whose excerpts stating it leave the index too).
    Fact {
        /// The deleted fact's id.
        id: String,
        /// Hashes of its content words, sorted.
        words: Vec<u64>,
        /// Hashes of the words among them that are numbers, sorted.
        numbers: Vec<u64>,
        /// The conversations and chat threads it was stated in.
        conversations: Vec<String>,
    },
    /// A conversation excerpt (a chunk of the relevance index), by its id.
    Excerpt {
        /// `{conversation id}#{chunk index}`.
        id: String,
    },
}

/// FNV-1a: stable across processes and versions, unlike the standard library's hasher.
fn hash(word: &str) -> u64 {
    word.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Content words of `text`, hashed and sorted, and the numbers among them.
fn hashed(text: &str) -> (Vec<u64>, Vec<u64>) {
    let words = content_words(text);
    let mut all: Vec<u64> = words.iter().map(|w| hash(w)).collect();
    let mut numbers: Vec<u64> = words
        .iter()
        .filter(|w| is_number(w))
        .map(|w| hash(w))
        .collect();
    all.sort_unstable();
    numbers.sort_unstable();
    (all, numbers)
}

impl Tombstone {
    /// What deleting `fact` leaves.
    pub fn of_fact(fact: &MemoryFact) -> Self {
        let (words, numbers) = hashed(&fact.text);
        let mut conversations: Vec<String> = fact
            .sources
            .iter()
            .map(|s| s.conversation_id.clone())
            .collect();
        conversations.sort();
        conversations.dedup();
        Tombstone::Fact {
            id: fact.id.clone(),
            words,
            numbers,
            conversations,
        }
    }

    /// Whether a fact with this text is the deleted fact said again (in any category).
    pub fn buries_fact(&self, text: &str) -> bool {
        match self {
            Tombstone::Fact { words, numbers, .. } => {
                let (w, n) = hashed(text);
                same_words(words, numbers, &w, &n)
            }
            Tombstone::Excerpt { .. } => false,
        }
    }

    /// Whether an excerpt (its id, conversation and text) is deleted, or states a deleted
    /// fact in a conversation the fact came from.
    pub fn buries_excerpt(&self, id: &str, conversation: &str, text: &str) -> bool {
        match self {
            Tombstone::Excerpt { id: gone } => gone == id,
            Tombstone::Fact {
                words,
                conversations,
                ..
            } => {
                if conversations
                    .binary_search_by(|c| c.as_str().cmp(conversation))
                    .is_err()
                {
                    return false;
                }
                // Every word of the fact is in the excerpt.
                let (have, _) = hashed(text);
                !words.is_empty() && words.iter().all(|w| have.binary_search(w).is_ok())
            }
        }
    }
}

/// Words that say how a fact holds, not what it is about: "lives" in "Lives in Berlin" is
/// not what a profile's sentence must mention to be about it.
const HOW: &str = "lives living works working likes loves uses wants needs prefers enjoys \
    called named born moved studies studying job owns person user";

impl Tombstone {
    /// Whether `text` (a sentence of the profile, a list item) mentions the deleted fact: any
    /// of the words that say what it is about.
    pub fn mentioned_in(&self, text: &str) -> bool {
        let Tombstone::Fact { words, .. } = self else {
            return false;
        };
        let how: Vec<u64> = content_words(HOW).iter().map(|w| hash(w)).collect();
        let (have, _) = hashed(text);
        words
            .iter()
            .filter(|w| !how.contains(w))
            .any(|w| have.binary_search(w).is_ok())
    }
}

/// Whether any of `tombstones` buries a fact with this text.
pub fn buried_fact(tombstones: &[Tombstone], text: &str) -> bool {
    tombstones.iter().any(|t| t.buries_fact(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Category, FactStatus, Origin, Source};

    fn fact(text: &str) -> MemoryFact {
        MemoryFact {
            id: "f1".into(),
            category: Category::Life,
            text: text.into(),
            subject: None,
            status: FactStatus::Current,
            superseded_by: None,
            sources: vec![Source {
                origin: Origin::Conversation,
                conversation_id: "c1".into(),
                message_ids: vec!["m1".into()],
                observed_at: None,
            }],
            stated: 1,
        }
    }

    #[test]
    fn a_deleted_fact_is_known_again_in_other_words_but_not_kept_readable() {
        let t = Tombstone::of_fact(&fact("Lives in Berlin with a cat called Mochi"));
        assert!(t.buries_fact("I live in Berlin with my cat Mochi"));
        assert!(!t.buries_fact("Works as a nurse in Lisbon"));
        let kept = serde_json::to_string(&t).unwrap();
        assert!(!kept.to_lowercase().contains("berlin"), "{kept}");
        assert!(!kept.to_lowercase().contains("mochi"), "{kept}");
        // Numbers must agree, as for consolidation.
        let three = Tombstone::of_fact(&fact("Has 3 children"));
        assert!(!three.buries_fact("Has 2 children"));
        assert!(three.buries_fact("has 3 children"));
    }

    #[test]
    fn a_profile_sentence_mentions_a_fact_by_what_it_is_about_not_how() {
        let t = Tombstone::of_fact(&fact("Lives in Berlin"));
        assert!(t.mentioned_in("Based in Berlin, Germany"));
        assert!(!t.mentioned_in("Lives a quiet life by the sea"));
    }

    #[test]
    fn an_excerpt_stating_a_deleted_fact_is_buried_in_its_own_conversation_only() {
        let t = Tombstone::of_fact(&fact("Lives in Berlin"));
        let text = "Person: I moved last year, I live in Berlin now and love it.";
        assert!(t.buries_excerpt("c1#0", "c1", text));
        assert!(
            !t.buries_excerpt("c2#0", "c2", text),
            "another conversation"
        );
        assert!(!t.buries_excerpt("c1#1", "c1", "Person: what is the capital of France?"));
        let excerpt = Tombstone::Excerpt { id: "c9#4".into() };
        assert!(excerpt.buries_excerpt("c9#4", "c9", "anything"));
        assert!(!excerpt.buries_fact("anything"));
    }
}
