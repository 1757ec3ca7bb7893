//! Conversations → chunks of about 2,000 tokens for fact extraction.
//!
//! Facts about a person are in what the person wrote and what they asked about, not in pages of
//! assistant prose. So a chunk holds the person's messages whole (a long one split at sentence or
//! line boundaries) and of each assistant reply only its opening, as context for the next thing
//! the person says. Chunks break at message boundaries where they can and overlap by about 200
//! tokens, so a fact stated across a boundary is seen whole once. Conversations the person asked
//! ChatGPT not to remember give no chunks at all.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::conversation::{Conversation, Role};
use crate::tokens::estimate_tokens;

/// How conversations are cut into chunks; the defaults are the pipeline's.
#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    /// A chunk's size, in estimated tokens (four characters each).
    pub target_tokens: usize,
    /// How much of a chunk's end the next one repeats, in estimated tokens.
    pub overlap_tokens: usize,
    /// A message of the person's is cut after this many characters (pasted documents).
    pub max_message_chars: usize,
    /// Of each assistant reply, only this many characters are kept, as context: about a
    /// sentence, enough to know what the person's next words answer ("I'll take the second").
    /// 300 → 160 took the 50 MB bench from 0.40 to 0.32 model tokens per export token with
    /// every planted fact still reaching the model.
    pub assistant_context_chars: usize,
    /// Chunks whose messages are newer than this (before `now`) are marked recent.
    pub recent: Duration,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            target_tokens: 2_000,
            overlap_tokens: 200,
            max_message_chars: 5_000,
            assistant_context_chars: 160,
            recent: Duration::days(180),
        }
    }
}

/// A piece of one conversation: what one fact-extraction call reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// The conversation it comes from.
    pub conversation_id: String,
    /// The conversation's title, shown to the model with the chunk.
    pub title: Option<String>,
    /// Position among the conversation's chunks, from 0, of `total`.
    pub index: u32,
    /// How many chunks the conversation gave.
    pub total: u32,
    /// `Person: …` and `Assistant: …` lines, one per part, a newline between.
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: u32,
    /// The messages whose words are in the chunk: the provenance of facts found in it.
    pub message_ids: Vec<String>,
    /// When the newest of those messages was written.
    #[serde(with = "time::serde::rfc3339::option")]
    pub observed_at: Option<OffsetDateTime>,
    /// `observed_at` was within `ChunkOptions::recent` of `now` when the chunk was made.
    pub recent: bool,
    /// Which message each part of `text` comes from, so a fact can name its own message.
    pub parts: Vec<ChunkPart>,
}

/// A line of a chunk's text (`Person: …` or `Assistant: …`) and its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPart {
    /// The message the line's words come from.
    pub message_id: String,
    /// The person wrote it (a `Person:` line), not the assistant.
    pub person: bool,
    /// When that message was written.
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// Byte range in the chunk's text.
    pub start: u32,
    /// End of the byte range, exclusive.
    pub end: u32,
}

impl Chunk {
    /// One message of the person's as a chunk of its own (a chat message read for facts).
    pub fn of_message(
        conversation_id: &str,
        message_id: &str,
        words: &str,
        at: Option<OffsetDateTime>,
    ) -> Chunk {
        let text = format!("Person: {words}");
        Chunk {
            conversation_id: conversation_id.to_owned(),
            title: None,
            index: 0,
            total: 1,
            observed_at: at,
            recent: false,
            tokens: estimate_tokens(&text),
            message_ids: vec![message_id.to_owned()],
            parts: vec![ChunkPart {
                message_id: message_id.to_owned(),
                person: true,
                start: 0,
                end: u32::try_from(text.len()).unwrap_or(u32::MAX),
                at,
            }],
            text,
        }
    }

    /// The parts holding the person's words, with their words (the `Person:` label off).
    pub fn person_parts(&self) -> impl Iterator<Item = (&ChunkPart, &str)> {
        self.parts.iter().filter(|p| p.person).map(|p| {
            let line = &self.text[p.start as usize..p.end as usize];
            (p, line.strip_prefix("Person: ").unwrap_or(line))
        })
    }
}

