//! Forgetting a person: their partition, deleted.

use async_trait::async_trait;
use soulprint_core::ports::store::PersonStore;
use soulprint_core::ports::{StoreError, UserId};

use super::DynamoStore;

#[async_trait]
impl PersonStore for DynamoStore {
    /// Every item of the user's partition. Their queued messages stay in SQS until a worker
    /// takes them and finds no import to work on.
    async fn forget(&self, user: &UserId) -> Result<(), StoreError> {
        let items = self.query_prefix(user, "").await?;
        self.delete_items(&items).await
    }
}
