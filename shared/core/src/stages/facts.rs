//! A batch of chunks → facts with provenance, recorded with the batch's done-marker.

use tracing::{info, info_span, warn, Instrument};

use super::full_pass::batch_blob;
use super::packs::worth_asking;
use super::{update_state, StageError};
use crate::chunker::Chunk;
use crate::import_state::FullPassStatus;
use crate::jobs::Job;
use crate::memory::not_a_fact::is_not_a_fact;
use crate::memory::words::content_words;
use crate::memory::{Fact, Origin, Source};
use crate::model::{questions, schemas};
use crate::ports::llm::{ExtractedFact, FactRequest, LlmError, PackFacts};
use crate::ports::store::{BatchOutcome, ImportStore, RunId};
use crate::ports::{BlobKey, Ports, UserId};
use crate::tokens::estimate_tokens;

const MAX_FACT_CHARS: usize = 300;
/// Bytes of facts one batch records: its done-marker holds them in one DynamoDB item (400 KB
/// at most), with room for the key. Only a hostile pack comes near it: a fact with its ids is
/// about half a kilobyte, and a pack yields a few dozen.
pub const MARKER_FACT_BYTES: usize = 300_000;
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
        // The others are in the batch for the relevance index only.
        let asked: Vec<Chunk> = chunks.iter().filter(|c| worth_asking(c)).cloned().collect();
        let partial = partial_blob(user, run, batch)?;
        let (mut outcome, again) = match resume(ports, &partial).await? {
            // The pack was answered before this job came back: only its leftovers are asked.
            Some(Partial { outcome, remaining }) => {
                let again: Vec<&Chunk> = asked
                    .iter()
                    .filter(|c| remaining.contains(&(c.conversation_id.clone(), c.index)))
                    .collect();
                (outcome, again)
            }
            None => {
                let mut outcome = BatchOutcome {
                    chunks: chunks.len() as u64,
                    ..BatchOutcome::default()
                };
                match ask_pack(ports, &asked, &mut outcome).await? {
                    Ok(again) => (outcome, again),
                    Err(reason) => {
                        let now = ports.clock.now();
                        return super::worker::fail_full_pass(ports, user, run, &reason, now).await;
                    }
                }
            }
        };
        if let Some(reason) = ask_alone(ports, &partial, again, &mut outcome).await? {
            let now = ports.clock.now();
            return super::worker::fail_full_pass(ports, user, run, &reason, now).await;
        }
        fit_marker(&mut outcome.facts);
        record(ports, user, run, batch, &outcome).await?;
        // What the pack had answered is in the marker now.
        if let Err(e) = ports.blobs.delete(&partial).await {
            if !matches!(e, crate::ports::BlobError::NotFound(_)) {
                warn!(error = %e, "could not delete the batch's partial answer");
            }
        }
        Ok(())
    }
    .instrument(span)
    .await
}

/// A pack's answer kept while its leftovers are asked alone: a job that comes back (the model
/// throttled or down for a leftover) resumes from it instead of paying for the pack again.
#[derive(serde::Serialize, serde::Deserialize)]
struct Partial {
    outcome: BatchOutcome,
    /// The chunks still to ask alone: conversation and part.
    remaining: Vec<(String, u32)>,
}

fn partial_blob(user: &UserId, run: &RunId, batch: u32) -> Result<BlobKey, StageError> {
    Ok(super::import_blob(
        user,
        &run.import_id,
        &format!("full-pass-{}/batch-{batch:06}.partial.json", run.attempt),
    )?)
}

async fn resume(ports: &Ports, key: &BlobKey) -> Result<Option<Partial>, StageError> {
    match ports.blobs.get(key).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StageError::Corrupt(format!("a batch's partial answer: {e}"))),
        Err(crate::ports::BlobError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn keep(
    ports: &Ports,
    key: &BlobKey,
    outcome: &BatchOutcome,
    remaining: &[&Chunk],
) -> Result<(), StageError> {
    let partial = Partial {
        outcome: outcome.clone(),
        remaining: remaining
            .iter()
            .map(|c| (c.conversation_id.clone(), c.index))
            .collect(),
    };
    let bytes = serde_json::to_vec(&partial).map_err(|e| StageError::Corrupt(e.to_string()))?;
    Ok(ports.blobs.put(key, bytes).await?)
}

/// The pack's facts into `outcome`, in one call. Returns the chunks its answer left out or
/// garbled, to ask alone (none when the pack was one chunk: that one failed), or why the run
/// must fail when the model is not there.
async fn ask_pack<'c>(
    ports: &Ports,
    chunks: &'c [Chunk],
    outcome: &mut BatchOutcome,
) -> Result<Result<Vec<&'c Chunk>, String>, StageError> {
    if chunks.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let request = FactRequest {
        chunks: chunks.to_vec(),
    };
    let again: Vec<&Chunk> = match ask(ports, &request, outcome, true).await? {
        Asked::Answered(pack) => pack
            .into_iter()
            .zip(chunks)
            .filter_map(|(answer, chunk)| match answer {
                Some(facts) => {
                    outcome.facts.extend(with_provenance(chunk, facts));
                    None
                }
                None => Some(chunk),
            })
            .collect(),
        Asked::Failed(e) => {
            warn!(error = %e, chunks = chunks.len(), "no answer for the pack");
            chunks.iter().collect()
        }
        Asked::NotServed(reason) => return Ok(Err(reason)),
    };
    if chunks.len() == 1 {
        for chunk in again {
            failed(outcome, chunk);
        }
        return Ok(Ok(Vec::new()));
    }
    Ok(Ok(again))
}

