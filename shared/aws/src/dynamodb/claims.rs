//! Idempotency records (`CLAIM#{key}`), as Powertools keeps them: in progress or done, with a TTL.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use soulprint_core::ports::store::{Claim, ClaimStore};
use soulprint_core::ports::{StoreError, UserId};
use time::OffsetDateTime;

use super::codec::n;
use super::{condition_failed, unavailable, with_key, DynamoStore};

#[async_trait]
impl ClaimStore for DynamoStore {
    async fn claim(
        &self,
        user: &UserId,
        key: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        let sk = format!("CLAIM#{key}");
        let until = expires_at.unix_timestamp().max(0) as u64;
        let attrs = HashMap::from([
            ("done".to_owned(), AttributeValue::Bool(false)),
            ("expires_at".to_owned(), n(until)),
            ("ttl".to_owned(), n(until)),
        ]);
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, &sk, attrs)))
            // TTL deletes late: an expired record is free whether or not it is still there.
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now.unix_timestamp().max(0) as u64))
            .send()
            .await
        {
            Ok(_) => Ok(Claim::Acquired),
            Err(e) if condition_failed(&e) => {
                let done = self
                    .get(user, &sk)
                    .await?
                    .and_then(|item| item.get("done").and_then(|d| d.as_bool().ok().copied()))
                    .unwrap_or(false);
                Ok(if done {
                    Claim::Completed
                } else {
                    Claim::InProgress
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn complete_claim(
        &self,
        user: &UserId,
        key: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let until = expires_at.unix_timestamp().max(0) as u64;
        self.put(
            user,
            &format!("CLAIM#{key}"),
            HashMap::from([
                ("done".to_owned(), AttributeValue::Bool(true)),
                ("expires_at".to_owned(), n(until)),
                ("ttl".to_owned(), n(until)),
            ]),
        )
        .await
    }

    async fn release_claim(&self, user: &UserId, key: &str) -> Result<(), StoreError> {
        match self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, format!("CLAIM#{key}"))))
            .condition_expression("done = :false")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Completed, or not there: nothing to give up.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
