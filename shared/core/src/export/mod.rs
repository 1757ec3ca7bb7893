//! Reading a ChatGPT data export into normalised conversations.
//!
//! [`read_export`] is the whole job: find the conversations files ([`archive`]), cut each into
//! one frame per conversation ([`framing`]), normalise frames in parallel ([`normalize`]: the
//! [`active_path`], visible text, [`citations`] stripped, text [`repair`]ed), drop duplicates,
//! and write JSON Lines. Memory is bounded by the largest conversation plus a small index entry
//! per conversation, whatever the size of the export.

pub mod active_path;
pub mod archive;
pub mod citations;
pub mod framing;
pub mod model;
pub mod normalize;
mod reader;
pub mod repair;
pub mod summary;

pub use archive::EntryLimits;
pub use framing::FrameLimits;
pub use reader::{read_export, Progress, ReadOptions};
pub use summary::Summary;

/// An export that cannot be used at all. Problems with single conversations or single files
/// are not errors: they are reported in the [`Summary`].
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading or writing failed (the input, the spill, the output), or a thread could not start.
    #[error("cannot read the export: {0}")]
    Io(#[source] std::io::Error),
    /// The input starts with neither a ZIP's nor JSON's first bytes.
    #[error(
        "not a ChatGPT export: the file starts with {found}, which is neither a ZIP archive nor \
         JSON. Pass the .zip downloaded from ChatGPT (Settings → Data controls → Export data) or \
         the conversations.json inside it"
    )]
    NotAnExport {
        /// What those bytes look like: a known kind of file ("a PDF document"), else the bytes.
        found: String,
    },
    /// A ZIP with no readable central directory, whose entries, read one by one, hold no
    /// conversations file.
    #[error(
        "the ZIP archive cannot be opened ({detail}); it may be damaged or only partly \
         downloaded: download the export again"
    )]
    BadZip {
        /// Why the central directory could not be read.
        detail: String,
    },
    /// A readable ZIP with no `conversations.json` and no shard of one.
    #[error(
        "the ZIP archive holds no conversations file: looked for conversations.json or \
         conversations-NNN.json among its {entries} entries{}; is this a ChatGPT data export?",
        examples_note(examples)
    )]
    NoConversationsFile {
        /// Entries in the archive.
        entries: usize,
        /// Up to 8 of its other files' names, to show what it holds instead.
        examples: Vec<String>,
    },
    /// The file inflates far beyond any export (entries sharing their bytes, or many times the
    /// file's own size): refused whole, before it costs anyone minutes of work.
    #[error(
        "this file looks like a ZIP bomb, not an export: {detail}. Download the export from \
         ChatGPT again (Settings → Data controls → Export data)"
    )]
    ZipBomb {
        /// What gave it away.
        detail: String,
    },
    /// No conversation was found and a conversations file had a problem: the first such file.
    #[error("{file}: {detail}; no conversation could be read. {hint}")]
    Unreadable {
        /// The file's name: its entry in the ZIP, or the input's name.
        file: String,
        /// What went wrong with it.
        detail: String,
        /// What the person can do about it.
        hint: &'static str,
    },
    /// Conversations were found but every one was skipped.
    #[error(
        "all {count} conversations were skipped, none could be read; the first: {first}. \
         Run with --max-conversation-mib higher if they were too large, else report the export"
    )]
    AllSkipped {
        /// How many were skipped.
        count: u64,
        /// The first one skipped, in export order, with its reason.
        first: String,
    },
}

impl ExportError {
    /// Whether the message already names the file it is about (so a caller need not).
    pub fn names_a_file(&self) -> bool {
        matches!(self, ExportError::Unreadable { .. })
    }
}

fn examples_note(examples: &[String]) -> String {
    if examples.is_empty() {
        String::new()
    } else {
        format!(" (such as {})", examples.join(", "))
    }
}
