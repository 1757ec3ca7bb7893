//! SoulPrint on one machine: the ports' local adapters and the workers that drain the queues.
//!
//! Everything lives under one data directory: `blobs/` (exports, conversations, chunk
//! batches), `soulprint.db` (state and the durable queues, SQLite) and `tmp/` (scratch).

pub mod blobs;
pub mod db;
pub mod offline;
pub mod openai;
pub mod queue;
pub mod rate_windows;
pub mod runtime;
pub mod store;
pub mod supervisor;
pub mod tavily;

pub use blobs::DirBlobs;
pub use db::Database;
pub use offline::Offline;
pub use openai::OpenAiCompatible;
pub use queue::SqliteQueue;
pub use rate_windows::MemoryWindows;
pub use runtime::{Local, LocalOptions};
pub use store::SqliteStore;
pub use supervisor::LocalSupervisor;
