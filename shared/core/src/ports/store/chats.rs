//! The person's chats with SoulPrint: threads and their messages.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StoreError;
use crate::ports::UserId;

/// A message of a chat with SoulPrint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The thread it belongs to.
    pub thread_id: String,
    /// Order within the thread, from 1 (set by the store).
    #[serde(default)]
    pub seq: u64,
    /// Names the message: a fact learned from it cites this id.
    pub id: String,
    /// The person's message, or the assistant's reply.
    pub role: crate::conversation::Role,
    /// What was written; a reply has the web sources it consulted listed under it.
    pub text: String,
    /// Who answered (a model's label), for the assistant's messages.
    pub answered_by: Option<String>,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A thread as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatThread {
    /// Names the thread.
    pub id: String,
    /// The first message, cut short.
    pub title: String,
    /// Messages in it, the person's and the replies.
    pub messages: u64,
    /// When its last message was written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Chat threads and their messages.
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
