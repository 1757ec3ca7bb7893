//! The normalised conversation: what every later stage reads.
//!
//! Conversations travel between stages as JSON Lines, one [`Conversation`] a line. The format is
//! versioned by [`FORMAT_VERSION`]; a reader refuses lines of a version it does not know rather
//! than guessing. `docs/normalised-format.md` documents every field.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Version of the JSON Lines format written by `soulprint parse` and stored by imports.
pub const FORMAT_VERSION: u32 = 1;

/// One conversation, reduced to what the person and the assistant visibly said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// [`FORMAT_VERSION`] when written; a reader refuses a line of another.
    pub format_version: u32,
    /// The export's `id` (or `conversation_id`).
    pub id: String,
    /// As in the export.
    pub title: Option<String>,
    /// From the export's epoch seconds, to the microsecond; none when missing or out of range.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When the conversation last changed, read as `created_at` is.
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// The person asked ChatGPT not to remember this conversation: later stages must not
    /// extract or keep facts from it.
    pub do_not_remember: bool,
    /// The active path, oldest first, with assistant continuations merged.
    pub messages: Vec<Message>,
    /// What the export already knew about the person, found anywhere in this conversation.
    #[serde(default, skip_serializing_if = "ProfileSignals::is_empty")]
    pub profile_signals: ProfileSignals,
}

/// One message the person or the assistant visibly wrote, on the active path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The export's message id (of the first node when continuations were merged).
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// What was visibly said; never empty (`docs/normalised-format.md` says what it keeps).
    pub text: String,
    /// When the message was written: the observation date of anything learned from it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person.
    User,
    /// The assistant: ChatGPT in an export, SoulPrint in its own chats.
    Assistant,
}

/// Signals about the person that ChatGPT itself recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileSignals {
    /// Custom instructions ("what should ChatGPT know about you", "how should it respond").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_instructions: Vec<CustomInstructions>,
    /// ChatGPT's own memory of the person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memories: Vec<Memory>,
}

impl ProfileSignals {
    /// Whether there is neither custom instruction nor memory (the field is then left out).
    pub fn is_empty(&self) -> bool {
        self.custom_instructions.is_empty() && self.memories.is_empty()
    }
}

/// One set of custom instructions from ChatGPT's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomInstructions {
    /// What the person told ChatGPT about themselves.
    pub about_user: Option<String>,
    /// How the person asked ChatGPT to respond.
    pub about_model: Option<String>,
    /// When they were set, where the export says.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// One entry of ChatGPT's memory of the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// The entry, in ChatGPT's words.
    pub text: String,
    /// Where in the export it was found.
    pub source: MemorySource,
    /// When ChatGPT recorded it, where the export says.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
}

/// Where an entry of ChatGPT's memory was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemorySource {
    /// A `model_editable_context` message: ChatGPT's memory as it stood.
    ModelSetContext,
    /// A write to ChatGPT's `bio` memory tool.
    BioTool,
}

/// Why a line of normalised conversations could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The line is not JSON, or not a conversation's shape.
    #[error("line {line}: not a normalised conversation: {source}")]
    Json {
        /// Line number, from 1.
        line: u64,
        /// What `serde_json` found wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The line's `format_version` is not the one this build reads.
    #[error(
        "line {line}: format_version {found} is not supported (this build reads {FORMAT_VERSION}); \
         run `soulprint parse` again with this build"
    )]
    Version {
        /// Line number, from 1.
        line: u64,
        /// The version the line gives.
        found: u64,
    },
}

/// Reads one JSON Lines record, checking its version first.
pub fn from_json_line(line: &[u8], line_no: u64) -> Result<Conversation, FormatError> {
    #[derive(Deserialize)]
    struct Probe {
        format_version: u64,
    }
    let probe: Probe = serde_json::from_slice(line).map_err(|source| FormatError::Json {
        line: line_no,
        source,
    })?;
    if probe.format_version != u64::from(FORMAT_VERSION) {
        return Err(FormatError::Version {
            line: line_no,
            found: probe.format_version,
        });
    }
    serde_json::from_slice(line).map_err(|source| FormatError::Json {
        line: line_no,
        source,
    })
}

/// Converts the export's float epoch seconds into a UTC time, to the microsecond.
/// Values that are not finite or fall outside years 1970–9999 are treated as absent.
pub fn time_from_epoch_seconds(seconds: f64) -> Option<OffsetDateTime> {
    const MAX: f64 = 253_402_300_799.0; // 9999-12-31T23:59:59Z
    if !seconds.is_finite() || !(0.0..=MAX).contains(&seconds) {
        return None;
    }
    let micros = (seconds * 1e6).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_keep_microseconds_and_reject_nonsense() {
        let t = time_from_epoch_seconds(1_700_000_000.123_456).unwrap();
        let s = t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        assert_eq!(s, "2023-11-14T22:13:20.123456Z");
        assert!(time_from_epoch_seconds(f64::NAN).is_none());
        assert!(time_from_epoch_seconds(-1.0).is_none());
        assert!(time_from_epoch_seconds(1e300).is_none());
    }

    #[test]
    fn a_line_of_another_version_is_refused_with_its_line_number() {
        let err = from_json_line(br#"{"format_version":2,"id":"x"}"#, 7).unwrap_err();
        assert!(err.to_string().contains("line 7"), "{err}");
        assert!(err.to_string().contains("format_version 2"), "{err}");
    }
}
