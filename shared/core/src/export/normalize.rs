//! One conversation's JSON → a normalised [`Conversation`].
//!
//! Keeps what the person and the assistant visibly said on the active path; sets aside what the
//! export knows about the person (custom instructions, ChatGPT's memory); counts everything it
//! leaves out, by reason.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::conversation::{
    time_from_epoch_seconds, Conversation, CustomInstructions, Memory, MemorySource, Message,
    ProfileSignals, Role, FORMAT_VERSION,
};

use super::active_path::active_path;
use super::citations;
use super::model::{Mapping, Part, RawConversation, RawMessage, Text};
use super::repair::repair;
use super::summary::{clip, Tally};

/// A normalised conversation and what deduplication needs to know of it.
#[derive(Debug)]
pub struct Normalized {
    /// The normalised conversation, ready to write.
    pub conversation: Conversation,
    /// `update_time` as written (duplicates keep the newer).
    pub update_time: Option<f64>,
    /// Nodes in `mapping` (duplicates with equal times keep the larger).
    pub nodes: usize,
    /// Its JSON needed repair (invalid UTF-8, unpaired surrogates) before it parsed.
    pub repaired: bool,
    /// `current_node` was missing or dangling: the path ends at the newest leaf.
    pub used_newest_leaf: bool,
    /// The walk to the root met a node twice and stopped there.
    pub cycle: bool,
}

/// Why a conversation could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversationError {
    /// `offset` is the byte, within the conversation's JSON, where it broke.
    #[error("{detail}")]
    Invalid {
        /// Byte offset within the conversation's JSON (0 when its id is at fault).
        offset: u64,
        /// What was wrong, cut to 200 characters.
        detail: String,
    },
    /// Neither a visible message on the active path nor a profile signal anywhere in the tree.
    #[error("no visible message on its active path")]
    Empty {
        /// The conversation's id, to find it by.
        id: String,
    },
}

impl ConversationError {
    /// A short, stable kind for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            ConversationError::Invalid { .. } => "invalid JSON or structure",
            ConversationError::Empty { .. } => "no visible message",
        }
    }
}

/// Real ids are UUIDs; a longer one is not a conversation, and would cost memory in the
/// duplicate index.
const MAX_ID_BYTES: usize = 1024;

/// Content types that are never conversation: tool plumbing, hidden reasoning, browsing.
const NOT_CONVERSATION: &[&str] = &[
    "execution_output",
    "tether_browsing_display",
    "tether_quote",
    "sonic_webpage",
    "thoughts",
    "reasoning_recap",
    "system_error",
    "computer_output",
    "super_widget",
    "app_pairing_content",
];

/// Normalises the JSON of one conversation. `fallback_id` names it when the export gives no id.
pub fn normalize(
    frame: &[u8],
    fallback_id: impl FnOnce() -> String,
    skipped: &mut Tally,
) -> Result<Normalized, ConversationError> {
    // One SIMD validation of the whole frame lets serde_json skip validating each string.
    let parsed = match simdutf8::basic::from_utf8(frame) {
        Ok(text) => serde_json::from_str::<RawConversation>(text),
        Err(_) => serde_json::from_slice::<RawConversation>(frame),
    };
    match parsed {
        Ok(raw) => build(raw, false, fallback_id, skipped),
        Err(first) => {
            let Some(fixed) = repair(frame) else {
                return Err(invalid(frame, &first));
            };
            match serde_json::from_slice::<RawConversation>(&fixed) {
                Ok(raw) => build(raw, true, fallback_id, skipped),
                Err(_) => Err(invalid(frame, &first)),
            }
        }
    }
}

fn invalid(frame: &[u8], err: &serde_json::Error) -> ConversationError {
    let offset = byte_offset(frame, err.line(), err.column());
    let first = frame.iter().copied().find(|b| !b.is_ascii_whitespace());
    let detail = if first != Some(b'{') {
        "not a conversation object".to_owned()
    } else {
        let text = err.to_string();
        let text = text
            .rfind(" at line ")
            .map_or(&text[..], |cut| &text[..cut]);
        // serde quotes the offending value, which may be megabytes long.
        clip(text, 200)
    };
    ConversationError::Invalid {
        offset: offset as u64,
        detail,
    }
}

/// serde_json reports 1-based line and column; turn them into a byte offset in the frame.
fn byte_offset(frame: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', frame)
            .nth(line - 2)
            .map_or(frame.len(), |p| p + 1)
    };
    (line_start + column.saturating_sub(1)).min(frame.len())
}

