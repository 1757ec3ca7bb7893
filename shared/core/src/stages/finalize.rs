//! The end of the full pass: consolidate, write MEMORY, write the sections again with it.

use tracing::{info, info_span, warn, Instrument};

use super::facts::current;
use super::import::gather;
use super::quick_pass::quick_pass;
use super::{
    blocking, claim_hold, exactly_once, import_blob, update_state, StageError, CONVERSATIONS_BLOB,
};
use crate::memory::tombstone::buried_fact;
use crate::memory::{consolidate, markdown, Tombstone};
use crate::ports::llm::{MemoryRequest, Usage};
use crate::ports::store::{ImportUsage, RunId};
use crate::ports::{Ports, UserId};
use crate::sampler::SampleOptions;

/// The regeneration reads up to this many conversations (the seed's v2).
const REGENERATION_CONVERSATIONS: usize = 200;

pub(crate) async fn run(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    deadline: Option<time::OffsetDateTime>,
) -> Result<(), StageError> {
    let span =
        info_span!("finalize", user = %user, import_id = %run.import_id, attempt = run.attempt);
    async {
        if !current(ports.store.as_ref(), user, run).await? {
            return answer_if_done(ports, user, run).await;
        }
        let key = format!("finalize/{}/{}", run.import_id, run.attempt);
        let hold = claim_hold(
            ports.clock.as_ref(),
            deadline,
            crate::ports::QueueName::Finalize,
        );
        exactly_once(
            ports.store.as_ref(),
            ports.clock.as_ref(),
            user,
            &key,
            hold,
            finalize(ports, user, run),
        )
        .await
    }
    .instrument(span)
    .await
}

/// A redelivered finalize finds the run complete: its worker may have died before telling the
/// supervisor, so the supervisor is told (again).
async fn answer_if_done(ports: &Ports, user: &UserId, run: &RunId) -> Result<(), StageError> {
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(());
    };
    let s = state.value;
    match &s.full_pass.task_token {
        Some(token)
            if s.import_id == run.import_id
                && s.full_pass.attempt == run.attempt
                && s.full_pass.status == crate::import_state::FullPassStatus::Complete =>
        {
            let output = serde_json::json!({"import_id": run.import_id, "attempt": run.attempt});
            super::report_success(ports, token, &output).await
        }
        _ => Ok(()),
    }
}

