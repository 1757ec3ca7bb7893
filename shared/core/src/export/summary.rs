//! What reading an export found: counts, and what was skipped, where and why.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Counts by reason, with a bounded number of distinct reasons: a hostile export inventing a
/// new content type per message cannot grow it without bound.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tally(BTreeMap<String, u64>);

const MAX_REASONS: usize = 64;
const OTHER: &str = "other reasons";

impl Tally {
    /// Adds `n` to `reason`'s count; past 64 distinct reasons, to `other reasons`.
    pub fn add(&mut self, reason: impl Into<String> + AsRef<str>, n: u64) {
        if let Some(count) = self.0.get_mut(reason.as_ref()) {
            *count += n;
        } else if self.0.len() < MAX_REASONS {
            self.0.insert(reason.into(), n);
        } else {
            *self.0.entry(OTHER.to_owned()).or_default() += n;
        }
    }

    /// Adds another tally's counts to this one's.
    pub fn merge(&mut self, other: Tally) {
        for (reason, n) in other.0 {
            self.add(reason, n);
        }
    }

    /// The count over all reasons.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The count for one reason, 0 if it never came up.
    pub fn get(&self, reason: &str) -> u64 {
        self.0.get(reason).copied().unwrap_or(0)
    }

    /// Reasons and their counts, sorted by reason.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

/// A conversation that was not written, with enough to find it in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedConversation {
    /// The conversations file it is in: its entry in the ZIP, or the input's name.
    pub file: String,
    /// Position in the file's array, from 0.
    pub index: u64,
    /// Byte offset in the (uncompressed) file where the problem is.
    pub offset: u64,
    /// Its id, when it got far enough to have one.
    pub id: Option<String>,
    /// Why it was skipped, in words for the person.
    pub reason: String,
}

impl fmt::Display for SkippedConversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} conversation #{}", self.file, self.index)?;
        if let Some(id) = &self.id {
            write!(f, " ({id})")?;
        }
        write!(f, " at byte {}: {}", self.offset, self.reason)
    }
}

/// Entries of the archive that were not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredEntry {
    /// The entry's name, cut to 200 characters.
    pub name: String,
    /// Why it was not read.
    pub reason: String,
}

/// One conversations file that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// Its entry in the ZIP, or the input's name for bare JSON.
    pub name: String,
    /// Uncompressed JSON bytes read.
    pub bytes: u64,
    /// Conversations framed in it, skipped ones included.
    pub conversations: u64,
    /// Why the file could not be read to its end, if it could not.
    pub problem: Option<String>,
    /// What the person can do about the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'static str>,
}

/// Examples kept per list; the counts stay exact.
pub const MAX_EXAMPLES: usize = 20;

/// What `read_export` found; its `Display` is what `soulprint parse` prints.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The conversations files read, in order.
    pub sources: Vec<SourceSummary>,
    /// Conversations found in the files (written, skipped and duplicates).
    pub conversations_found: u64,
    /// Conversations written, once duplicates and skips are gone.
    pub conversations_written: u64,
    /// Copies of a conversation dropped for another with the same id (the newer is kept).
    pub duplicates_dropped: u64,
    /// Messages in the written conversations.
    pub messages_written: u64,
    /// Conversations the person asked ChatGPT not to remember (written, flagged).
    pub do_not_remember: u64,
    /// Custom instruction sets in the written conversations.
    pub custom_instructions: u64,
    /// ChatGPT memory entries in the written conversations.
    pub memories: u64,
    /// Conversations whose text needed repair (invalid UTF-8, unpaired surrogates).
    pub repaired_conversations: u64,
    /// Conversations whose `current_node` was missing or dangling.
    pub newest_leaf_used: u64,
    /// Conversations whose walk to the root met a node twice (stopped there).
    pub parent_cycles: u64,
    /// Conversations not written: broken, too large, or with nothing visible.
    pub conversations_skipped: u64,
    /// Those, counted by kind.
    pub skipped_reasons: Tally,
    /// The first [`MAX_EXAMPLES`] skipped, in export order.
    pub skipped_examples: Vec<SkippedConversation>,
    /// Messages left out, by reason (tool traffic, hidden messages, thoughts, …).
    pub messages_skipped: Tally,
    /// Archive entries refused: names that escape the archive, symbolic links, unreadable headers.
    pub entries_ignored: u64,
    /// The first [`MAX_EXAMPLES`] of them.
    pub ignored_examples: Vec<IgnoredEntry>,
    /// Problems with the export as a whole that did not stop it being read.
    pub notes: Vec<String>,
}

