//! The full pass's plan: every conversation chunked, the chunks packed and stored as batches,
//! one job per batch. The facts the export already held (custom instructions, ChatGPT's memory) are
//! recorded at once as batch 0.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use tracing::{info, info_span, Instrument};

use super::packs::Packer;
use super::{
    answered, claim_hold, exactly_once, import_blob, update_state, StageError, CONVERSATIONS_BLOB,
};
use crate::chunker::{chunk_conversation, Chunk};
use crate::conversation::from_json_line;
use crate::import_state::FullPassStatus;
use crate::jobs::Job;
use crate::memory::seed::seed_facts;
use crate::memory::Fact;
use crate::ports::store::{BatchOutcome, RunId, RunPlan, RunProgress};
use crate::ports::{BlobKey, Ports, UserId};

/// Jobs sent per call (SQS takes ten at a time).
const SEND_GROUP: usize = 10;
/// Batches copied at once when a retry continues a run.
const COPY_AT_ONCE: usize = 16;
/// Batches stored at once while the plan is made.
const WRITE_AT_ONCE: usize = 16;

pub(crate) fn batch_blob(user: &UserId, run: &RunId, batch: u32) -> Result<BlobKey, StageError> {
    Ok(import_blob(
        user,
        &run.import_id,
        &format!("full-pass-{}/batch-{batch:06}.json", run.attempt),
    )?)
}

/// A full-pass job with the supervisor's token (on AWS, the state machine's Full state): the
/// run may already be under way from the job the import queued itself, so the token is
/// recorded on the run and answered at once if the run already ended; then the job runs
/// like any other (planning is done once).
pub(crate) async fn adopt_token(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    attempt: u32,
    token: &str,
    deadline: Option<time::OffsetDateTime>,
) -> Result<(), StageError> {
    let state = update_state(ports.store.as_ref(), user, |s| {
        if s.import_id == import_id
            && s.full_pass.attempt == attempt
            && s.full_pass.status == FullPassStatus::Processing
        {
            s.full_pass.task_token = Some(token.to_owned());
        }
        Ok(())
    })
    .await;
    let state = match state {
        Ok(s) => s,
        Err(StageError::NoImport) => {
            let gone = ports
                .supervisor
                .fail(token, "Superseded", "the person's data is gone")
                .await;
            return answered(gone);
        }
        Err(e) => return Err(e),
    };
    if state.import_id != import_id || state.full_pass.attempt != attempt {
        let cause = "a newer import or full pass replaced this one";
        return answered(ports.supervisor.fail(token, "Superseded", cause).await);
    }
    match state.full_pass.status {
        FullPassStatus::Complete => {
            let output = serde_json::json!({"import_id": import_id, "attempt": attempt});
            answered(ports.supervisor.succeed(token, &output).await)
        }
        FullPassStatus::Failed | FullPassStatus::None => {
            let cause = state
                .full_pass
                .error
                .as_deref()
                .unwrap_or("the full pass failed");
            answered(ports.supervisor.fail(token, "FullPassFailed", cause).await)
        }
        FullPassStatus::Processing => run(ports, user, import_id, attempt, deadline).await,
    }
}

pub(crate) async fn run(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    attempt: u32,
    deadline: Option<time::OffsetDateTime>,
) -> Result<(), StageError> {
    let span = info_span!("full_pass", user = %user, import_id, attempt);
    async {
        let Some(state) = ports.store.import_state(user).await? else {
            return Ok(());
        };
        let state = state.value;
        if state.import_id != import_id
            || state.full_pass.attempt != attempt
            || state.full_pass.status != FullPassStatus::Processing
        {
            return Ok(());
        }
        let run = RunId {
            import_id: import_id.to_owned(),
            attempt,
        };
        let now = ports.clock.now();
        update_state(ports.store.as_ref(), user, |s| {
            s.full_pass_began(import_id, attempt, now)
        })
        .await?;
        let key = format!("plan/{import_id}/{}", run.attempt);
        let hold = claim_hold(
            ports.clock.as_ref(),
            deadline,
            crate::ports::QueueName::FullPass,
        );
        exactly_once(
            ports.store.as_ref(),
            ports.clock.as_ref(),
            user,
            &key,
            hold,
            plan(ports, user, &run, state.full_pass.task_token.as_deref()),
        )
        .await
    }
    .instrument(span)
    .await
}

