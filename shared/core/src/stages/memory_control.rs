//! The person's hands on their memory: a fact or a conversation excerpt they delete is gone
//! from everything the model sees (MEMORY, the sections that mention it, the excerpts that
//! state it) at once, whatever the imports are doing, and no later pass brings it back
//! ([`Tombstone`]s). Its source stays: the export and the stored conversations are the
//! person's own record.

use tracing::info;

use super::chat::IndexCache;
use super::finalize::drop_other_indexes;
use super::{amend_profile, StageError};
use crate::memory::{markdown, Tombstone};
use crate::ports::{BlobKey, Ports, UserId};
use crate::profile::Profile;
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
    if let Some(fact) = ports.store.delete_fact(user, id).await? {
        let tombstone = Tombstone::of_fact(&fact);
        forget_in_profile(ports, cache, user, &tombstone).await?;
        info!(user = %user, fact = id, "fact deleted");
        return Ok(Some(Deleted::Fact));
    }
    let Some(profile) = ports.store.profile(user).await? else {
        return Ok(None);
    };
    let index = cache.get(ports, user, &profile).await?;
    if !index.docs().iter().any(|d| d.id == id) {
        return Ok(None);
    }
    let tombstone = Tombstone::Excerpt { id: id.to_owned() };
    ports.store.bury(user, &tombstone).await?;
    forget_in_profile(ports, cache, user, &tombstone).await?;
    info!(user = %user, chunk = id, "chunk deleted");
    Ok(Some(Deleted::Chunk))
}

/// The profile without what `tombstone` buries: MEMORY written again from the facts left (by
/// the template, not a model, whose prose could carry the deleted fact along), the sections'
/// sentences that mention it taken out, and the excerpts that state it left out of a new
/// index.
async fn forget_in_profile(
    ports: &Ports,
    cache: &IndexCache,
    user: &UserId,
    tombstone: &Tombstone,
) -> Result<(), StageError> {
    // Two deletions at once would each drop the other's index blob.
    let _editing = cache.editing.lock().await;
    let memory = ports.store.memory(user).await?;
    let mut written: Option<String> = None;
    let amended = amend_profile(ports, user, |profile: &mut Profile| {
        if profile.memory_md.is_some() {
            profile.memory_md = Some(markdown::fit(markdown::render(&memory)));
        }
        profile.sections.forget(|text| tombstone.mentioned_in(text));
        Ok(())
    })
    .await?;
    let Some(profile) = amended else {
        return Ok(());
    };
    let index = cache.get(ports, user, &profile).await?;
    let kept: Vec<_> = index
        .docs()
        .iter()
        .filter(|d| !tombstone.buries_excerpt(&d.id, &d.conversation_id, &d.text))
        .cloned()
        .collect();
    if kept.len() < index.docs().len() {
        // A new blob, named in the profile: every process that cached the old one reloads.
        let name = new_index_blob();
        ports
            .blobs
            .put(
                &BlobKey::new(user, &name)?,
                RelevanceIndex::new(kept).to_jsonl(),
            )
            .await?;
        amend_profile(ports, user, |profile: &mut Profile| {
            profile.chunk_index = Some(name.clone());
            Ok(())
        })
        .await?;
        drop_other_indexes(ports, user, &name).await;
        written = Some(name);
    }
    cache.forget(user);
    info!(user = %user, index = ?written, "profile amended after a deletion");
    Ok(())
}