async fn finalize(ports: &Ports, user: &UserId, run: &RunId) -> Result<(), StageError> {
    if super::worker::fail_if_overdue(ports, user, run).await? {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let import_id = run.import_id.as_str();
    // What the person deleted stays deleted, though the export still states it.
    let tombstones = ports.store.tombstones(user).await?;
    let mut raw = ports.store.run_facts(user, run).await?;
    raw.retain(|f| !buried_fact(&tombstones, &f.text));
    // What the person told SoulPrint in chat stays: the run knows only the export.
    let current = ports.store.memory(user).await?;
    raw.extend(
        super::chat::explode(&current)
            .into_iter()
            .filter(|f| f.source.origin == crate::memory::Origin::Chat),
    );
    let raw_count = raw.len();
    let memory = blocking(move || Ok(consolidate(raw))).await?;
    let progress = ports.store.run_progress(user, run).await?;
    if let Some(p) = progress.filter(|p| p.failed_chunks * 2 > p.chunks_done.max(1)) {
        // Most chunks failed (the model down, a bad key): a memory from the rest would pass
        // for complete. Fail the run instead; it can be retried.
        let reason = format!(
            "fact extraction failed on {} of {} chunks; check the model, then retry the full pass",
            p.failed_chunks, p.chunks_done
        );
        return super::worker::fail_full_pass(ports, user, run, &reason, ports.clock.now()).await;
    }
    ports.store.replace_memory(user, import_id, &memory).await?;
    let chunk_index = build_index(ports, user, run, &tombstones).await?;

    let (memory_md, memory_usage) = write_memory(ports, &memory).await;
    let memory_md = markdown::fit(memory_md);
    let mut profile = ports
        .store
        .profile(user)
        .await?
        .ok_or_else(|| StageError::Corrupt("the quick pass left no profile".into()))?;

    // The sections again, with MEMORY and a wider sample; the quick pass's stay if this fails.
    let conversations = import_blob(user, import_id, CONVERSATIONS_BLOB)?;
    let file = ports.blobs.open(&conversations).await?;
    let now = ports.clock.now();
    let options = SampleOptions {
        max_conversations: REGENERATION_CONVERSATIONS,
        ..crate::budgets::sample_options(&ports.llm.info())
    };
    let gathered = blocking(move || gather(file, options, now)).await?;
    let mut regen_usage = Usage::default();
    match quick_pass(ports, user, import_id, gathered, Some(memory_md.clone())).await {
        Ok((regenerated, usage, true)) => {
            regen_usage = usage;
            profile.sections = regenerated.sections;
            profile.written_by = regenerated.written_by;
        }
        Ok((regenerated, usage, false)) => {
            regen_usage = usage;
            note(
                &mut profile.notes,
                format!(
                    "The sections from the quick pass were kept: writing them again with \
                     MEMORY went wrong ({})",
                    regenerated.notes.join(" ")
                ),
            );
        }
        Err(e) => {
            warn!(error = %e, "regenerating the sections failed; the quick pass's stay");
            note(
                &mut profile.notes,
                format!(
                    "The sections from the quick pass were kept: writing them again with \
                     MEMORY failed ({e})"
                ),
            );
        }
    }
    profile.memory_md = Some(memory_md);
    profile.chunk_index = Some(chunk_index.clone());
    profile.updated_at = ports.clock.now();
    profile.render(profile.updated_at);
    ports.store.put_profile(user, &profile).await?;
    drop_other_indexes(ports, user, &chunk_index).await;

    ports
        .store
        .record_usage(
            user,
            import_id,
            &format!("finalize/{}", run.attempt),
            &ImportUsage {
                // Writing the sections again is a profile call, like the quick pass.
                quick_pass: regen_usage,
                memory: memory_usage,
                cost_usd: memory_usage.cost_usd + regen_usage.cost_usd,
                ..ImportUsage::default()
            },
        )
        .await?;
    let now = ports.clock.now();
    let attempt = run.attempt;
    let state = update_state(ports.store.as_ref(), user, |s| {
        s.complete_full_pass(import_id, attempt, now)
    })
    .await?;
    if let Some(token) = &state.full_pass.task_token {
        let output = serde_json::json!({"import_id": import_id, "facts": memory.len()});
        super::report_success(ports, token, &output).await?;
    }
    drop_earlier_imports(ports, user, import_id).await;
    info!(
        raw_facts = raw_count,
        facts = memory.len(),
        seconds = started.elapsed().as_secs_f64(),
        "full pass complete"
    );
    Ok(())
}

/// The blobs of the person's other imports (their exports, conversations and batches), gone
/// once this one is complete: they were kept for a retry that can no longer come. A failure
/// leaves them to the next completion.
async fn drop_earlier_imports(ports: &Ports, user: &UserId, import_id: &str) {
    let names = match ports.blobs.list(user, "imports/").await {
        Ok(names) => names,
        Err(e) => {
            warn!(error = %e, "could not list earlier imports' blobs");
            return;
        }
    };
    let mut others: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_prefix("imports/")?.split('/').next())
        .filter(|id| *id != import_id)
        .collect();
    others.dedup();
    for id in others {
        if let Err(e) = ports
            .blobs
            .delete_prefix(user, &format!("imports/{id}/"))
            .await
        {
            warn!(error = %e, import = id, "could not delete an earlier import's blobs");
        }
    }
}

/// MEMORY from the model, checked (every heading, no placeholder; tried three times), else
/// written from the facts by the template. Without a model, the template.
async fn write_memory(ports: &Ports, memory: &[crate::memory::MemoryFact]) -> (String, Usage) {
    let template = markdown::render(memory);
    if ports.llm.info().offline {
        return (template, Usage::default());
    }
    let request = MemoryRequest {
        facts: memory
            .iter()
            .take(markdown::MAX_PER_HEADING * 12)
            .cloned()
            .collect(),
    };
    let mut usage = Usage::default();
    for attempt in 1..=3 {
        match ports.llm.write_memory(&request).await {
            Ok(reply) => {
                usage.add(&reply.usage);
                if markdown::is_usable(&reply.value) {
                    return (reply.value, usage);
                }
                warn!(
                    attempt,
                    "the model's MEMORY lacks a heading or is a placeholder"
                );
            }
            Err(e) => {
                warn!(attempt, error = %e, "the model could not write MEMORY");
                break;
            }
        }
    }
    (template, usage)
}