fn build(
    raw: RawConversation<'_>,
    repaired: bool,
    fallback_id: impl FnOnce() -> String,
    skipped: &mut Tally,
) -> Result<Normalized, ConversationError> {
    let present = |t: &'_ Text<'_>| {
        t.0.as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
    };
    let id = present(&raw.id)
        .or_else(|| present(&raw.conversation_id))
        .unwrap_or_else(fallback_id);
    if id.len() > MAX_ID_BYTES {
        return Err(ConversationError::Invalid {
            offset: 0,
            detail: format!("its id is longer than {MAX_ID_BYTES} bytes"),
        });
    }
    let mut mapping = raw.mapping.unwrap_or_default();
    let nodes = mapping.len();
    let path = active_path(&mapping, raw.current_node.get());
    let profile_signals = signals(&mapping);

    let mut messages: Vec<Message> = Vec::new();
    for id in &path.ids {
        // Taken by value: text the parser already owns moves into the output uncopied.
        let Some(message) = mapping.remove(id).and_then(|node| node.message) else {
            continue;
        };
        let created_at = message.create_time.0.and_then(time_from_epoch_seconds);
        let message_id = message.id.get().unwrap_or_default().to_owned();
        let Some((role, text)) = visible(message, skipped) else {
            continue;
        };
        match messages.last_mut() {
            // Consecutive assistant nodes are continuations of one reply.
            Some(last) if role == Role::Assistant && last.role == Role::Assistant => {
                last.text.push_str("\n\n");
                last.text.push_str(&text);
            }
            _ => messages.push(Message {
                id: message_id,
                role,
                text,
                created_at,
            }),
        }
    }
    if messages.is_empty() && profile_signals.is_empty() {
        return Err(ConversationError::Empty { id });
    }
    Ok(Normalized {
        conversation: Conversation {
            format_version: FORMAT_VERSION,
            id,
            title: raw.title.get().map(str::to_owned),
            created_at: raw.create_time.0.and_then(time_from_epoch_seconds),
            updated_at: raw.update_time.0.and_then(time_from_epoch_seconds),
            do_not_remember: raw.is_do_not_remember.get(),
            messages,
            profile_signals,
        },
        update_time: raw.update_time.0,
        nodes,
        repaired,
        used_newest_leaf: path.used_newest_leaf,
        cycle: path.cycle,
    })
}

/// The role and text of a message the person saw, or `None` (counted in `skipped` unless it
/// is a profile signal, which is gathered separately).
fn visible(message: RawMessage<'_>, skipped: &mut Tally) -> Option<(Role, String)> {
    if is_signal(&message) {
        return None;
    }
    let Some(content) = message.content else {
        skipped.add("message without content", 1);
        return None;
    };
    let content_type = content.content_type.get().unwrap_or("text");
    let role = match message.author.as_ref().and_then(|a| a.role.get()) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("system") => {
            skipped.add("system message", 1);
            return None;
        }
        Some("tool" | "function") => {
            skipped.add("tool message", 1);
            return None;
        }
        _ => {
            skipped.add("message with an unknown author role", 1);
            return None;
        }
    };
    let metadata = message.metadata.as_ref();
    if metadata.is_some_and(|m| m.is_visually_hidden_from_conversation.get()) {
        skipped.add("hidden message", 1);
        return None;
    }
    if message.recipient.get().is_some_and(|r| r != "all") {
        skipped.add("message addressed to a tool", 1);
        return None;
    }
    if metadata.is_some_and(|m| m.is_thinking_preamble.get()) {
        skipped.add("thinking preamble", 1);
        return None;
    }
    let text = match content_type {
        "text" | "multimodal_text" => parts_text(content.parts.unwrap_or_default(), skipped),
        "code" => code_text(
            content.language.get(),
            content.text.get().unwrap_or_default(),
        ),
        known if NOT_CONVERSATION.contains(&known) => {
            skipped.add(format!("content type `{known}`"), 1);
            return None;
        }
        unknown => {
            skipped.add(format!("unknown content type `{}`", clip(unknown, 40)), 1);
            return None;
        }
    };
    let text = tidy(text);
    if text.is_empty() {
        skipped.add("empty message", 1);
        return None;
    }
    Some((role, text))
}