/// One message, reduced to what goes into chunks.
struct Unit<'c> {
    text: String,
    message_id: &'c str,
    person: bool,
    at: Option<OffsetDateTime>,
}

/// Cuts one conversation into chunks, none if the person asked ChatGPT not to remember it; `now`
/// says which chunks are recent.
pub fn chunk_conversation(
    conversation: &Conversation,
    options: &ChunkOptions,
    now: OffsetDateTime,
) -> Vec<Chunk> {
    if conversation.do_not_remember {
        return Vec::new();
    }
    // Sizes are in characters (a token is about four), so text in any script gets the same
    // budget.
    let target = options.target_tokens * 4;
    let overlap = options.overlap_tokens * 4;
    let mut units: Vec<Unit> = Vec::new();
    for m in &conversation.messages {
        let (label, text) = match m.role {
            Role::User => ("Person", cut(&m.text, options.max_message_chars)),
            Role::Assistant => ("Assistant", cut(&m.text, options.assistant_context_chars)),
        };
        for piece in split(text, target.saturating_sub(label.len() + 2).max(1)) {
            units.push(Unit {
                text: format!("{label}: {piece}"),
                message_id: &m.id,
                person: m.role == Role::User,
                at: m.created_at,
            });
        }
    }
    // Packing: whole units until the target; the next chunk repeats the last units that fit
    // in the overlap.
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut size = 0usize;
    let whole_units = units.len();
    for i in 0..whole_units {
        let len = chars(&units[i].text) + 1;
        if size + len > target && current.iter().any(|&j| !is_overlap(&chunks, j)) {
            // Carry what fits beside the new unit, so no chunk outgrows the target.
            let room = overlap.min(target.saturating_sub(len));
            let mut carried = overlap_tail(&current, &units, room);
            if carried.is_empty() {
                // The last unit is too long to carry whole: carry its closing sentences.
                if let Some(&last) = current.last() {
                    if let Some(tail) = closing_sentences(&units[last].text, room) {
                        let unit = Unit {
                            text: format!("…{tail}"),
                            message_id: units[last].message_id,
                            person: units[last].person,
                            at: units[last].at,
                        };
                        units.push(unit);
                        carried.push(units.len() - 1);
                    }
                }
            }
            chunks.push(std::mem::take(&mut current));
            size = carried.iter().map(|&j| chars(&units[j].text) + 1).sum();
            current = carried;
        }
        current.push(i);
        size += len;
    }
    if current.iter().any(|&j| !is_overlap(&chunks, j)) {
        chunks.push(current);
    }
    let total = chunks.len() as u32;
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, members)| {
            let mut text = String::new();
            let mut parts = Vec::with_capacity(members.len());
            for &j in &members {
                if !text.is_empty() {
                    text.push('\n');
                }
                let u = &units[j];
                parts.push(ChunkPart {
                    message_id: u.message_id.to_owned(),
                    person: u.person,
                    at: u.at,
                    start: text.len() as u32,
                    end: (text.len() + u.text.len()) as u32,
                });
                text.push_str(&u.text);
            }
            let mut message_ids: Vec<String> = Vec::new();
            for &j in &members {
                if message_ids.last().map(String::as_str) != Some(units[j].message_id) {
                    message_ids.push(units[j].message_id.to_owned());
                }
            }
            let observed_at = members
                .iter()
                .filter_map(|&j| units[j].at)
                .max()
                .or(conversation.updated_at)
                .or(conversation.created_at);
            Chunk {
                conversation_id: conversation.id.clone(),
                title: conversation.title.clone(),
                index: index as u32,
                total,
                tokens: estimate_tokens(&text),
                text,
                message_ids,
                observed_at,
                recent: observed_at.is_some_and(|t| now - t < options.recent),
                parts,
            }
        })
        .collect()
}

/// Whether unit `j` was already in the previous chunk (carried as overlap).
fn is_overlap(chunks: &[Vec<usize>], j: usize) -> bool {
    chunks.last().is_some_and(|last| last.contains(&j))
}

