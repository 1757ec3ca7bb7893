//! What each step of an import spent (`USAGE#{import}#{key}`), and what the person's imports
//! spent each month (`SPEND#{month}`, for their budget).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use soulprint_core::ports::store::{micros, month_of, ImportUsage, UsageStore};
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, decode, get_n, n};
use super::{Cancelled, DynamoStore};

#[async_trait]
impl UsageStore for DynamoStore {
    async fn record_usage(
        &self,
        user: &UserId,
        import_id: &str,
        key: &str,
        spent: &ImportUsage,
    ) -> Result<(), StoreError> {
        let record = self.put_item(
            user,
            &format!("USAGE#{import_id}#{key}"),
            HashMap::from([("body".to_owned(), body(spent))]),
        );
        self.transact(vec![
            TransactWriteItem::builder().put(record).build(),
            TransactWriteItem::builder()
                .update(self.spend(user, spent.cost_usd))
                .build(),
        ])
        .await
        .map_err(|e| match e {
            Cancelled::Failed(e) => e,
            Cancelled::Conditions(_) => {
                StoreError::Unavailable("a usage record was refused".into())
            }
        })
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

    async fn spent(&self, user: &UserId, month: &str) -> Result<f64, StoreError> {
        Ok(match self.get(user, &format!("SPEND#{month}")).await? {
            Some(item) => get_n(&item, "micros")? as f64 / 1e6,
            None => 0.0,
        })
    }
}

impl DynamoStore {
    /// Adds `cost_usd` to the month's spend (`SPEND#{month}`), in a write's transaction.
    pub(super) fn spend(&self, user: &UserId, cost_usd: f64) -> Update {
        let month = month_of(time::OffsetDateTime::now_utc());
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, format!("SPEND#{month}"))))
            .update_expression("ADD micros :spent")
            .expression_attribute_values(":spent", n(micros(cost_usd)))
            .build()
            .expect("table, key and expression are set")
    }
}