/// The message text without citation machinery or surrounding blank space, reusing the
/// allocation when nothing changes (the usual case).
fn tidy(text: String) -> String {
    let cleaned = match citations::strip(&text) {
        Cow::Borrowed(_) => None,
        Cow::Owned(cleaned) => Some(cleaned),
    };
    let text = cleaned.unwrap_or(text);
    if text.trim().len() == text.len() {
        text
    } else {
        text.trim().to_owned()
    }
}

fn parts_text(parts: Vec<Part<'_>>, skipped: &mut Tally) -> String {
    let mut pieces: Vec<Cow<'_, str>> = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text(s) => pieces.push(s),
            Part::Object { content_type, text } => match content_type.as_deref() {
                Some("image_asset_pointer") => pieces.push(Cow::Borrowed("[image]")),
                Some("video_container_asset_pointer") => pieces.push(Cow::Borrowed("[video]")),
                // Spoken words arrive as a transcription part; the audio pointer adds nothing.
                Some("audio_asset_pointer" | "real_time_user_audio_video_asset_pointer") => {}
                _ => match text {
                    Some(t) => pieces.push(t),
                    None => skipped.add(
                        format!(
                            "part `{}`",
                            clip(content_type.as_deref().unwrap_or("without type"), 40)
                        ),
                        1,
                    ),
                },
            },
            Part::Other => skipped.add("non-string part", 1),
        }
    }
    pieces.retain(|p| !p.trim().is_empty());
    if pieces.len() == 1 {
        return pieces.pop().map(Cow::into_owned).unwrap_or_default();
    }
    pieces.join("\n")
}

fn code_text(language: Option<&str>, code: &str) -> String {
    let language = language.filter(|l| *l != "unknown").unwrap_or("");
    format!("```{language}\n{}\n```", code.trim_end())
}

/// Messages that carry what ChatGPT knew about the person rather than conversation.
fn is_signal(message: &RawMessage<'_>) -> bool {
    let content_type = message.content.as_ref().and_then(|c| c.content_type.get());
    matches!(
        content_type,
        Some("user_editable_context" | "model_editable_context")
    ) || message
        .metadata
        .as_ref()
        .is_some_and(|m| m.is_user_system_message.get())
        || is_bio_write(message)
}

/// A write to ChatGPT's memory tool: addressed to `bio` (2023–25), or authored as `bio` by the
/// assistant (2026 exports have no `recipient`). The tool's own reply is not a write.
fn is_bio_write(message: &RawMessage<'_>) -> bool {
    let author = message.author.as_ref();
    let role = author.and_then(|a| a.role.get());
    message.recipient.get() == Some("bio")
        || (author.and_then(|a| a.name.get()) == Some("bio") && role != Some("tool"))
}

/// Custom instructions and memory entries anywhere in the tree (branches included: a memory
/// write happened even if the reply around it was regenerated), deduplicated, in time order.
fn signals(mapping: &Mapping<'_>) -> ProfileSignals {
    let mut out = ProfileSignals::default();
    for node in mapping.values() {
        let Some(message) = &node.message else {
            continue;
        };
        if !is_signal(message) {
            continue;
        }
        let created_at = message.create_time.0.and_then(time_from_epoch_seconds);
        let content = message.content.as_ref();
        let content_type = content.and_then(|c| c.content_type.get());
        let user_context = message
            .metadata
            .as_ref()
            .and_then(|m| m.user_context_message_data.as_ref());
        if content_type == Some("user_editable_context") {
            let c = content.expect("content_type implies content");
            push_instructions(
                &mut out,
                c.user_profile.get().map(person_words),
                c.user_instructions.get().map(person_words),
                created_at,
            );
        } else if let Some(data) = user_context {
            push_instructions(
                &mut out,
                data.about_user_message.get().map(person_words),
                data.about_model_message.get().map(person_words),
                created_at,
            );
        } else if content_type == Some("model_editable_context") {
            let c = content.expect("content_type implies content");
            push_memory(
                &mut out,
                c.model_set_context.get(),
                MemorySource::ModelSetContext,
                created_at,
            );
        } else if is_bio_write(message) {
            let text = content.map(|c| match c.text.get() {
                Some(code) => code.to_owned(),
                None => {
                    let parts = c.parts.iter().flatten().map(Part::borrowed).collect();
                    parts_text(parts, &mut Tally::default())
                }
            });
            push_memory(&mut out, text.as_deref(), MemorySource::BioTool, created_at);
        }
    }
    // In time order, each one once (its earliest occurrence).
    out.custom_instructions
        .sort_by(|a, b| (a.created_at, &a.about_user).cmp(&(b.created_at, &b.about_user)));
    let mut seen = HashSet::new();
    out.custom_instructions
        .retain(|c| seen.insert((c.about_user.clone(), c.about_model.clone())));
    out.memories
        .sort_by(|a, b| (a.created_at, &a.text).cmp(&(b.created_at, &b.text)));
    let mut seen = HashSet::new();
    out.memories.retain(|m| seen.insert(m.text.clone()));
    out
}

