//! The person's chats with SoulPrint: threads and their messages.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StoreError;
use crate::ports::UserId;

/// A message of a chat with SoulPrint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub thread_id: String,
    /// Order within the thread, from 1 (set by the store).
    #[serde(default)]
    pub seq: u64,
    pub id: String,
    pub role: crate::conversation::Role,
    pub text: String,
    /// Who answered (a model's label), for the assistant's messages.
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatThread {
    pub id: String,
    /// The first message, cut short.
    pub title: String,
    pub messages: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Appends messages to a thread (created with the first), in order.
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError>;
    /// The thread's messages, oldest first: the last `limit` before `before` (a message's
    /// `seq`), or the last `limit`.
    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError>;
    /// The user's threads, most recently active first.
    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError>;
}
