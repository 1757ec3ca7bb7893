//! Chat threads (`THREAD#{id}`, their message counter) and messages (`MSG#{id}#{seq}`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};
use soulprint_core::ports::store::{ChatMessage, ChatStore, ChatThread};
use soulprint_core::ports::{StoreError, UserId};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::codec::{body, decode, get_n, get_s, n, s};
use super::{pk, unavailable, Cancelled, DynamoStore, MAX_SEQ};

#[async_trait]
impl ChatStore for DynamoStore {
    /// The messages of a call (a turn: the person's and the reply) take their numbers from
    /// their thread's counter in one update and are written in one transaction: turns of the
    /// same thread at once never interleave, and a turn is stored whole or not at all.
    async fn append_chat(&self, user: &UserId, messages: &[ChatMessage]) -> Result<(), StoreError> {
        let mut threads: Vec<&str> = messages.iter().map(|m| m.thread_id.as_str()).collect();
        threads.dedup();
        for thread in threads {
            let turn: Vec<&ChatMessage> =
                messages.iter().filter(|m| m.thread_id == thread).collect();
            let (first, last) = (turn[0], turn[turn.len() - 1]);
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(user, format!("THREAD#{thread}"))))
                .update_expression(
                    "ADD messages :n SET title = if_not_exists(title, :title), updated_at = :at",
                )
                .expression_attribute_values(":n", n(turn.len() as u64))
                .expression_attribute_values(
                    ":title",
                    s(&first.text.chars().take(60).collect::<String>()),
                )
                .expression_attribute_values(
                    ":at",
                    s(&last.at.format(&Rfc3339).unwrap_or_default()),
                )
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(unavailable)?;
            let end = get_n(&out.attributes.unwrap_or_default(), "messages")?;
            let start = end + 1 - turn.len() as u64;
            let puts = turn
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let seq = start + i as u64;
                    let stored = ChatMessage {
                        seq,
                        ..(*m).clone()
                    };
                    let put = self.put_item(
                        user,
                        &format!("MSG#{thread}#{seq:010}"),
                        HashMap::from([("body".to_owned(), body(&stored))]),
                    );
                    TransactWriteItem::builder().put(put).build()
                })
                .collect();
            self.transact(puts).await.map_err(|c| match c {
                Cancelled::Failed(e) => e,
                Cancelled::Conditions(_) => StoreError::Conflict,
            })?;
        }
        Ok(())
    }

    async fn chat_messages(
        &self,
        user: &UserId,
        thread_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        let upper = before.map_or(MAX_SEQ, |b| b.saturating_sub(1).min(MAX_SEQ));
        while out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", pk(user))
                .expression_attribute_values(":low", s(&format!("MSG#{thread_id}#")))
                .expression_attribute_values(":high", s(&format!("MSG#{thread_id}#{upper:010}")))
                .scan_index_forward(false)
                .limit((limit - out.len()).min(1000) as i32)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(decode::<ChatMessage>("chat message", &item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.truncate(limit);
        out.reverse();
        Ok(out)
    }

    async fn chat_threads(&self, user: &UserId) -> Result<Vec<ChatThread>, StoreError> {
        let mut threads = Vec::new();
        for item in self.query_prefix(user, "THREAD#").await? {
            let sk = get_s(&item, "sk")?;
            let updated_at = OffsetDateTime::parse(get_s(&item, "updated_at")?, &Rfc3339)
                .map_err(|e| StoreError::Corrupt(format!("thread time: {e}")))?;
            threads.push(ChatThread {
                id: sk.trim_start_matches("THREAD#").to_owned(),
                title: get_s(&item, "title")?.to_owned(),
                messages: get_n(&item, "messages")?,
                updated_at,
            });
        }
        threads.sort_by_key(|t| std::cmp::Reverse(t.updated_at));
        Ok(threads)
    }
}
