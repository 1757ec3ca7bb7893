//! The import's state: a versioned item, written with a condition on its version.

use std::collections::HashMap;

use async_trait::async_trait;
use soulprint_core::import_state::ImportState;
use soulprint_core::ports::store::{ImportStore, Versioned};
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, decode, get_n, n, s};
use super::{condition_failed, unavailable, with_key, DynamoStore};

#[async_trait]
impl ImportStore for DynamoStore {
    async fn import_state(
        &self,
        user: &UserId,
    ) -> Result<Option<Versioned<ImportState>>, StoreError> {
        let Some(item) = self.get(user, "IMPORT").await? else {
            return Ok(None);
        };
        Ok(Some(Versioned {
            value: decode("import state", &item)?,
            version: get_n(&item, "version")?,
        }))
    }

    async fn put_import_state(
        &self,
        user: &UserId,
        state: &ImportState,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let version = expected.map_or(1, |v| v + 1);
        let attrs = HashMap::from([
            ("body".to_owned(), body(state)),
            ("version".to_owned(), n(version)),
            ("import_id".to_owned(), s(&state.import_id)),
        ]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_key(user, "IMPORT", attrs)));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
        };
        match put.send().await {
            Ok(_) => Ok(version),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict),
            Err(e) => Err(unavailable(e)),
        }
    }
}
