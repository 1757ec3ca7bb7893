//! Counts about how the person writes, gathered while the import reads the conversations:
//! evidence the offline reader cites, and context any model can use.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::conversation::{Conversation, Role};

/// Counts over the conversations an import reads (do-not-remember ones included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonStats {
    /// Conversations counted.
    pub conversations: u64,
    /// Messages in them, the person's and the assistant's.
    pub messages: u64,
    /// The person's own messages.
    pub person_messages: u64,
    /// Words in the person's messages, split at whitespace.
    pub person_words: u64,
    /// Of the person's messages, those that ask something.
    pub questions: u64,
    /// Of the person's messages, those holding code.
    pub with_code: u64,
    /// Of the person's messages, those with an emoji.
    pub with_emoji: u64,
    /// When the person's earliest dated message was written.
    pub first_at: Option<OffsetDateTime>,
    /// When the person's latest dated message was written.
    pub last_at: Option<OffsetDateTime>,
    /// Tokens of everything visibly said: the export's size in the model's terms.
    pub tokens: u64,
}

impl PersonStats {
    /// Adds one conversation's counts.
    pub fn offer(&mut self, c: &Conversation) {
        self.conversations += 1;
        for m in &c.messages {
            self.messages += 1;
            self.tokens += u64::from(crate::tokens::estimate_tokens(&m.text));
            if m.role != Role::User {
                continue;
            }
            self.person_messages += 1;
            self.person_words += m.text.split_whitespace().count() as u64;
            if m.text.trim_end().ends_with('?') {
                self.questions += 1;
            }
            if m.text.contains("```") || m.text.contains("fn ") || m.text.contains("def ") {
                self.with_code += 1;
            }
            if m.text.chars().any(is_emoji) {
                self.with_emoji += 1;
            }
            if let Some(t) = m.created_at {
                self.first_at = Some(self.first_at.map_or(t, |f| f.min(t)));
                self.last_at = Some(self.last_at.map_or(t, |l| l.max(t)));
            }
        }
    }

    /// Mean words per message of the person's.
    pub fn words_per_message(&self) -> f64 {
        self.person_words as f64 / self.person_messages.max(1) as f64
    }

    /// `part` of the person's messages, in percent.
    pub fn percent(&self, part: u64) -> u64 {
        (part * 100 + self.person_messages / 2) / self.person_messages.max(1)
    }
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}
