//! The profile, written only while its import is the current one.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;
use soulprint_core::ports::store::ProfileStore;
use soulprint_core::ports::{StoreError, UserId};
use soulprint_core::profile::Profile;

use super::codec::{body, decode};
use super::{Cancelled, DynamoStore};

#[async_trait]
impl ProfileStore for DynamoStore {
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError> {
        self.get(user, "PROFILE")
            .await?
            .map(|item| decode("profile", &item))
            .transpose()
    }

    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError> {
        let put = self.put_item(
            user,
            "PROFILE",
            HashMap::from([("body".to_owned(), body(profile))]),
        );
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
}
