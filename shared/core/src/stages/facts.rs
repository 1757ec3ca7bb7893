//! A batch of chunks → facts with provenance, recorded with the batch's done-marker.

use tracing::{info, info_span, warn, Instrument};

use super::full_pass::batch_blob;
use super::{update_state, StageError};
use crate::chunker::Chunk;
use crate::import_state::FullPassStatus;
use crate::jobs::Job;
use crate::memory::words::content_words;
use crate::memory::{Fact, Origin, Source};
use crate::model::questions;
use crate::ports::llm::{ExtractedFact, FactRequest, LlmError};
use crate::ports::store::{BatchOutcome, ImportStore, RunId};
use crate::ports::{Ports, UserId};
use crate::tokens::estimate_tokens;

const MAX_FACT_CHARS: usize = 300;
const MAX_FACTS_PER_CHUNK: usize = 40;
const MIN_EVIDENCE_CHARS: usize = 12;

/// A fact as one plain line: no newlines or markdown that could add headings to MEMORY.
fn one_line(text: &str) -> String {
    let joined = crate::memory::clean_text(text);
    joined
        .trim_start_matches(['#', '-', '*', '>', ' '])
        .chars()
        .take(MAX_FACT_CHARS)
        .collect()
}

pub(crate) async fn run(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    batch: u32,
) -> Result<(), StageError> {
    let span = info_span!("fact_batch", user = %user, import_id = %run.import_id, attempt = run.attempt, batch);
    async {
        if !current(ports.store.as_ref(), user, run).await? {
            return Ok(());
        }
        if super::worker::fail_if_overdue(ports, user, run).await? {
            return Ok(());
        }
        if ports.store.batch_done(user, run, batch).await? {
            // A redelivery: the facts are in; make sure the finish was queued.
            return finish_if_complete(ports, user, run).await;
        }
        let chunks = load(ports, user, run, batch).await?;
        let mut outcome = BatchOutcome {
            chunks: chunks.len() as u64,
            ..BatchOutcome::default()
        };
        for chunk in chunks {
            let request = FactRequest { chunk };
            outcome.input_tokens_sent += u64::from(
                estimate_tokens(questions::FACTS_SYSTEM)
                    + estimate_tokens(&questions::facts_prompt(&request)),
            );
            match ports.fact_llm.extract_facts(&request).await {
                Ok(reply) => {
                    outcome.usage.add(&reply.usage);
                    outcome.facts.extend(with_provenance(&request.chunk, reply.value));
                }
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e @ LlmError::NotServed(_)) => {
                    // Every other chunk would fail the same way: the run fails now, saying why.
                    let reason = format!("fact extraction cannot run: {e}; then retry the full pass");
                    let now = ports.clock.now();
                    return super::worker::fail_full_pass(ports, user, run, &reason, now).await;
                }
                Err(e) => {
                    warn!(error = %e, conversation = %request.chunk.conversation_id, "no facts from this chunk");
                    outcome.failed_chunks += 1;
                }
            }
        }
        record(ports, user, run, batch, &outcome).await
    }
    .instrument(span)
    .await
}

/// Records the batch, moves the progress, and queues the finish when it was the last.
pub(crate) async fn record(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    batch: u32,
    outcome: &BatchOutcome,
) -> Result<(), StageError> {
    let progress = ports.store.record_batch(user, run, batch, outcome).await?;
    info!(
        facts = outcome.facts.len(),
        failed_chunks = outcome.failed_chunks,
        done = progress.batches_done,
        total = progress.batches_total,
        "batch recorded"
    );
    let now = ports.clock.now();
    let import_id = run.import_id.as_str();
    let state = update_state(ports.store.as_ref(), user, |s| {
        s.full_pass_progress(
            import_id,
            run.attempt,
            progress.chunks_done,
            progress.chunks_total,
            now,
        )
    })
    .await?;
    // Each recorded batch tells the supervisor the full pass is alive; a lost heartbeat
    // costs nothing, so it never fails the batch.
    if let Some(token) = &state.full_pass.task_token {
        if let Err(e) = ports.supervisor.heartbeat(token).await {
            warn!(error = %e, "the supervisor did not take the heartbeat");
        }
    }
    if progress.complete() {
        queue_finalize(ports, user, run).await?;
    }
    Ok(())
}

