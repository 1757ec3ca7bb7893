//! The quick pass's sample: the person's richest conversations, within a token budget.
//!
//! Scoring is the replaced system's: messages × 10, plus the person's words (each message
//! counted up to 500 characters), plus min(person turns, assistant turns) × 20 for real back and
//! forth, plus a small recency bonus (up to 50, fading over two years). One change: conversations
//! the person asked ChatGPT not to remember are never sampled. The sampler sees conversations one
//! at a time and keeps only the best few, so a gigabyte export costs it kilobytes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use time::{Duration, OffsetDateTime};

use crate::conversation::{Conversation, Role};
use crate::tokens::estimate_tokens;

/// How much of the export the quick pass reads; [`crate::budgets`] shrinks it for a small model.
#[derive(Debug, Clone, Copy)]
pub struct SampleOptions {
    /// The sample's size, in estimated tokens.
    pub budget_tokens: u32,
    /// The budget is shared so that at least this many conversations fit: none takes more than its
    /// share.
    pub min_conversations: usize,
    /// The most conversations sampled.
    pub max_conversations: usize,
    /// Conversations shorter than this are sampled only when no conversation is this long.
    pub min_messages: usize,
    /// Each message is cut to this many characters.
    pub max_message_chars: usize,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            budget_tokens: 50_000,
            min_conversations: 5,
            max_conversations: 50,
            min_messages: 4,
            max_message_chars: 2_000,
        }
    }
}

/// A conversation as the quick-pass prompt shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    /// Which conversation it is (`Conversation::id`).
    pub id: String,
    /// Its score (see the module comment); the sample is ordered by it.
    pub score: f64,
    /// Introduced by its title and date, each message cut to the option's length.
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: u32,
}

/// What the quick pass reads: the richest conversations that fit the budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// The conversations kept, richest first.
    pub conversations: Vec<Sampled>,
    /// Estimated tokens of them all, within the budget.
    pub tokens: u32,
    /// Conversations offered (do-not-remember ones included).
    pub considered: u64,
}

/// Offered every conversation of an export, one at a time, it keeps the best few.
pub struct Sampler {
    options: SampleOptions,
    now: OffsetDateTime,
    /// The best `max_conversations` long-enough conversations, worst on top.
    best: BinaryHeap<Worst>,
    /// The first ones in export order, for an export where none is long enough.
    first: Vec<Sampled>,
    considered: u64,
}

impl Sampler {
    /// A sampler scoring recency against `now`.
    pub fn new(options: SampleOptions, now: OffsetDateTime) -> Self {
        Sampler {
            options,
            now,
            best: BinaryHeap::new(),
            first: Vec::new(),
            considered: 0,
        }
    }

    /// Scores one conversation and keeps it if it is among the best so far.
    pub fn offer(&mut self, conversation: &Conversation) {
        self.considered += 1;
        if conversation.do_not_remember || conversation.messages.is_empty() {
            return;
        }
        let long_enough = conversation.messages.len() >= self.options.min_messages;
        if !long_enough && self.first.len() >= self.options.max_conversations {
            return;
        }
        let score = score(conversation, self.now);
        if long_enough {
            let full = self.best.len() >= self.options.max_conversations;
            if full && self.best.peek().is_some_and(|w| w.0.score >= score) {
                return;
            }
            self.best.push(Worst(self.render(conversation, score)));
            if self.best.len() > self.options.max_conversations {
                self.best.pop();
            }
        } else {
            self.first.push(self.render(conversation, score));
        }
    }

    fn render(&self, c: &Conversation, score: f64) -> Sampled {
        let date = c
            .created_at
            .map(|t| t.date().to_string())
            .unwrap_or_else(|| "undated".into());
        let mut text = format!("## {} ({date})\n", c.title.as_deref().unwrap_or("Untitled"));
        for m in &c.messages {
            let who = match m.role {
                Role::User => "Person",
                Role::Assistant => "Assistant",
            };
            let words: String = m
                .text
                .chars()
                .take(self.options.max_message_chars)
                .collect();
            let line = format!("{who}: {words}\n");
            // One conversation gets at most its share of the budget, so that the minimum
            // number of conversations always fits in it.
            if estimate_tokens(&text) + estimate_tokens(&line) > self.share() {
                break;
            }
            text.push_str(&line);
        }
        Sampled {
            id: c.id.clone(),
            score,
            tokens: estimate_tokens(&text),
            text,
        }
    }

    /// The most one conversation may take: the budget over the minimum count.
    fn share(&self) -> u32 {
        self.options.budget_tokens / self.options.min_conversations.max(1) as u32
    }

