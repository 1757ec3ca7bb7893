//! SoulPrint's domain crate.
//!
//! It holds what SoulPrint *is*, independent of where it runs: the normalised conversation
//! format, the reading of ChatGPT exports into it, and (in later stages) the pipeline written
//! against ports. It opens no files and names no SDK: callers hand it readers and writers.

pub mod chunker;
pub mod conversation;
pub mod export;
pub mod import_state;
pub mod prompt;
pub mod sampler;
pub mod sections;
pub mod tokens;