async fn finish_if_complete(ports: &Ports, user: &UserId, run: &RunId) -> Result<(), StageError> {
    if ports
        .store
        .run_progress(user, run)
        .await?
        .is_some_and(|p| p.complete())
    {
        queue_finalize(ports, user, run).await?;
    }
    Ok(())
}

pub(crate) async fn queue_finalize(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
) -> Result<(), StageError> {
    let job = Job::Finalize {
        user: user.clone(),
        import_id: run.import_id.clone(),
        attempt: run.attempt,
    };
    ports.queue.send(job.queue(), &[job]).await?;
    Ok(())
}

/// Whether the job belongs to the import's running full pass.
pub(crate) async fn current(
    imports: &dyn ImportStore,
    user: &UserId,
    run: &RunId,
) -> Result<bool, StageError> {
    Ok(imports.import_state(user).await?.is_some_and(|s| {
        s.value.import_id == run.import_id
            && s.value.full_pass.status == FullPassStatus::Processing
            && s.value.full_pass.attempt == run.attempt
    }))
}

pub(crate) async fn load(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    batch: u32,
) -> Result<Vec<Chunk>, StageError> {
    let bytes = ports.blobs.get(&batch_blob(user, run, batch)?).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StageError::Corrupt(format!("chunk batch {batch}: {e}")))
}

/// The model's facts, each tied to the message of the person's it rests on. A fact whose
/// evidence is nowhere in the person's words is dropped: it came from the assistant's lines
/// or from nowhere.
pub fn with_provenance(chunk: &Chunk, extracted: Vec<ExtractedFact>) -> Vec<Fact> {
    let mut facts = Vec::new();
    for e in extracted.into_iter().take(MAX_FACTS_PER_CHUNK) {
        let text = one_line(&e.text);
        if text.is_empty() {
            continue;
        }
        let evidence = e.evidence.as_deref().unwrap_or(&text);
        let Some(part) = find_part(chunk, evidence) else {
            continue;
        };
        // The fact must say something of what it rests on.
        let said = content_words(&chunk.text[part.start as usize..part.end as usize]);
        if !content_words(&text)
            .iter()
            .any(|w| said.binary_search(w).is_ok())
        {
            continue;
        }
        facts.push(Fact {
            category: e.category,
            text,
            subject: e.subject,
            source: Source {
                origin: Origin::Conversation,
                conversation_id: chunk.conversation_id.clone(),
                message_ids: vec![part.message_id.clone()],
                observed_at: part.at.or(chunk.observed_at),
            },
        });
    }
    facts
}

/// The person's part holding `evidence`: verbatim, else the one sharing most of its words
/// (at least half).
fn find_part<'c>(chunk: &'c Chunk, evidence: &str) -> Option<&'c crate::chunker::ChunkPart> {
    let needle = evidence.trim().to_lowercase();
    // "a" is in every message: evidence must be a phrase.
    if needle.chars().count() < MIN_EVIDENCE_CHARS || content_words(&needle).len() < 2 {
        return None;
    }
    if let Some((part, _)) = chunk
        .person_parts()
        .find(|(_, words)| words.to_lowercase().contains(&needle))
    {
        return Some(part);
    }
    let wanted = content_words(evidence);
    chunk
        .person_parts()
        .map(|(part, words)| {
            let have = content_words(words);
            let shared = wanted
                .iter()
                .filter(|w| have.binary_search(w).is_ok())
                .count();
            (shared, part)
        })
        .filter(|(shared, _)| *shared * 2 >= wanted.len().max(1) && *shared > 0)
        .max_by_key(|(shared, _)| *shared)
        .map(|(_, part)| part)
}
