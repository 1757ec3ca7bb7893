//! Memory in generations: `MEMORY` points at the one in force, `MEM#{gen}#…` hold its facts.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{PutRequest, TransactWriteItem, WriteRequest};
use soulprint_core::memory::MemoryFact;
use soulprint_core::ports::store::MemoryStore;
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, decode, get_s, s};
use super::{with_key, Cancelled, DynamoStore, Item};

#[async_trait]
impl MemoryStore for DynamoStore {
    /// Writes the facts as a new generation, switches `MEMORY` to it if the import is still
    /// current, then deletes the old generation: a reader sees one generation or the other.
    async fn replace_memory(
        &self,
        user: &UserId,
        import_id: &str,
        facts: &[MemoryFact],
    ) -> Result<(), StoreError> {
        let gen = uuid::Uuid::now_v7().simple().to_string();
        let fresh: Vec<Item> = facts
            .iter()
            .enumerate()
            .map(|(i, f)| {
                with_key(
                    user,
                    &format!("MEM#{gen}#{i:08}"),
                    HashMap::from([("id".to_owned(), s(&f.id)), ("body".to_owned(), body(f))]),
                )
            })
            .collect();
        let puts = fresh
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .expect("an item is set"),
                    )
                    .build()
            })
            .collect();
        self.write_all(puts).await?;
        let pointer = self.put_item(
            user,
            "MEMORY",
            HashMap::from([
                ("gen".to_owned(), s(&gen)),
                ("import_id".to_owned(), s(import_id)),
            ]),
        );
        match self
            .transact(vec![
                self.import_is_current(user, import_id),
                TransactWriteItem::builder().put(pointer).build(),
            ])
            .await
        {
            Ok(()) => {}
            Err(failure) => {
                self.delete_items(&fresh).await?;
                return Err(match failure {
                    Cancelled::Conditions(_) => StoreError::Stale(import_id.to_owned()),
                    Cancelled::Failed(e) => e,
                });
            }
        }
        // Every other generation: the one replaced, and any a concurrent replacement left.
        let current = format!("MEM#{gen}#");
        let stale: Vec<Item> = self
            .query_prefix(user, "MEM#")
            .await?
            .into_iter()
            .filter(|item| get_s(item, "sk").is_ok_and(|sk| !sk.starts_with(&current)))
            .collect();
        self.delete_items(&stale).await?;
        Ok(())
    }

    /// The facts of one generation: read again if `MEMORY` moved on meanwhile (its items may
    /// have been deleted under the read).
    async fn memory(&self, user: &UserId) -> Result<Vec<MemoryFact>, StoreError> {
        let mut gen = self.memory_generation(user).await?;
        for _ in 0..4 {
            let Some(current) = gen else {
                return Ok(Vec::new());
            };
            let items = self.query_prefix(user, &format!("MEM#{current}#")).await?;
            let after = self.memory_generation(user).await?;
            if after.as_deref() == Some(current.as_str()) {
                return items.iter().map(|item| decode("fact", item)).collect();
            }
            gen = after;
        }
        Err(StoreError::Unavailable(
            "the memory kept changing while it was read".into(),
        ))
    }

    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<bool, StoreError> {
        let Some(gen) = self.memory_generation(user).await? else {
            return Ok(false);
        };
        let matching: Vec<Item> = self
            .query_prefix(user, &format!("MEM#{gen}#"))
            .await?
            .into_iter()
            .filter(|item| get_s(item, "id").is_ok_and(|i| i == id))
            .collect();
        self.delete_items(&matching).await?;
        Ok(!matching.is_empty())
    }
}