impl Summary {
    /// Uncompressed JSON bytes read, over all files.
    pub fn json_bytes(&self) -> u64 {
        self.sources.iter().map(|s| s.bytes).sum()
    }

    pub(crate) fn ignore(&mut self, name: &str, reason: impl Into<String>) {
        self.entries_ignored += 1;
        if self.ignored_examples.len() < MAX_EXAMPLES {
            self.ignored_examples.push(IgnoredEntry {
                name: clip(name, 200),
                reason: reason.into(),
            });
        }
    }
}

/// At most `max` characters of `s`, marked when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

impl fmt::Display for Summary {
    /// The human summary `soulprint parse` prints on stderr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = self.json_bytes() as f64 / (1024.0 * 1024.0);
        writeln!(
            f,
            "read {} file(s), {:.1} MiB of JSON: {} conversations, {} messages written",
            self.sources.len(),
            mib,
            self.conversations_written,
            self.messages_written
        )?;
        if self.conversations_found == 0 {
            writeln!(f, "the export holds no conversations")?;
        }
        if self.duplicates_dropped > 0 {
            writeln!(
                f,
                "{} duplicate conversation(s) dropped (kept the newer copy)",
                self.duplicates_dropped
            )?;
        }
        let signals = [
            (
                self.do_not_remember,
                "marked do-not-remember (flagged, kept)",
            ),
            (self.custom_instructions, "custom instruction set(s) found"),
            (self.memories, "ChatGPT memory entries found"),
            (
                self.repaired_conversations,
                "conversation(s) with invalid text repaired (U+FFFD)",
            ),
            (
                self.newest_leaf_used,
                "conversation(s) without a usable current_node (used the newest leaf)",
            ),
            (
                self.parent_cycles,
                "conversation(s) with a parent cycle (walk stopped there)",
            ),
        ];
        for (n, what) in signals {
            if n > 0 {
                writeln!(f, "{n} {what}")?;
            }
        }
        for note in &self.notes {
            writeln!(f, "warning: {note}")?;
        }
        for source in &self.sources {
            if let Some(problem) = &source.problem {
                writeln!(f, "warning: {}: {problem}", source.name)?;
            }
        }
        if self.conversations_skipped > 0 {
            writeln!(f, "{} conversation(s) skipped:", self.conversations_skipped)?;
            for (reason, n) in self.skipped_reasons.iter() {
                writeln!(f, "  {n} {reason}")?;
            }
            for example in &self.skipped_examples {
                writeln!(f, "  - {example}")?;
            }
            if self.conversations_skipped > self.skipped_examples.len() as u64 {
                writeln!(f, "  (the first {} listed)", self.skipped_examples.len())?;
            }
        }
        if self.messages_skipped.total() > 0 {
            writeln!(
                f,
                "{} message(s) left out (not visible conversation):",
                self.messages_skipped.total()
            )?;
            for (reason, n) in self.messages_skipped.iter() {
                writeln!(f, "  {n} {reason}")?;
            }
        }
        if self.entries_ignored > 0 {
            writeln!(f, "{} archive entr(ies) refused:", self.entries_ignored)?;
            for entry in &self.ignored_examples {
                writeln!(f, "  - {}: {}", entry.name, entry.reason)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_holds_a_bounded_number_of_reasons() {
        let mut tally = Tally::default();
        for i in 0..1000 {
            tally.add(format!("reason {i}"), 1);
        }
        assert_eq!(tally.total(), 1000);
        assert_eq!(tally.iter().count(), MAX_REASONS + 1);
        assert_eq!(tally.get(OTHER), 1000 - MAX_REASONS as u64);
    }
}
