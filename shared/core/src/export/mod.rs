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
    #[error("cannot read the export: {0}")]
    Io(#[source] std::io::Error),
    #[error(
        "not a ChatGPT export: the file starts with {found}, which is neither a ZIP archive nor \
         JSON. Pass the .zip downloaded from ChatGPT (Settings → Data controls → Export data) or \
         the conversations.json inside it"
    )]
    NotAnExport { found: String },
    #[error(
        "the ZIP archive cannot be opened ({detail}); it may be damaged or only partly \
         downloaded: download the export again"
    )]
    BadZip { detail: String },
    #[error(
        "the ZIP archive holds no conversations file: looked for conversations.json or \
         conversations-NNN.json among its {entries} entries{}; is this a ChatGPT data export?",
        examples_note(examples)
    )]
    NoConversationsFile {
        entries: usize,
        examples: Vec<String>,
    },
    #[error("{file}: {detail}; no conversation could be read. {hint}")]
    Unreadable {
        file: String,
        detail: String,
        hint: &'static str,
    },
    #[error(
        "all {count} conversations were skipped, none could be read; the first: {first}. \
         Run with --max-conversation-mib higher if they were too large, else report the export"
    )]
    AllSkipped { count: u64, first: String },
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
