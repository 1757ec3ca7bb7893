//! Counts about how the person writes, gathered while the import reads the conversations:
//! evidence the offline reader cites, and context any model can use.

use std::collections::{BTreeMap, HashSet};

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
    /// How many of the person's typed messages (no code, no upload, no paste of more than
    /// [`PASTE_WORDS`] words) have each length: `[n]` counts those of [`BUCKETS`]`[n]` words
    /// or more, below the next. The median length comes from it in constant memory.
    #[serde(default)]
    pub typed_lengths: Vec<u64>,
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
    /// Words of the conversations' titles, each with how many titles hold it: the topics the
    /// person comes back to across the whole export. At most [`TITLE_WORDS`] words are
    /// counted (the first met), so memory stays bounded on any export.
    #[serde(default)]
    pub title_words: BTreeMap<String, u64>,
}

/// Most distinct title words counted.
pub const TITLE_WORDS: usize = 5_000;

/// Words ChatGPT's titles use for any topic.
const TITLE_FLUFF: &[&str] = &[
    "help",
    "helping",
    "question",
    "questions",
    "request",
    "guide",
    "tips",
    "ideas",
    "idea",
    "chat",
    "conversation",
    "overview",
    "explanation",
    "explained",
    "summary",
    "advice",
    "need",
    "new",
    "using",
    "with",
    "from",
    "into",
    "about",
    "your",
    "best",
    "list",
    "assistance",
    "untitled",
    "issue",
    "issues",
    "problem",
    "problems",
    "create",
    "creating",
    "write",
    "writing",
    "make",
    "making",
    "how",
    "what",
    "why",
    "the",
    "and",
    "for",
    "you",
    "get",
    "use",
    "set",
    "its",
    "via",
    "para",
    "ayuda",
    "sobre",
    "como",
    "con",
    "una",
    "del",
    "los",
    "las",
    "pour",
    "avec",
    "aide",
    "une",
    "des",
    "les",
    "sur",
    "über",
    "für",
    "mit",
    "hilfe",
    "und",
    "der",
    "die",
    "das",
    "com",
    "uma",
    "ajuda",
    "dos",
    "aiuto",
    "della",
    "per",
];

