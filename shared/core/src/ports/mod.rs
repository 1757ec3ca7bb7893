//! The ports: what the stages need from the world, as traits the adapters implement.
//!
//! Two worlds implement them: local (a directory, SQLite, tables as queues, a model on the
//! machine or none) and AWS (S3, DynamoDB, SQS, Bedrock, Step Functions). The stages see only
//! these traits, and every operation names the user whose data it touches: no call reaches
//! across users.

pub mod blobs;
pub mod clock;
pub mod direct_download;
pub mod direct_upload;
pub mod llm;
pub mod model;
pub mod queue;
pub mod rate_windows;
pub mod store;
pub mod supervisor;
pub mod web;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use blobs::{BlobError, BlobKey, Blobs, Scratch};
pub use clock::{Clock, SystemClock};
pub use direct_download::DirectDownload;
pub use direct_upload::DirectUpload;
pub use llm::{Llm, LlmError, Usage};
pub use model::ModelBackend;
pub use queue::{Delivery, Queue, QueueError, QueueName, MAX_DELAY};
pub use rate_windows::{RateWindows, TokenQuota};
pub use store::{Store, StoreError};
pub use supervisor::{Supervisor, SupervisorError};
pub use web::{WebSearch, WebSource};

/// Whose data a call touches. Checked once, where it enters (a CLI's local user, a JWT's
/// `sub`): letters, digits, `-`, `_`, `.`, `@`, `|`, at most 128 bytes, so that it can be
/// part of a key or a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

/// A string refused as a [`UserId`], kept for the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a user id (1–128 of letters, digits, '-', '_', '.', '@', '|')")]
pub struct BadUserId(String);

impl UserId {
    /// Checks `id` against the rules above.
    pub fn new(id: impl Into<String>) -> Result<Self, BadUserId> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 128
            && id != "."
            && id != ".."
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@|".contains(&b));
        if ok {
            Ok(UserId(id))
        } else {
            Err(BadUserId(id))
        }
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = BadUserId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        UserId::new(value)
    }
}

impl From<UserId> for String {
    fn from(value: UserId) -> Self {
        value.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a stage acts through. Built once by an entry point.
#[derive(Clone)]
pub struct Ports {
    /// Each user's files: exports, normalised conversations, chunk batches, indexes.
    pub blobs: Arc<dyn Blobs>,
    /// The pipeline's job queues.
    pub queue: Arc<dyn Queue>,
    /// Each user's records: import state, profile, memory, runs, usage, claims, chats.
    pub store: Arc<dyn Store>,
    /// The quick pass, MEMORY and chat: where judgement matters.
    pub llm: Arc<dyn Llm>,
    /// Fact extraction, the bulk of the tokens: a cheaper model where one is set, else `llm`.
    pub fact_llm: Arc<dyn Llm>,
    /// Answers chat when `llm` fails (the reply says so).
    pub fallback_llm: Option<Arc<dyn Llm>>,
    /// A web-search tool the chat model may call, when one is configured.
    pub web: Option<Arc<dyn WebSearch>>,
    /// What waits on a stage and hears how it ended (Step Functions on AWS).
    pub supervisor: Arc<dyn Supervisor>,
    /// The time, so that tests can fix it.
    pub clock: Arc<dyn Clock>,
    /// The fact model's tokens a minute, when a quota is set: every fact worker's calls
    /// within it.
    pub fact_quota: Option<TokenQuota>,
}
