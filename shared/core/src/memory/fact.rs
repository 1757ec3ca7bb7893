//! A fact about the person, and where it was learned.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The MEMORY section's headings, one per category (the seed's five, after the facts of the
/// person's life, which the seed had no place for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Where they live, what they do, the people and animals in their life.
    Life,
    /// What they like and dislike, and how they want things done.
    Preference,
    /// What they are building, writing or planning.
    Project,
    /// Birthdays, anniversaries, due dates: dates that matter to them.
    Date,
    /// What they believe and value.
    Belief,
    /// Choices they have made, and why.
    Decision,
}

impl Category {
    /// Every category, in the MEMORY section's order.
    pub const ALL: [Category; 6] = [
        Category::Life,
        Category::Preference,
        Category::Project,
        Category::Date,
        Category::Belief,
        Category::Decision,
    ];

    /// The category's heading in MEMORY.
    pub fn heading(self) -> &'static str {
        match self {
            Category::Life => "Life & Circumstances",
            Category::Preference => "Preferences",
            Category::Project => "Projects",
            Category::Date => "Important Dates",
            Category::Belief => "Beliefs & Values",
            Category::Decision => "Decisions & Context",
        }
    }

    /// The category's name in JSON and in the facts schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Life => "life",
            Category::Preference => "preference",
            Category::Project => "project",
            Category::Date => "date",
            Category::Belief => "belief",
            Category::Decision => "decision",
        }
    }
}

/// What a fact is about, when a newer fact on it replaces an older one (a move, a new job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// Where they live.
    Location,
    /// What they do for a living.
    Occupation,
    /// Who they work for.
    Employer,
    /// Their partner and whether they are married, engaged, divorced.
    Relationship,
}

impl Subject {
    /// Every subject, as the facts schema offers them.
    pub const ALL: [Subject; 4] = [
        Subject::Location,
        Subject::Occupation,
        Subject::Employer,
        Subject::Relationship,
    ];

    /// The subject's name in JSON and in the facts schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Location => "location",
            Subject::Occupation => "occupation",
            Subject::Employer => "employer",
            Subject::Relationship => "relationship",
        }
    }

    /// The subject with this name, if any.
    pub fn parse(s: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where a fact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The person's words in a conversation.
    Conversation,
    /// Custom instructions the person gave ChatGPT.
    CustomInstructions,
    /// ChatGPT's own memory of the person.
    ChatgptMemory,
    /// The person's words in a chat with SoulPrint.
    Chat,
}

/// One place a fact was stated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    /// What kind of place.
    pub origin: Origin,
    /// The conversation or chat thread; for custom instructions and ChatGPT's memory, the
    /// conversation that carried them.
    pub conversation_id: String,
    /// The messages whose words state it; empty for custom instructions and ChatGPT's memory.
    pub message_ids: Vec<String>,
    /// When the words were written: the fact held then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub observed_at: Option<OffsetDateTime>,
}

/// One fact as extracted from one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// The MEMORY heading it goes under.
    pub category: Category,
    /// One short sentence in the third person.
    pub text: String,
    /// Set when a newer fact on the same subject replaces it.
    pub subject: Option<Subject>,
    /// Where it was stated.
    pub source: Source,
}

/// Whether a consolidated fact still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactStatus {
    /// The newest fact on its subject, or a fact without a subject.
    Current,
    /// Replaced by a newer fact on the same subject; kept as history.
    History,
}

/// A fact after consolidation: near-duplicates merged, with their sources (the first and the
/// latest [`KEPT_SOURCES`], and how many there were: a fact restated thousands of times stays
/// one small record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryFact {
    /// Stable: the same facts from the same export get the same ids.
    pub id: String,
    /// The MEMORY heading it goes under.
    pub category: Category,
    /// The fullest wording among its sources' facts.
    pub text: String,
    /// What it is about, when a newer fact on the same subject would replace it.
    pub subject: Option<Subject>,
    /// Current, or kept as history.
    pub status: FactStatus,
    /// For history: the fact that replaced it.
    pub superseded_by: Option<String>,
    /// Sorted oldest first: the first and the latest [`KEPT_SOURCES`].
    pub sources: Vec<Source>,
    /// How many times it was stated, the sources not kept included (0 in records older than
    /// this count: then `sources` holds them all).
    #[serde(default)]
    pub stated: u64,
}

/// Sources a fact keeps at each end, its first statements and its latest.
pub const KEPT_SOURCES: usize = 8;

impl MemoryFact {
    /// How many times the fact was stated.
    pub fn times_stated(&self) -> u64 {
        self.stated.max(self.sources.len() as u64)
    }

    /// Counts the sources, then keeps the first and the latest [`KEPT_SOURCES`] of them
    /// (sorted oldest first, without repeats).
    pub fn bound_sources(&mut self) {
        self.sources
            .sort_by(|a, b| (a.observed_at, a).cmp(&(b.observed_at, b)));
        self.sources.dedup();
        self.stated = self.stated.max(self.sources.len() as u64);
        if self.sources.len() > 2 * KEPT_SOURCES {
            let latest = self.sources.split_off(self.sources.len() - KEPT_SOURCES);
            self.sources.truncate(KEPT_SOURCES);
            self.sources.extend(latest);
        }
    }

    /// When the fact was last stated.
    pub fn last_observed(&self) -> Option<OffsetDateTime> {
        self.sources.iter().filter_map(|s| s.observed_at).max()
    }

    /// When the fact was first stated.
    pub fn first_observed(&self) -> Option<OffsetDateTime> {
        self.sources.iter().filter_map(|s| s.observed_at).min()
    }
}

/// `text` as a fact may hold it: control characters (NUL, BEL, escapes) and the marks that
/// reorder text on screen (bidirectional overrides and isolates) taken out, whitespace as
/// single spaces. A fact is shown to the person and sent to models; neither should get either.
pub fn clean_text(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|c| {
            !matches!(
                c,
                '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            )
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_stated_thousands_of_times_keeps_its_ends_and_its_count() {
        let source = |i: i64| Source {
            origin: Origin::Conversation,
            conversation_id: format!("c{i}"),
            message_ids: vec![format!("m{i}")],
            observed_at: Some(OffsetDateTime::UNIX_EPOCH + time::Duration::days(i)),
        };
        let mut f = MemoryFact {
            id: "f".into(),
            category: Category::Life,
            text: "Lives in Berlin".into(),
            subject: None,
            status: FactStatus::Current,
            superseded_by: None,
            sources: (0..2_300).rev().map(source).collect(),
            stated: 0,
        };
        f.bound_sources();
        assert_eq!(f.times_stated(), 2_300);
        assert_eq!(f.sources.len(), 2 * KEPT_SOURCES);
        assert_eq!(f.sources[0].conversation_id, "c0");
        assert_eq!(f.sources.last().unwrap().conversation_id, "c2299");
        assert_eq!(f.first_observed(), Some(OffsetDateTime::UNIX_EPOCH));
    }

    #[test]
    fn control_and_reordering_characters_never_reach_a_fact() {
        assert_eq!(
            clean_text("I live in\u{0} Berlin\u{7} \u{202E}nilreB\u{202C} now\n"),
            "I live in Berlin nilreB now"
        );
    }
}
