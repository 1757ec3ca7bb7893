//! The person's hands on their memory: a fact or a conversation excerpt they delete is never
//! recalled again, nor left in MEMORY.

use tracing::info;

use super::chat::IndexCache;
use super::finalize::drop_other_indexes;
use super::StageError;
use crate::memory::markdown;
use crate::ports::{BlobKey, Ports, UserId};
use crate::relevance::{new_index_blob, RelevanceIndex};

/// What a deletion removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// A consolidated fact: MEMORY is written again without it.
    Fact,
    /// A conversation excerpt: the chunk index is written again without it.
    Chunk,
}

/// Deletes the fact or chunk with this id; `None` when the person has neither.
pub async fn delete_memory(
    ports: &Ports,
    cache: &IndexCache,
    user: &UserId,
    id: &str,
) -> Result<Option<Deleted>, StageError> {
    if ports.store.delete_fact(user, id).await? {
        rewrite_memory_md(ports, user).await?;
        info!(user = %user, fact = id, "fact deleted");
        return Ok(Some(Deleted::Fact));
    }
    let _editing = cache.editing.lock().await;
    let Some(mut profile) = ports.store.profile(user).await? else {
        return Ok(None);
    };
    let index = cache.get(ports, user, &profile).await?;
    if !index.docs().iter().any(|d| d.id == id) {
        return Ok(None);
    }
    let kept = RelevanceIndex::new(
        index
            .docs()
            .iter()
            .filter(|d| d.id != id)
            .cloned()
            .collect(),
    );
    // A new blob, named in the profile: every process that cached the old one reloads.
    let name = new_index_blob();
    ports
        .blobs
        .put(&BlobKey::new(user, &name)?, kept.to_jsonl())
        .await?;
    profile.chunk_index = Some(name.clone());
    ports.store.put_profile(user, &profile).await?;
    drop_other_indexes(ports, user, &name).await;
    cache.forget(user);
    info!(user = %user, chunk = id, "chunk deleted");
    Ok(Some(Deleted::Chunk))
}

/// MEMORY again from the facts left. The template writes it, not a model: a model's prose
/// could carry the deleted fact along.
async fn rewrite_memory_md(ports: &Ports, user: &UserId) -> Result<(), StageError> {
    let Some(mut profile) = ports.store.profile(user).await? else {
        return Ok(());
    };
    if profile.memory_md.is_none() {
        return Ok(());
    }
    let memory = ports.store.memory(user).await?;
    profile.memory_md = Some(markdown::render(&memory));
    profile.updated_at = ports.clock.now();
    profile.render(profile.updated_at);
    ports.store.put_profile(user, &profile).await?;
    Ok(())
}