    /// The richest conversations that fit the budget, richest first.
    pub fn finish(self) -> Sample {
        let mut candidates: Vec<Sampled> = if self.best.is_empty() {
            self.first
        } else {
            self.best.into_iter().map(|w| w.0).collect()
        };
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        let mut sample = Sample {
            considered: self.considered,
            ..Sample::default()
        };
        for c in candidates {
            if sample.conversations.len() >= self.options.max_conversations {
                break;
            }
            if sample.tokens + c.tokens <= self.options.budget_tokens {
                sample.tokens += c.tokens;
                sample.conversations.push(c);
            }
        }
        sample
    }
}

/// The seed's score (see the module comment).
pub fn score(c: &Conversation, now: OffsetDateTime) -> f64 {
    let person = c.messages.iter().filter(|m| m.role == Role::User);
    let words: usize = person
        .clone()
        .map(|m| m.text.chars().count().min(500))
        .sum();
    let turns = person.count();
    let replies = c.messages.len() - turns;
    let age = c
        .updated_at
        .or(c.created_at)
        .map_or(Duration::days(3650), |t| now - t);
    let recency = 50.0 * (1.0 - age.as_seconds_f64() / Duration::days(730).as_seconds_f64());
    (c.messages.len() * 10 + words + turns.min(replies) * 20) as f64 + recency.clamp(0.0, 50.0)
}

/// Orders the heap so that its top is the worst-scoring conversation kept.
struct Worst(Sampled);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .0
            .score
            .total_cmp(&self.0.score)
            .then_with(|| self.0.id.cmp(&other.0.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Message, ProfileSignals, FORMAT_VERSION};

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn conversation(id: &str, exchanges: usize, words: usize) -> Conversation {
        let messages = (0..exchanges * 2)
            .map(|i| Message {
                id: format!("{id}-{i}"),
                role: if i % 2 == 0 {
                    Role::User
                } else {
                    Role::Assistant
                },
                text: "w".repeat(words),
                created_at: None,
            })
            .collect();
        Conversation {
            format_version: FORMAT_VERSION,
            id: id.into(),
            title: Some(format!("About {id}")),
            created_at: Some(now() - Duration::days(10)),
            updated_at: Some(now() - Duration::days(10)),
            do_not_remember: false,
            messages,
            profile_signals: ProfileSignals::default(),
        }
    }

    #[test]
    fn the_richest_conversations_are_taken_richest_first_within_the_budget() {
        let mut sampler = Sampler::new(SampleOptions::default(), now());
        for i in 0..500 {
            sampler.offer(&conversation(&format!("c{i:03}"), 2 + i % 20, 100 + i));
        }
        let sample = sampler.finish();
        assert_eq!(sample.considered, 500);
        assert!(sample.tokens <= 50_000, "{}", sample.tokens);
        assert!(sample.conversations.len() >= 5 && sample.conversations.len() <= 50);
        let scores: Vec<f64> = sample.conversations.iter().map(|c| c.score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "richest first");
        // Most exchanges (21) with messages of 500+ characters: c419, c439, … c499 tie; they
        // are ordered by id (at the edge of the kept set, the one offered first stays).
        assert_eq!(sample.conversations[0].id, "c419");
        assert_eq!(sample.conversations[1].id, "c439");
        assert!(sample.conversations[0].text.starts_with("## About c419 ("));
    }

    fn ids(sample: Sample) -> Vec<String> {
        sample.conversations.into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn short_conversations_are_used_only_when_no_long_one_exists() {
        let mut sampler = Sampler::new(SampleOptions::default(), now());
        sampler.offer(&conversation("short", 1, 50));
        sampler.offer(&conversation("long", 2, 50));
        let ids = ids(sampler.finish());
        assert_eq!(ids, vec!["long"]);

        let mut sampler = Sampler::new(SampleOptions::default(), now());
        for i in 0..60 {
            sampler.offer(&conversation(&format!("s{i}"), 1, 50));
        }
        assert_eq!(sampler.finish().conversations.len(), 50);
    }

    #[test]
    fn do_not_remember_conversations_are_never_sampled() {
        let mut sampler = Sampler::new(SampleOptions::default(), now());
        let mut secret = conversation("secret", 30, 1000);
        secret.do_not_remember = true;
        sampler.offer(&secret);
        sampler.offer(&conversation("open", 2, 10));
        let ids = ids(sampler.finish());
        assert_eq!(ids, vec!["open"]);
    }

    #[test]
    fn messages_are_cut_and_at_least_five_conversations_are_taken() {
        let mut sampler = Sampler::new(SampleOptions::default(), now());
        for i in 0..8 {
            sampler.offer(&conversation(&format!("huge{i}"), 30, 10_000));
        }
        let sample = sampler.finish();
        assert_eq!(sample.conversations.len(), 5, "the minimum, over budget");
        assert!(sample.conversations[0]
            .text
            .lines()
            .all(|l| l.chars().count() <= 2_000 + 11));
    }
}