fn push_instructions(
    out: &mut ProfileSignals,
    about_user: Option<String>,
    about_model: Option<String>,
    created_at: Option<time::OffsetDateTime>,
) {
    let about_user = about_user.filter(|s| !s.trim().is_empty());
    let about_model = about_model.filter(|s| !s.trim().is_empty());
    if about_user.is_some() || about_model.is_some() {
        out.custom_instructions.push(CustomInstructions {
            about_user,
            about_model,
            created_at,
        });
    }
}

fn push_memory(
    out: &mut ProfileSignals,
    text: Option<&str>,
    source: MemorySource,
    created_at: Option<time::OffsetDateTime>,
) {
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        out.memories.push(Memory {
            text: text.to_owned(),
            source,
            created_at,
        });
    }
}

/// ChatGPT wraps custom instructions in a preamble addressed to the model and a code fence;
/// keep only what the person wrote.
/// The person's own words in a custom-instruction field. ChatGPT wraps them in its own prose
/// (2025: "The user provided the following information about themselves. … User profile:"
/// or "The user provided the additional info about how they would like you to respond:",
/// then the text between triple backticks): only what is between the fences is theirs. A
/// wrapper without fences is cut at its colon; a field with no wrapper is the person's whole.
fn person_words(text: &str) -> String {
    let text = text.trim();
    let wrapped = text
        .get(..WRAPPER.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(WRAPPER));
    let body = if wrapped {
        match text.find("```") {
            Some(open) => {
                let inner = &text[open + 3..];
                inner.rfind("```").map_or(inner, |close| &inner[..close])
            }
            None => text.split_once(":\n").map_or(text, |(_, rest)| rest),
        }
    } else {
        MARKERS
            .iter()
            .find_map(|m| text.strip_prefix(m))
            .unwrap_or(text)
    };
    body.trim().trim_matches('`').trim().to_owned()
}

/// How ChatGPT's prose around a custom-instruction field begins (2023–2025 exports).
const WRAPPER: &str = "The user provided";
/// Labels older exports put before the person's text.
const MARKERS: [&str; 3] = [
    "User profile:",
    "User's Instructions:",
    "User instructions:",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_follow_lines_and_columns() {
        let frame = b"{\n  \"a\": 1,\n  \"b\": x\n}";
        let err = serde_json::from_slice::<serde_json::Value>(frame).unwrap_err();
        let at = byte_offset(frame, err.line(), err.column());
        assert_eq!(frame[at], b'x');
    }

    #[test]
    fn custom_instruction_wrappers_are_removed_whatever_the_field() {
        // The 2025 about-me, as ChatGPT wraps it (guidance lines and all).
        let profile = "The user provided the following information about themselves. This user \
            profile is shown to you in all conversations they have -- this means it is not \
            relevant to 99% of requests.\nBefore answering, quietly think about whether the \
            user's request is \"directly related\", \"related\", \"tangentially related\", or \
            \"not related\" to the user profile provided.\nUser profile:\n```Preferred name: \
            Erin\nRole: director of a gardening company```";
        assert_eq!(
            person_words(profile),
            "Preferred name: Erin\nRole: director of a gardening company"
        );
        // The 2025 how-to-respond form, which the old marker never matched.
        let instructions = "The user provided the additional info about how they would like you \
            to respond:\n```Be brief. No emoji.```";
        assert_eq!(person_words(instructions), "Be brief. No emoji.");
        // A wrapper without fences, an old label, and the person's own words (backticks kept
        // inside them).
        assert_eq!(
            person_words("The user provided the additional info about how they would like you to respond:\nBe brief."),
            "Be brief."
        );
        assert_eq!(person_words("User profile: I teach."), "I teach.");
        assert_eq!(person_words("I write `rust` daily"), "I write `rust` daily");
    }
}
