//! Memory in generations: `MEMORY` points at the one in force, `MEM#{gen}#…` hold its facts;
//! what the person deleted, as tombstones (`TOMB#…`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, PutRequest, TransactWriteItem, WriteRequest};
use soulprint_core::memory::{sort_canonically, Fact, MemoryFact, Tombstone};
use soulprint_core::ports::store::MemoryStore;
use soulprint_core::ports::{StoreError, UserId};

use super::codec::{body, decode, get_n, get_s, n, s};
use super::{condition_failed, unavailable, with_key, Cancelled, DynamoStore, Item};

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
            .map(|f| with_key(user, &fact_sk(&gen, &f.id), fact_attrs(f)))
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
                let mut facts = items
                    .iter()
                    .map(|item| decode("fact", item))
                    .collect::<Result<Vec<MemoryFact>, StoreError>>()?;
                sort_canonically(&mut facts);
                return Ok(facts);
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
        let Some(item) = self.get(user, &fact_sk(&gen, id)).await? else {
            return Ok(None);
        };
        let matching = [item];
        let fact: MemoryFact = decode("fact", &matching[0])?;
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
        writes.push(
            TransactWriteItem::builder()
                .update(self.bump(user, &gen))
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

    /// Into the generation in force (made if there is none yet), with the pointer's revision
    /// moved on in the same transaction, on condition it is still `expected`.
    async fn put_facts(
        &self,
        user: &UserId,
        expected: Option<&str>,
        facts: &[MemoryFact],
    ) -> Result<String, StoreError> {
        let (gen, mut rev) = match expected {
            Some(revision) => {
                let (gen, rev) = revision.split_once(':').ok_or(StoreError::Conflict)?;
                (
                    gen.to_owned(),
                    rev.parse::<u64>().map_err(|_| StoreError::Conflict)?,
                )
            }
            None => {
                let gen = uuid::Uuid::now_v7().simple().to_string();
                let created = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(with_key(
                        user,
                        "MEMORY",
                        HashMap::from([("gen".to_owned(), s(&gen)), ("rev".to_owned(), n(0))]),
                    )))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await;
                match created {
                    Ok(_) => (gen, 0),
                    Err(e) if condition_failed(&e) => return Err(StoreError::Conflict),
                    Err(e) => return Err(unavailable(e)),
                }
            }
        };
        // A transaction takes 100 items: 99 facts and the pointer.
        for part in facts.chunks(99) {
            let mut writes: Vec<TransactWriteItem> = part
                .iter()
                .map(|f| {
                    TransactWriteItem::builder()
                        .put(self.put_item(user, &fact_sk(&gen, &f.id), fact_attrs(f)))
                        .build()
                })
                .collect();
            writes.push(
                TransactWriteItem::builder()
                    .update(self.bump_from(user, &gen, Some(rev)))
                    .build(),
            );
            match self.transact(writes).await {
                Ok(()) => rev += 1,
                Err(Cancelled::Conditions(_)) => return Err(StoreError::Conflict),
                Err(Cancelled::Failed(e)) => return Err(e),
            }
        }
        Ok(format!("{gen}:{rev}"))
    }

    async fn memory_revision(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        match self.get(user, "MEMORY").await? {
            Some(item) => Ok(Some(format!(
                "{}:{}",
                get_s(&item, "gen")?,
                get_n(&item, "rev").unwrap_or(0)
            ))),
            None => Ok(None),
        }
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

/// A fact's key in a generation: by its id, so that a change writes it alone.
fn fact_sk(gen: &str, id: &str) -> String {
    format!("MEM#{gen}#{id}")
}

fn fact_attrs(f: &MemoryFact) -> Item {
    HashMap::from([("id".to_owned(), s(&f.id)), ("body".to_owned(), body(f))])
}

impl DynamoStore {
    /// Moves the memory's revision on, on condition `gen` is still the generation in force.
    fn bump(&self, user: &UserId, gen: &str) -> aws_sdk_dynamodb::types::Update {
        self.bump_from(user, gen, None)
    }

    /// The same, and on condition the revision is still `rev` where one is given (a record
    /// made before revisions counts as 0).
    fn bump_from(
        &self,
        user: &UserId,
        gen: &str,
        rev: Option<u64>,
    ) -> aws_sdk_dynamodb::types::Update {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(user, "MEMORY")))
            .update_expression("ADD rev :one")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":gen", s(gen));
        let update = match rev {
            Some(rev) => update
                .condition_expression(
                    "gen = :gen AND (rev = :rev OR (attribute_not_exists(rev) AND :rev = :zero))",
                )
                .expression_attribute_values(":rev", n(rev))
                .expression_attribute_values(":zero", n(0)),
            None => update.condition_expression("gen = :gen"),
        };
        update.build().expect("table, key and expression are set")
    }
}

/// A tombstone's key: time-ordered, unique.
fn tombstone_sk() -> String {
    format!("TOMB#{}", uuid::Uuid::now_v7().simple())
}

fn tombstone_attrs(tombstone: &Tombstone) -> Item {
    HashMap::from([("body".to_owned(), body(tombstone))])
}
