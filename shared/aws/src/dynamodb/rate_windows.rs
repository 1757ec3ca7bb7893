//! Rate-limit windows: `RATE#{tier}#{window}` items counted with `ADD`, gone by TTL.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use soulprint_core::ports::{RateWindows, StoreError, UserId};

use super::codec::{get_n, n};
use super::{unavailable, DynamoStore};

#[async_trait]
impl RateWindows for DynamoStore {
    /// The window's item expires (TTL) a window after it closes.
    async fn add(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
        window_seconds: i64,
        amount: u64,
    ) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, format!("RATE#{tier}#{window_start}"))))
            .update_expression("ADD hits :amount SET #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":amount", n(amount))
            .expression_attribute_values(":ttl", n((window_start + 2 * window_seconds) as u64))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        get_n(&out.attributes.unwrap_or_default(), "hits")
    }

    async fn counted(
        &self,
        user: &UserId,
        tier: &str,
        window_start: i64,
    ) -> Result<u64, StoreError> {
        match self
            .get(user, &format!("RATE#{tier}#{window_start}"))
            .await?
        {
            Some(item) => get_n(&item, "hits"),
            None => Ok(0),
        }
    }
}
