//! Forgetting a person: their partition deleted a page at a time, under a marker that keeps
//! them unreadable until it is done.

use std::collections::HashMap;

use async_trait::async_trait;
use soulprint_core::ports::store::PersonStore;
use soulprint_core::ports::{StoreError, UserId};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::codec::{get_s, s};
use super::{pk, unavailable, DynamoStore};

/// The marker's sort key, in the person's own partition.
const FORGOTTEN: &str = "FORGOTTEN";
/// Keys read a page, and deleted as they come: 100,000 items never sit in memory at once.
const PAGE: i32 = 1_000;

#[async_trait]
impl PersonStore for DynamoStore {
    /// Every item of the user's partition but the marker, read as keys only a page at a time
    /// and deleted 25 a request. Their queued messages stay in SQS until a worker takes them
    /// and finds no import to work on.
    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", pk(user))
                .projection_expression("pk, sk")
                .limit(PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            let keys: Vec<_> = out
                .items
                .unwrap_or_default()
                .into_iter()
                .filter(|item| get_s(item, "sk").map_or(true, |sk| sk != FORGOTTEN))
                .collect();
            self.delete_items(&keys).await?;
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(()),
            }
        }
    }

    async fn mark_forgotten(&self, user: &UserId, at: OffsetDateTime) -> Result<(), StoreError> {
        let since = at
            .format(&Rfc3339)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let item = Self::key(user, FORGOTTEN)
            .into_iter()
            .chain([("since".to_owned(), s(&since))])
            .collect::<HashMap<_, _>>();
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Marked before: the first time stands.
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn forgotten(&self, user: &UserId) -> Result<Option<OffsetDateTime>, StoreError> {
        let Some(item) = self.get(user, FORGOTTEN).await? else {
            return Ok(None);
        };
        let since = get_s(&item, "since")?;
        OffsetDateTime::parse(since, &Rfc3339)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("forgotten since {since:?}: {e}")))
    }

    async fn forget_done(&self, user: &UserId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, FORGOTTEN)))
            .send()
            .await
            .map(drop)
            .map_err(unavailable)
    }
}
