//! The profile: written by the pipeline while its import is the current one, amended by the
//! person while it is the one stored.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use soulprint_core::ports::store::ProfileStore;
use soulprint_core::ports::{StoreError, UserId};
use soulprint_core::profile::Profile;

use super::codec::{body, decode, s};
use super::{condition_failed, unavailable, with_key, Cancelled, DynamoStore};

#[async_trait]
impl ProfileStore for DynamoStore {
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        self.get(user, "PROFILE")
            .await?
            .map(|item| decode("profile", &item))
            .transpose()
    }

    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        let put = self.put_item(user, "PROFILE", attrs(profile));
        match self
            .transact(vec![
                self.import_is_current(user, &profile.import_id),
                TransactWriteItem::builder().put(put).build(),
            ])
            .await
        {
            Ok(()) => Ok(()),
            Err(Cancelled::Conditions(_)) => Err(StoreError::Stale(profile.import_id.clone())),
            Err(Cancelled::Failed(e)) => Err(e),
        }
    }

    async fn amend_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, "PROFILE", attrs(profile))))
            .condition_expression("import_id = :import")
            .expression_attribute_values(":import", s(&profile.import_id))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Stale(profile.import_id.clone())),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// The profile, and its import beside it for the person's amendments to be conditioned on.
fn attrs(profile: &Profile) -> HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    HashMap::from([
        ("body".to_owned(), body(profile)),
        ("import_id".to_owned(), s(&profile.import_id)),
    ])
}