/// Adds a note once: a finalize that runs again does not repeat itself.
fn note(notes: &mut Vec<String>, note: String) {
    if !notes.contains(&note) {
        notes.push(note);
    }
}

/// Of each chunk, the person's words (this many characters at most) go into the index.
const INDEXED_CHUNK_CHARS: usize = 1_500;

/// Writes the index of conversation chunks chat ranks against (with the facts, which it
/// indexes from the store): the person's words of every chunk of the run. Returns its blob.
async fn build_index(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    tombstones: &[Tombstone],
) -> Result<String, StageError> {
    use crate::relevance::{Doc, RelevanceIndex};
    let batches = ports
        .store
        .run_progress(user, run)
        .await?
        .map_or(0, |p| p.batches_total);
    // Batches are read LOAD_AT_ONCE at a time (a 2 GB export has tens of thousands), each
    // kept only as the person's words that go into the index.
    let mut loaded: Vec<(u32, Vec<Doc>)> = Vec::new();
    let all: Vec<u32> = (1..batches).collect();
    for group in all.chunks(LOAD_AT_ONCE) {
        let mut reads = tokio::task::JoinSet::new();
        for &batch in group {
            let (ports, user, run) = (ports.clone(), user.clone(), run.clone());
            reads.spawn(
                async move { (batch, super::facts::load(&ports, &user, &run, batch).await) },
            );
        }
        while let Some(read) = reads.join_next().await {
            // A batch whose blob is gone (its job dead-lettered long ago) is left out, not fatal.
            let (batch, Ok(chunks)) = read.map_err(|e| StageError::Join(e.to_string()))? else {
                continue;
            };
            loaded.push((batch, index_docs(chunks, tombstones)));
        }
    }
    loaded.sort_by_key(|(batch, _)| *batch);
    let chunks: Vec<Doc> = loaded.into_iter().flat_map(|(_, docs)| docs).collect();
    let index = RelevanceIndex::new(chunks);
    let name = crate::relevance::new_index_blob();
    let key = crate::ports::BlobKey::new(user, &name)?;
    ports.blobs.put(&key, index.to_jsonl()).await?;
    Ok(name)
}

/// Batches read at once when the index is built.
const LOAD_AT_ONCE: usize = 16;

/// The person's words of each chunk, as the index holds them; buried excerpts left out.
fn index_docs(
    chunks: Vec<crate::chunker::Chunk>,
    tombstones: &[Tombstone],
) -> Vec<crate::relevance::Doc> {
    use crate::relevance::{Doc, DocKind};
    let mut docs = Vec::new();
    for c in chunks {
        let text: String = c
            .person_parts()
            .map(|(_, words)| words)
            .collect::<Vec<_>>()
            .join("\n")
            .chars()
            .take(INDEXED_CHUNK_CHARS)
            .collect();
        let id = format!("{}#{}", c.conversation_id, c.index);
        if text.trim().is_empty()
            || tombstones
                .iter()
                .any(|t| t.buries_excerpt(&id, &c.conversation_id, &text))
        {
            continue;
        }
        docs.push(Doc {
            id,
            kind: DocKind::Chunk,
            text,
            message_ids: c
                .parts
                .iter()
                .filter(|p| p.person)
                .map(|p| p.message_id.clone())
                .collect(),
            conversation_id: c.conversation_id,
            at: c.observed_at,
        });
    }
    docs
}

/// Deletes the chunk indexes of earlier runs and imports (what is left is only disk).
pub(super) async fn drop_other_indexes(ports: &Ports, user: &UserId, keep: &str) {
    let Ok(names) = ports.blobs.list(user, crate::relevance::INDEX_DIR).await else {
        return;
    };
    for name in names.iter().filter(|n| n.as_str() != keep) {
        if let Ok(key) = crate::ports::BlobKey::new(user, name) {
            if let Err(e) = ports.blobs.delete(&key).await {
                warn!(error = %e, blob = %name, "could not delete an old chunk index");
            }
        }
    }
}
