//! Chat threads and their messages, numbered in order.

use async_trait::async_trait;
use rusqlite::params;
use soulprint_core::ports::store::{ChatMessage, ChatStore, ChatThread};
use soulprint_core::ports::{StoreError, UserId};
use time::OffsetDateTime;

use super::{decode, encode, err, SqliteStore};

#[async_trait]
impl ChatStore for SqliteStore {
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err)?;
        for m in messages {
            let seq: i64 = tx
                .query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM chat_message WHERE user = ?1 AND thread_id = ?2",
                    params![user.as_str(), m.thread_id],
                    |r| r.get(0),
                )
                .map_err(err)?;
            let stored = ChatMessage {
                seq: seq as u64,
                ..m.clone()
            };
            let at = stored
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            tx.execute(
                "INSERT INTO chat_message (user, thread_id, seq, message, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user.as_str(), m.thread_id, seq, encode(&stored), at],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare(
                "SELECT message FROM chat_message WHERE user = ?1 AND thread_id = ?2 AND seq < ?3
                 ORDER BY seq DESC LIMIT ?4",
            )
            .map_err(err)?;
        let before = before.map_or(i64::MAX, |b| b as i64);
        let rows = stmt
            .query_map(
                params![user.as_str(), thread_id, before, limit as i64],
                |r| r.get::<_, String>(0),
            )
            .map_err(err)?;
        let mut out: Vec<ChatMessage> = rows
            .map(|r| decode("chat message", &r.map_err(err)?))
            .collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }

    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare(
                "SELECT thread_id, COUNT(*), MAX(at),
                        (SELECT message FROM chat_message f WHERE f.user = m.user
                           AND f.thread_id = m.thread_id ORDER BY seq LIMIT 1)
                 FROM chat_message m WHERE user = ?1 GROUP BY thread_id ORDER BY MAX(at) DESC",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![user.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, n, at, first) = row.map_err(err)?;
            let first: ChatMessage = decode("chat message", &first)?;
            let updated_at =
                OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push(ChatThread {
                id,
                title: first.text.chars().take(60).collect(),
                messages: n as u64,
                updated_at,
            });
        }
        Ok(out)
    }
}
