//! Memory in generations: `MEMORY` points at the one in force, `MEM#{gen}#…` hold its facts;
//! what the person deleted, as tombstones (`TOMB#…`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, PutRequest, TransactWriteItem, WriteRequest};
use soulprint_core::memory::{Fact, MemoryFact, Tombstone};
use soulprint_core::ports::store::MemoryStore;
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, decode, get_s, s};
use super::{unavailable, with_key, Cancelled, DynamoStore, Item};

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

    /// The fact's item goes and its tombstone (`TOMB#…`) comes in one transaction; then the
    /// runs' batch markers lose the facts it buries (a failure there leaves them to a retry of
    /// the deletion; finalize leaves them out meanwhile).
    async fn delete_fact(&self, user: &UserId, id: &str) -> Result<Option<MemoryFact>, StoreError> {
        let Some(gen) = self.memory_generation(user).await? else {
            return Ok(None);
        };
        let matching: Vec<Item> = self
            .query_prefix(user, &format!("MEM#{gen}#"))
            .await?
            .into_iter()
            .filter(|item| get_s(item, "id").is_ok_and(|i| i == id))
            .collect();
        let Some(first) = matching.first() else {
            return Ok(None);
        };
        let fact: MemoryFact = decode("fact", first)?;
        let tombstone = Tombstone::of_fact(&fact);
        let mut writes: Vec<TransactWriteItem> = matching
            .iter()
            .map(|item| {
                let key = Self::key(user, get_s(item, "sk").unwrap_or_default());
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key))
                            .condition_expression("attribute_exists(pk)")
                            .build()
                            .expect("table and key are set"),
                    )
                    .build()
            })
            .collect();
        writes.push(
            TransactWriteItem::builder()
                .put(self.put_item(user, &tombstone_sk(), tombstone_attrs(&tombstone)))
                .build(),
        );
        match self.transact(writes).await {
            Ok(()) => {}
            // Deleted by someone else meanwhile: theirs was the deletion.
            Err(Cancelled::Conditions(_)) => return Ok(None),
            Err(Cancelled::Failed(e)) => return Err(e),
        }
        for item in self.query_prefix(user, "RUN#").await? {
            let Ok(text) = get_s(&item, "facts") else {
                continue;
            };
            let facts: Vec<Fact> = serde_json::from_str(text)
                .map_err(|e| StoreError::Corrupt(format!("batch facts: {e}")))?;
            let kept: Vec<&Fact> = facts
                .iter()
                .filter(|f| !tombstone.buries_fact(&f.text))
                .collect();
            if kept.len() < facts.len() {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(user, get_s(&item, "sk")?)))
                    .update_expression("SET facts = :facts")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":facts", body(&kept))
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
        }
        Ok(Some(fact))
    }

    async fn bury(&self, user: &UserId, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.put(user, &tombstone_sk(), tombstone_attrs(tombstone))
            .await
    }

    async fn tombstones(&self, user: &UserId) -> Result<Vec<Tombstone>, StoreError> {
        self.query_prefix(user, "TOMB#")
            .await?
            .iter()
            .map(|item| decode("tombstone", item))
            .collect()
    }
}

/// A tombstone's key: time-ordered, unique.
fn tombstone_sk() -> String {
    format!("TOMB#{}", uuid::Uuid::now_v7().simple())
}

fn tombstone_attrs(tombstone: &Tombstone) -> Item {
    HashMap::from([("body".to_owned(), body(tombstone))])
}