/// Each leftover asked alone, once, the pack's answer kept first (and after each) so that a
/// job that comes back resumes there. Returns why the run must fail when the model is not
/// there.
async fn ask_alone(
    ports: &Ports,
    partial: &BlobKey,
    again: Vec<&Chunk>,
    outcome: &mut BatchOutcome,
) -> Result<Option<String>, StageError> {
    for (n, chunk) in again.iter().enumerate() {
        keep(ports, partial, outcome, &again[n..]).await?;
        let alone = FactRequest {
            chunks: vec![(*chunk).clone()],
        };
        match ask(ports, &alone, outcome, false).await? {
            Asked::Answered(mut pack) => match pack.pop().flatten() {
                Some(facts) => outcome.facts.extend(with_provenance(chunk, facts)),
                None => failed(outcome, chunk),
            },
            Asked::Failed(_) => failed(outcome, chunk),
            Asked::NotServed(reason) => return Ok(Some(reason)),
        }
    }
    Ok(None)
}

/// Keeps the facts that fit a batch's marker ([`MARKER_FACT_BYTES`]), in order, and says
/// how many did not.
pub fn fit_marker(facts: &mut Vec<Fact>) {
    let mut bytes = 0;
    let fits = facts
        .iter()
        .take_while(|f| {
            bytes += serde_json::to_vec(f).map_or(usize::MAX / 2, |v| v.len() + 1);
            bytes <= MARKER_FACT_BYTES
        })
        .count();
    if fits < facts.len() {
        warn!(
            kept = fits,
            dropped = facts.len() - fits,
            "more facts than a batch's marker holds"
        );
        facts.truncate(fits);
    }
}

/// What one call gave: the pack's facts, a failure of these chunks, or a model that is not
/// there (the run fails, saying why). A retryable error is the job's: it comes back later.
enum Asked {
    Answered(PackFacts),
    Failed(LlmError),
    NotServed(String),
}

/// `within_quota`: the call takes its tokens from the fact model's quota first. A chunk asked
/// again alone does not: its pack already took the minute's share, and a refusal would send
/// back the whole batch, its answered pack paid again.
async fn ask(
    ports: &Ports,
    request: &FactRequest,
    outcome: &mut BatchOutcome,
    within_quota: bool,
) -> Result<Asked, StageError> {
    let input = u64::from(
        estimate_tokens(questions::facts_system(request.chunks.len()))
            + estimate_tokens(&questions::facts_prompt(request)),
    );
    // What Bedrock reserves for a call: its input (the schema's too) and `maxTokens`.
    let n = request.chunks.len();
    let reserved = input
        + u64::from(estimate_tokens(&schemas::facts_schema(n).to_string()))
        + u64::from(schemas::facts_answer_tokens(n));
    let mut taken = 0;
    if let Some(quota) = ports.fact_quota.as_ref().filter(|_| within_quota) {
        if !quota.take(ports.clock.now(), reserved).await? {
            return Err(LlmError::Throttled(format!(
                "the fact model's {} tokens a minute are taken",
                quota.tokens_per_minute
            ))
            .into());
        }
        taken = reserved;
    }
    outcome.input_tokens_sent += input;
    match ports.fact_llm.extract_facts(request).await {
        Ok(reply) => {
            // A repair is a call of its own, and a chunk asked alone took nothing first:
            // what was spent beyond what was taken counts in the minute too.
            if let Some(quota) = &ports.fact_quota {
                let spent = reserved * reply.usage.calls.max(1);
                if spent > taken {
                    quota.take(ports.clock.now(), spent - taken).await?;
                }
            }
            outcome.usage.add(&reply.usage);
            Ok(Asked::Answered(reply.value))
        }
        Err(e) if e.is_retryable() => Err(e.into()),
        // Every other chunk would fail the same way.
        Err(e @ LlmError::NotServed(_)) => Ok(Asked::NotServed(format!(
            "fact extraction cannot run: {e}; then retry the full pass"
        ))),
        Err(e) => Ok(Asked::Failed(e)),
    }
}