/// The last units of a chunk that fit in `overlap` characters.
fn overlap_tail(members: &[usize], units: &[Unit], overlap: usize) -> Vec<usize> {
    let mut size = 0;
    let mut tail = Vec::new();
    for &j in members.iter().rev() {
        size += chars(&units[j].text) + 1;
        if size > overlap {
            break;
        }
        tail.push(j);
    }
    tail.reverse();
    tail
}

/// The sentences that end `text`, at most `max` characters in all (none if even the last one
/// is longer).
fn closing_sentences(text: &str, max: usize) -> Option<&str> {
    let total = chars(text);
    if max < 2 || total <= max {
        return None;
    }
    let start = after_chars(text, total - (max - 1));
    let window = &text[start..];
    let from = window.find(['.', '?', '!', '\n']).map(|e| e + 1)?;
    let tail = window[from..].trim_start();
    (!tail.is_empty()).then_some(tail)
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The byte index just past the first `max` characters of `text` (its length if shorter).
fn after_chars(text: &str, max: usize) -> usize {
    text.char_indices().nth(max).map_or(text.len(), |(i, _)| i)
}

/// At most `max` characters of `text`, cut at a sentence or line end when one is near.
fn cut(text: &str, max: usize) -> &str {
    let end = after_chars(text, max);
    if end == text.len() {
        return text;
    }
    let head = &text[..end];
    match head.rfind(['.', '?', '!', '\n']) {
        Some(stop) if stop >= end / 2 => &head[..=stop],
        _ => head,
    }
}

/// `text` in pieces of at most `max` characters, cut at sentence or line ends, else at spaces.
fn split(mut text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    loop {
        let limit = after_chars(text, max);
        if limit == text.len() {
            break;
        }
        let head = &text[..limit];
        let end = head
            .rfind(['.', '?', '!', '\n'])
            .filter(|&e| e >= limit / 2)
            .map(|e| e + 1)
            .or_else(|| head.rfind(' ').filter(|&e| e > 0))
            .unwrap_or(limit);
        pieces.push(text[..end].trim());
        text = text[end..].trim_start();
    }
    if !text.trim().is_empty() {
        pieces.push(text.trim());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Message, ProfileSignals, FORMAT_VERSION};

    fn conversation(messages: Vec<(Role, String)>) -> Conversation {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(19_000);
        Conversation {
            format_version: FORMAT_VERSION,
            id: "c".into(),
            title: Some("T".into()),
            created_at: Some(t0),
            updated_at: Some(t0),
            do_not_remember: false,
            messages: messages
                .into_iter()
                .enumerate()
                .map(|(i, (role, text))| Message {
                    id: format!("m{i}"),
                    role,
                    text,
                    created_at: Some(t0 + Duration::minutes(i as i64)),
                })
                .collect(),
            profile_signals: ProfileSignals::default(),
        }
    }

    fn sentence(i: usize) -> String {
        format!("This is sentence number {i} about my garden and my bike. ")
    }

    #[test]
    fn chunks_are_about_the_target_size_overlap_and_keep_provenance() {
        let messages = (0..60)
            .map(|i| {
                let role = if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                };
                (
                    role,
                    (0..12).map(|j| sentence(i * 100 + j)).collect::<String>(),
                )
            })
            .collect();
        let c = conversation(messages);
        let now = c.created_at.unwrap() + Duration::days(1);
        let chunks = chunk_conversation(&c, &ChunkOptions::default(), now);
        assert!(chunks.len() > 2);
        for (i, chunk) in chunks.iter().enumerate() {
            assert!(chunk.tokens <= 2_000, "chunk {i}: {} tokens", chunk.tokens);
            assert_eq!(
                (chunk.index as usize, chunk.total as usize),
                (i, chunks.len())
            );
            assert!(chunk.recent);
            assert!(!chunk.message_ids.is_empty());
        }
        for pair in chunks.windows(2) {
            let shared = pair[1].message_ids.first().unwrap();
            assert!(
                pair[0].message_ids.contains(shared),
                "consecutive chunks overlap"
            );
        }
        let every_user_message_is_somewhere = (0..60).step_by(2).all(|i| {
            chunks
                .iter()
                .any(|ch| ch.message_ids.contains(&format!("m{i}")))
        });
        assert!(every_user_message_is_somewhere);
    }

    #[test]
    fn assistant_prose_is_cut_to_context_and_the_persons_words_kept_whole() {
        let long_reply = (0..200).map(sentence).collect::<String>();
        let c = conversation(vec![
            (
                Role::User,
                "I just moved to Lisbon with my partner Sam.".into(),
            ),
            (Role::Assistant, long_reply.clone()),
        ]);
        let chunks = chunk_conversation(&c, &ChunkOptions::default(), c.created_at.unwrap());
        assert_eq!(chunks.len(), 1);
        assert!(chunks[0]
            .text
            .contains("Person: I just moved to Lisbon with my partner Sam."));
        assert!(chunks[0].text.len() < 500, "{}", chunks[0].text.len());
    }

    #[test]
    fn a_long_message_is_split_at_sentence_ends() {
        let pasted: String = (0..600).map(sentence).collect();
        let c = conversation(vec![(Role::User, pasted)]);
        let options = ChunkOptions {
            max_message_chars: 1_000_000,
            ..ChunkOptions::default()
        };
        let chunks = chunk_conversation(&c, &options, c.created_at.unwrap());
        assert!(chunks.len() >= 4);
        for chunk in &chunks {
            assert!(
                chunk.text.trim_end().ends_with('.'),
                "{}",
                &chunk.text[chunk.text.len() - 40..]
            );
        }
    }

    #[test]
    fn after_a_long_message_the_next_chunk_still_overlaps() {
        let long = |n: usize| (0..80).map(|j| sentence(n * 100 + j)).collect::<String>();
        let c = conversation(vec![(Role::User, long(1)), (Role::User, long(2))]);
        let chunks = chunk_conversation(&c, &ChunkOptions::default(), c.created_at.unwrap());
        assert!(chunks.len() >= 2);
        for pair in chunks.windows(2) {
            let carried = pair[1].text.lines().next().unwrap().trim_start_matches('…');
            assert!(carried.len() > 100, "{carried}");
            assert!(
                pair[0].text.ends_with(carried),
                "the next chunk opens with this one's end"
            );
            assert!(pair[1].tokens <= 2_000);
        }
    }

    #[test]
    fn do_not_remember_gives_no_chunks() {
        let mut c = conversation(vec![(Role::User, "I live in Oslo.".into())]);
        c.do_not_remember = true;
        assert!(chunk_conversation(&c, &ChunkOptions::default(), c.created_at.unwrap()).is_empty());
    }

    #[test]
    fn sizes_are_in_characters_whatever_the_script() {
        let text = "é".repeat(10_000);
        let pieces = split(&text, 1001);
        assert!(pieces.iter().all(|p| p.chars().count() <= 1001));
        assert_eq!(pieces.concat().chars().count(), 10_000, "nothing lost");
        assert_eq!(cut("日本語のテキスト", 4), "日本語の");
        let japanese: String = (0..500)
            .map(|i| format!("私は{i}番目の文を書きました。"))
            .collect();
        let c = conversation(vec![(Role::User, japanese)]);
        let options = ChunkOptions {
            max_message_chars: 1_000_000,
            ..ChunkOptions::default()
        };
        let chunks = chunk_conversation(&c, &options, c.created_at.unwrap());
        for chunk in &chunks {
            assert!(
                chunk.tokens <= 2_000 && chunk.tokens > 1_500,
                "{}",
                chunk.tokens
            );
        }
    }

    #[test]
    fn undated_messages_take_the_conversation_time() {
        let mut c = conversation(vec![(Role::User, "I live in Oslo.".into())]);
        c.messages[0].created_at = None;
        let now = c.created_at.unwrap() + Duration::days(1);
        let chunks = chunk_conversation(&c, &ChunkOptions::default(), now);
        assert_eq!(chunks[0].observed_at, c.updated_at);
        assert!(chunks[0].recent);
    }
}
