//! What each step of an import spent (`USAGE#{import}#{key}`).

use std::collections::HashMap;

use async_trait::async_trait;
use soulprint_core::ports::store::{ImportUsage, UsageStore};
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, decode};
use super::DynamoStore;

#[async_trait]
impl UsageStore for DynamoStore {
    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError> {
        self.put(
            user,
            &format!("USAGE#{import_id}#{key}"),
            HashMap::from([("body".to_owned(), body(spent))]),
        )
        .await
    }

    async fn usage(&self, user: &UserId, import_id: &str) -> Result<ImportUsage, StoreError> {
        let mut total = ImportUsage::default();
        for item in self
            .query_prefix(user, &format!("USAGE#{import_id}#"))
            .await?
        {
            total.add(&decode::<ImportUsage>("usage", &item)?);
        }
        Ok(total)
    }
}