impl PersonStats {
    /// Adds one conversation's counts.
    pub fn offer(&mut self, c: &Conversation) {
        self.conversations += 1;
        // A do-not-remember conversation's topics are not the person's to show.
        if let Some(title) = c.title.as_ref().filter(|_| !c.do_not_remember) {
            let words: HashSet<String> = title
                .split(|ch: char| !ch.is_alphanumeric())
                .filter(|w| w.chars().count() >= 3 && !w.chars().all(|ch| ch.is_ascii_digit()))
                .map(str::to_lowercase)
                .filter(|w| {
                    !TITLE_FLUFF.contains(&w.as_str())
                        && !crate::memory::words::STOP.contains(&w.as_str())
                })
                .collect();
            for word in words {
                if self.title_words.len() < TITLE_WORDS || self.title_words.contains_key(&word) {
                    *self.title_words.entry(word).or_insert(0) += 1;
                }
            }
        }
        for m in &c.messages {
            self.messages += 1;
            self.tokens += u64::from(crate::tokens::estimate_tokens(&m.text));
            if m.role != Role::User {
                continue;
            }
            self.person_messages += 1;
            if asks(&m.text) {
                self.questions += 1;
            }
            let code = m.text.contains("```") || m.text.contains("fn ") || m.text.contains("def ");
            if code {
                self.with_code += 1;
            }
            let words = m
                .text
                .split_whitespace()
                .filter(|w| *w != "[image]")
                .count();
            if !code && words > 0 && words <= PASTE_WORDS {
                let bucket = BUCKETS.partition_point(|&b| b <= words) - 1;
                if self.typed_lengths.len() < BUCKETS.len() {
                    self.typed_lengths.resize(BUCKETS.len(), 0);
                }
                self.typed_lengths[bucket] += 1;
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

    /// Words in the person's typical message: the median of their typed messages (a pasted
    /// article or an image does not make a terse person thorough, nor a wordy one concise),
    /// to the bucket's lower bound; 0 with none.
    pub fn words_per_message(&self) -> f64 {
        let typed: u64 = self.typed_lengths.iter().sum();
        let mut seen = 0;
        for (bucket, n) in self.typed_lengths.iter().enumerate() {
            seen += n;
            if seen * 2 >= typed && typed > 0 {
                return BUCKETS[bucket] as f64;
            }
        }
        0.0
    }

    /// Up to `n` topics the person came back to: title words of at least two conversations,
    /// the most frequent first.
    pub fn recurring_topics(&self, n: usize) -> Vec<(&str, u64)> {
        let mut topics: Vec<(&str, u64)> = self
            .title_words
            .iter()
            .filter(|(_, &count)| count >= 2)
            .map(|(w, &count)| (w.as_str(), count))
            .collect();
        topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        topics.truncate(n);
        topics
    }

    /// `part` of the person's messages, in percent.
    pub fn percent(&self, part: u64) -> u64 {
        (part * 100 + self.person_messages / 2) / self.person_messages.max(1)
    }
}

/// A message of more words than this is a paste, not how the person writes.
pub const PASTE_WORDS: usize = 400;

/// Lower bounds of the length buckets: every length up to 30 words, then coarser.
pub const BUCKETS: [usize; 37] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 40, 50, 60, 80, 100, 150, 250,
];

/// Whether a message asks something, by its form in the person's language: a question mark
/// (also "¿" and the full-width "？") or an opening question word, since many type questions
/// without one (words that also open statements, "when", "was", "como", are left out).
fn asks(text: &str) -> bool {
    const OPENERS: &[&str] = &[
        "what", "how", "why", "where", "who", "which", "can", "could", "would", "should", "is",
        "are", "does", "did", "qué", "cómo", "cuándo", "dónde", "onde", "quién", "quem", "comment",
        "pourquoi", "quand", "où", "est-ce", "wie", "warum", "wann", "wo", "wer", "kannst",
        "können", "perché", "dove", "cosa",
    ];
    if text.contains(['?', '？', '¿']) {
        return true;
    }
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
        .to_lowercase();
    OPENERS.contains(&first.as_str())
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Message;

    fn said(texts: &[&str]) -> PersonStats {
        let mut stats = PersonStats::default();
        stats.offer(&Conversation {
            format_version: crate::conversation::FORMAT_VERSION,
            id: "c".into(),
            title: None,
            created_at: None,
            updated_at: None,
            do_not_remember: false,
            messages: texts
                .iter()
                .enumerate()
                .map(|(i, t)| Message {
                    id: format!("m{i}"),
                    role: Role::User,
                    text: (*t).into(),
                    created_at: None,
                })
                .collect(),
            profile_signals: Default::default(),
        });
        stats
    }

    #[test]
    fn a_typical_message_leaves_out_pastes_and_uploads_and_questions_need_no_mark() {
        let paste = "word ".repeat(2_000);
        let stats = said(&[
            "fix this for me please",
            "ok thanks a lot",
            "what time is it in tokyo",
            &paste,
            "[image]",
            "¿Dónde está el museo",
        ]);
        assert_eq!(stats.words_per_message(), 4.0, "the median typed message");
        assert_eq!(stats.questions, 2, "by its opening word, and by ¿");
        assert_eq!(said(&[]).words_per_message(), 0.0);
    }

    #[test]
    fn topics_are_title_words_the_person_comes_back_to() {
        let mut stats = PersonStats::default();
        for title in [
            "Sourdough starter help",
            "Sourdough hydration question",
            "Cello bowing technique",
            "Cello practice plan",
            "Tax return 2023",
            "Sourdough scoring",
        ] {
            let conversation = Conversation {
                format_version: crate::conversation::FORMAT_VERSION,
                id: title.into(),
                title: Some(title.into()),
                created_at: None,
                updated_at: None,
                do_not_remember: false,
                messages: Vec::new(),
                profile_signals: Default::default(),
            };
            stats.offer(&conversation);
        }
        assert_eq!(
            stats.recurring_topics(5),
            vec![("sourdough", 3), ("cello", 2)]
        );
    }
}