fn failed(outcome: &mut BatchOutcome, chunk: &Chunk) {
    warn!(conversation = %chunk.conversation_id, part = chunk.index, "no facts from this chunk: its answer was missing or unreadable");
    outcome.failed_chunks += 1;
}

/// Times the import's progress moves over a pass, at most (and every [`PROGRESS_EVERY`]).
const PROGRESS_STEPS: u64 = 100;
/// The longest the import's progress waits while batches are recorded: far inside
/// [`crate::import_state::STALLED_AFTER`], which it keeps from firing.
const PROGRESS_EVERY: time::Duration = time::Duration::seconds(20);

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
    // The import's one item (and the supervisor's heartbeat) move only every
    // 1/PROGRESS_STEPS of the pass or PROGRESS_EVERY, and at its end: written by every batch
    // of many workers at once, it would be the pass's hot spot, each write retried against
    // the others'.
    let due = progress.complete()
        || ports.store.import_state(user).await?.is_none_or(|s| {
            let shown = &s.value.full_pass;
            let step = (progress.chunks_total / PROGRESS_STEPS).max(1);
            progress.chunks_done >= shown.chunks_done + step
                || shown
                    .progressed_at
                    .is_none_or(|t| now - t >= PROGRESS_EVERY)
        });
    if !due {
        return Ok(());
    }
    let state = show_progress(ports, user, run, &progress).await?;
    // It tells the supervisor the full pass is alive; a lost heartbeat costs nothing, so it
    // never fails the batch.
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

/// The run's progress, where the person sees it (the import's state).
pub(crate) async fn show_progress(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    progress: &crate::ports::store::RunProgress,
) -> Result<crate::import_state::ImportState, StageError> {
    let now = ports.clock.now();
    let import_id = run.import_id.as_str();
    update_state(ports.store.as_ref(), user, |s| {
        s.full_pass_progress(
            import_id,
            run.attempt,
            progress.chunks_done,
            progress.chunks_total,
            now,
        )
    })
    .await
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
/// or from nowhere, and so is one that is a question, a request or a reaction
/// ([`is_not_a_fact`]).
pub fn with_provenance(chunk: &Chunk, extracted: Vec<ExtractedFact>) -> Vec<Fact> {
    let mut facts = Vec::new();
    for e in extracted.into_iter().take(MAX_FACTS_PER_CHUNK) {
        let text = one_line(&e.text);
        if text.is_empty() {
            continue;
        }
        let evidence = e.evidence.as_deref().unwrap_or(&text);
        // A question, a request or a reaction to the assistant is no fact, however the
        // model words it (a small model copies the person's message, "Person:" and all).
        let copied = text
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("person:"));
        if copied || repeats_itself(&text) || is_not_a_fact(&text) || is_not_a_fact(evidence) {
            continue;
        }
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

/// A fact that says the same sentence twice: a small model looping ("I am your first mate. I am
/// your first mate. …"), not a statement.
fn repeats_itself(text: &str) -> bool {
    let mut seen = std::collections::HashSet::new();
    text.split(['.', '!', '?'])
        .map(|s| s.trim().to_lowercase())
        // "Has a B.A. and an M.A.": abbreviations repeat pieces; sentences have words.
        .filter(|s| s.split_whitespace().count() >= 3)
        .any(|s| !seen.insert(s))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Category;

    #[test]
    fn a_models_fact_resting_on_a_question_request_reaction_a_copy_or_a_loop_is_dropped() {
        let chunk = Chunk::of_message(
            "c",
            "m",
            "I moved to Porto in May. I love number 8! Can you plan my week?",
            None,
        );
        let fact = |text: &str, evidence: &str| ExtractedFact {
            category: Category::Life,
            text: text.into(),
            subject: None,
            evidence: Some(evidence.into()),
        };
        let kept = with_provenance(
            &chunk,
            vec![
                fact("Moved to Porto in May.", "I moved to Porto in May"),
                fact("Loves number 8.", "I love number 8"),
                fact("Wants their week planned.", "Can you plan my week?"),
                fact(
                    "Person: I moved to Porto in May.",
                    "I moved to Porto in May",
                ),
            ],
        );
        let texts: Vec<&str> = kept.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts, vec!["Moved to Porto in May."]);
    }
}
