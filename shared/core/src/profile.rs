//! The person's profile: the five sections, the rendered soulprint, MEMORY.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::sections::Sections;
use crate::system_prompt::{self, PromptInput, PromptVersion};

/// The person's profile, one per user, written for their current import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The import that wrote it.
    pub import_id: String,
    /// The five sections, as the quick pass wrote them or the full pass wrote them again.
    pub sections: Sections,
    /// The MEMORY section, once the full pass has written it.
    pub memory_md: Option<String>,
    /// The system prompt chat starts from, rendered from the sections and MEMORY.
    pub soulprint_text: String,
    /// Who wrote the sections ("offline (no model)", a model's name).
    pub written_by: String,
    /// What went less than well (a model answer repaired, a section kept from the quick pass).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The blob of conversation chunks chat recalls from (a new name at every change, so that
    /// every process caching it sees the change).
    #[serde(default)]
    pub chunk_index: Option<String>,
    /// When it was last written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Profile {
    /// The assistant's name.
    pub fn ai_name(&self) -> &str {
        &self.sections.identity.ai_name
    }

    /// The assistant's archetype: two to four words.
    pub fn archetype(&self) -> &str {
        &self.sections.identity.archetype
    }

    /// Renders `soulprint_text` from the sections and MEMORY (deterministic: the same
    /// profile at the same minute gives the same text).
    pub fn render(&mut self, now: OffsetDateTime) {
        self.soulprint_text = system_prompt::build(
            PromptVersion::default(),
            &PromptInput {
                sections: &self.sections,
                memory_md: self.memory_md.as_deref(),
                learned_facts: &[],
                context: &[],
                web: &[],
                now,
            },
        );
    }
}
