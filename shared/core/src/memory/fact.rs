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
    Preference,
    Project,
    Date,
    Belief,
    Decision,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::Life,
        Category::Preference,
        Category::Project,
        Category::Date,
        Category::Belief,
        Category::Decision,
    ];

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
    Location,
    Occupation,
    Employer,
    Relationship,
}

impl Subject {
    pub const ALL: [Subject; 4] = [
        Subject::Location,
        Subject::Occupation,
        Subject::Employer,
        Subject::Relationship,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Location => "location",
            Subject::Occupation => "occupation",
            Subject::Employer => "employer",
            Subject::Relationship => "relationship",
        }
    }

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

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    pub origin: Origin,
    pub conversation_id: String,
    pub message_ids: Vec<String>,
    /// When the words were written: the fact held then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub observed_at: Option<OffsetDateTime>,
}

/// One fact as extracted from one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub category: Category,
    pub text: String,
    pub subject: Option<Subject>,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactStatus {
    Current,
    /// Replaced by a newer fact on the same subject; kept as history.
    History,
}

/// A fact after consolidation: near-duplicates merged, with every source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryFact {
    /// Stable: the same facts from the same export get the same ids.
    pub id: String,
    pub category: Category,
    pub text: String,
    pub subject: Option<Subject>,
    pub status: FactStatus,
    /// For history: the fact that replaced it.
    pub superseded_by: Option<String>,
    /// Sorted oldest first.
    pub sources: Vec<Source>,
}

impl MemoryFact {
    /// When the fact was last stated.
    pub fn last_observed(&self) -> Option<OffsetDateTime> {
        self.sources.iter().filter_map(|s| s.observed_at).max()
    }

    pub fn first_observed(&self) -> Option<OffsetDateTime> {
        self.sources.iter().filter_map(|s| s.observed_at).min()
    }
}
