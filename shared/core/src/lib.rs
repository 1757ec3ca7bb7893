//! SoulPrint's domain crate.
//!
//! It holds what SoulPrint *is*, independent of where it runs: the normalised conversation
//! format, the reading of ChatGPT exports into it, the import's state machine, sampling,
//! chunking, facts and their consolidation, the prompts, and the pipeline stages, written once
//! against the [`ports`]. It opens no files and names no SDK: the adapters do that.

#![warn(missing_docs)]

pub mod budgets;
pub mod chunker;
pub mod conversation;
pub mod export;
pub mod import_state;
pub mod jobs;
pub mod memory;
pub mod model;
pub mod person_stats;
pub mod ports;
pub mod profile;
pub mod relevance;
pub mod sampler;
pub mod sections;
pub mod stages;
pub mod system_prompt;
pub mod tokens;