/// The supervisor's token heartbeaten every 20 s while a long step runs (a token nobody
/// waits for any more is answered).
struct Beat<'t> {
    token: Option<&'t str>,
    last: std::time::Instant,
}

impl<'t> Beat<'t> {
    fn new(token: Option<&'t str>) -> Self {
        Beat {
            token,
            last: std::time::Instant::now(),
        }
    }

    async fn now_and_then(&mut self, ports: &Ports) -> Result<(), StageError> {
        if let (Some(token), true) = (self.token, self.last.elapsed() > Duration::from_secs(20)) {
            answered(ports.supervisor.heartbeat(token).await)?;
            self.last = std::time::Instant::now();
        }
        Ok(())
    }
}

/// Moves the run's progress, queues a job for each of `pending` batches, and the finish when
/// none is left.
async fn start_batches(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    progress: RunProgress,
    pending: Vec<u32>,
) -> Result<(), StageError> {
    super::facts::show_progress(ports, user, run, &progress).await?;
    let jobs: Vec<Job> = pending
        .into_iter()
        .map(|batch| Job::FactBatch {
            user: user.clone(),
            import_id: run.import_id.clone(),
            attempt: run.attempt,
            batch,
        })
        .collect();
    for group in jobs.chunks(SEND_GROUP) {
        ports
            .queue
            .send(crate::ports::QueueName::Facts, group)
            .await?;
    }
    if progress.complete() {
        super::facts::queue_finalize(ports, user, run).await?;
    }
    Ok(())
}

