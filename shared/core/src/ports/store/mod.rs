//! State: imports, profiles, full-pass bookkeeping, memory, usage, idempotency, chats, the
//! person. One role trait per concern; [`Store`] is their sum, which each world implements
//! once (a SQLite database, a DynamoDB table), and a stage takes only the roles it needs.
//!
//! Operations are named for the domain and carry their conditions, so that each store can make
//! them atomic in its own way (a SQLite transaction, a DynamoDB conditional write or
//! transaction). Every operation is scoped to one user.

mod chats;
mod claims;
mod imports;
mod memory;
mod parts;
mod people;
mod profiles;
mod runs;
mod usage;

pub use chats::{ChatMessage, ChatStore, ChatThread};
pub use claims::{Claim, ClaimStore};
pub use imports::ImportStore;
pub use memory::MemoryStore;
pub use parts::StoreParts;
pub use people::PersonStore;
pub use profiles::ProfileStore;
pub use runs::{BatchOutcome, BatchRecord, RunId, RunPlan, RunProgress, RunStore};
pub use usage::{micros, month_of, ImportUsage, UsageStore};

/// A stored value and the version a conditional write must name.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The value as stored.
    pub value: T,
    /// Its version; a write naming another one conflicts.
    pub version: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost a race: read again and retry.
    #[error("the record changed since it was read")]
    Conflict,
    /// Worth trying again: the store failed (network, throttling, access).
    #[error("the store failed: {0}")]
    Unavailable(String),
    /// A stored record does not read back: trying again will not help.
    #[error("a stored record is unreadable: {0}")]
    Corrupt(String),
    /// The store refused the request (too large, no plan for the run): trying again will not help.
    #[error("{0}")]
    Refused(String),
    /// The write was for an import that is no longer the user's current one.
    #[error("import {0} is no longer the current import")]
    Stale(String),
}

/// Every role: what a world's store implements.
pub trait Store:
    ImportStore
    + ProfileStore
    + RunStore
    + MemoryStore
    + UsageStore
    + ClaimStore
    + ChatStore
    + PersonStore
{
}

impl<T> Store for T where
    T: ImportStore
        + ProfileStore
        + RunStore
        + MemoryStore
        + UsageStore
        + ClaimStore
        + ChatStore
        + PersonStore
{
}