/// A retry continues the run before it, when that one was planned whole (its export's own
/// facts recorded, every batch's chunks still stored): the same batches (their chunks copied
/// over), those it read whole taken over as they are (their usage not counted again), a job
/// for each of the others. Only what is missing is paid for. False when it cannot: the retry
/// plans afresh.
async fn continue_run(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    previous: &RunId,
    planned: RunProgress,
    task_token: Option<&str>,
) -> Result<bool, StageError> {
    let started = std::time::Instant::now();
    let batches = planned.batches_total;
    if ports.store.batch_record(user, previous, 0).await?.is_none() {
        return Ok(false);
    }
    let numbers: Vec<u32> = (1..batches).collect();
    for group in numbers.chunks(COPY_AT_ONCE) {
        let mut copies = tokio::task::JoinSet::new();
        for &batch in group {
            let (from, to) = (
                batch_blob(user, previous, batch)?,
                batch_blob(user, run, batch)?,
            );
            let blobs = std::sync::Arc::clone(&ports.blobs);
            copies.spawn(async move { blobs.put(&to, blobs.get(&from).await?).await });
        }
        while let Some(copied) = copies.join_next().await {
            match copied.map_err(|e| StageError::Join(e.to_string()))? {
                Ok(()) => {}
                Err(crate::ports::BlobError::NotFound(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
    }
    ports
        .store
        .plan_run(
            user,
            run,
            RunPlan {
                batches,
                chunks: planned.chunks_total,
            },
        )
        .await?;
    let mut pending = Vec::new();
    let mut progress = ports
        .store
        .run_progress(user, run)
        .await?
        .ok_or_else(|| StageError::Corrupt("the retry's plan is not there".into()))?;
    let mut beat = Beat::new(task_token);
    for batch in 0..batches {
        let record = ports.store.batch_record(user, previous, batch).await?;
        match record {
            // Batch 0 holds the export's own facts: it is whole by nature.
            Some(r) if r.whole() || batch == 0 => {
                let outcome = BatchOutcome {
                    facts: r.facts,
                    chunks: r.chunks,
                    ..BatchOutcome::default()
                };
                progress = ports.store.record_batch(user, run, batch, &outcome).await?;
            }
            _ => pending.push(batch),
        }
        beat.now_and_then(ports).await?;
    }
    let asked = pending.len();
    start_batches(ports, user, run, progress, pending).await?;
    info!(
        batches,
        taken_over = batches as usize - asked,
        asked_again = asked,
        seconds = started.elapsed().as_secs_f64(),
        "full pass continues the run before it"
    );
    Ok(true)
}

async fn plan(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    task_token: Option<&str>,
) -> Result<(), StageError> {
    let started = std::time::Instant::now();
    if run.attempt > 1 {
        let previous = RunId {
            import_id: run.import_id.clone(),
            attempt: run.attempt - 1,
        };
        if let Some(planned) = ports.store.run_progress(user, &previous).await? {
            if continue_run(ports, user, run, &previous, planned, task_token).await? {
                return Ok(());
            }
        }
    }
    let conversations = import_blob(user, &run.import_id, CONVERSATIONS_BLOB)?;
    let file = ports.blobs.open(&conversations).await?;
    let now = ports.clock.now();
    // A thread chunks; this task stores each batch as it comes.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Chunk>>(4);
    let options = crate::budgets::chunk_options(&ports.llm.info());
    let pack_tokens = crate::budgets::pack_tokens(&ports.fact_llm.info());
    // Spawned now (not lazily, as an async fn would): the loop below waits on its batches.
    let chunking = tokio::task::spawn_blocking(move || -> Result<Vec<Fact>, StageError> {
        let mut seeds: Vec<Fact> = Vec::new();
        let mut packer = Packer::new(pack_tokens);
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        let mut line_no = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            line_no += 1;
            let c =
                from_json_line(&line, line_no).map_err(|e| StageError::Corrupt(e.to_string()))?;
            seeds.extend(seed_facts(&c));
            for chunk in chunk_conversation(&c, &options, now) {
                if let Some(pack) = packer.push(chunk) {
                    if tx.blocking_send(pack).is_err() {
                        return Ok(seeds);
                    }
                }
            }
        }
        if let Some(pack) = packer.finish() {
            let _ = tx.blocking_send(pack);
        }
        Ok(seeds)
    });
    let mut batches = 0u32;
    let mut chunks = 0u64;
    let mut beat = Beat::new(task_token);
    // Batches are stored WRITE_AT_ONCE at a time: a 2 GB export makes thousands, one after
    // another a good part of the function's ten minutes.
    let mut writes = tokio::task::JoinSet::new();
    while let Some(batch) = rx.recv().await {
        batches += 1;
        chunks += batch.len() as u64;
        let bytes = serde_json::to_vec(&batch).map_err(|e| StageError::Corrupt(e.to_string()))?;
        let (key, blobs) = (
            batch_blob(user, run, batches)?,
            std::sync::Arc::clone(&ports.blobs),
        );
        writes.spawn(async move { blobs.put(&key, bytes).await });
        while writes.len() >= WRITE_AT_ONCE {
            if let Some(written) = writes.join_next().await {
                written.map_err(|e| StageError::Join(e.to_string()))??;
            }
        }
        beat.now_and_then(ports).await?;
    }
    while let Some(written) = writes.join_next().await {
        written.map_err(|e| StageError::Join(e.to_string()))??;
    }
    let seeds = chunking
        .await
        .map_err(|e| StageError::Join(e.to_string()))??;
    // Batch 0 holds the seeds; batches 1..=n the chunks.
    ports
        .store
        .plan_run(
            user,
            run,
            RunPlan {
                batches: batches + 1,
                chunks,
            },
        )
        .await?;
    let mut seeds = seeds;
    crate::memory::seed::dedup_seeds(&mut seeds);
    super::facts::fit_marker(&mut seeds);
    let seed_count = seeds.len();
    let progress = ports
        .store
        .record_batch(
            user,
            run,
            0,
            &BatchOutcome {
                facts: seeds,
                ..BatchOutcome::default()
            },
        )
        .await?;
    start_batches(ports, user, run, progress, (1..=batches).collect()).await?;
    info!(
        batches,
        chunks,
        seed_facts = seed_count,
        seconds = started.elapsed().as_secs_f64(),
        "full pass planned"
    );
    Ok(())
}
