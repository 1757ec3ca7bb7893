//! One entry for every job, as every world's workers call it: the local runtime's tasks and
//! the Lambda functions alike.

use std::time::Duration;

use tracing::{info, warn};

use super::{facts, finalize, full_pass, import, update_state, StageError};
use crate::jobs::Job;
use crate::ports::store::{BatchOutcome, RunId};
use crate::ports::{Delivery, LlmError, Ports, UserId};

/// A message received this many times (failing each time with an error that might pass: the
/// model or the store down for minutes) goes to the dead letters (see [`dead_letter`]).
pub const MAX_RECEIVES: u32 = 10;

/// How long a job the model throttled waits, plus up to [`THROTTLED_JITTER_SECS`] so that the
/// waiting jobs do not come back together.
pub const THROTTLED_WAIT: Duration = Duration::from_secs(60);
const THROTTLED_JITTER_SECS: u64 = 30;

/// Does the job. `Ok`: acknowledge it (done, or failed for good and recorded as such).
/// `Err`: leave it; it comes back after its visibility timeout (the error passes).
pub async fn handle(ports: &Ports, delivery: &Delivery) -> Result<(), StageError> {
    // A person being forgotten gets no more work done: what it wrote would outlive them.
    if !matches!(delivery.job, Job::Forget { .. })
        && ports.store.forgotten(delivery.job.user()).await?.is_some()
    {
        return Ok(());
    }
    let result = match &delivery.job {
        Job::Import {
            user,
            import_id,
            task_token,
        } => import::run(ports, user, import_id, task_token.as_deref()).await,
        Job::FullPass {
            user,
            import_id,
            attempt,
            task_token: Some(token),
        } => {
            full_pass::adopt_token(ports, user, import_id, *attempt, token, delivery.deadline).await
        }
        Job::FullPass {
            user,
            import_id,
            attempt,
            task_token: None,
        } => full_pass::run(ports, user, import_id, *attempt, delivery.deadline).await,
        Job::FactBatch {
            user,
            import_id,
            attempt,
            batch,
        } => facts::run(ports, user, &run_id(import_id, *attempt), *batch).await,
        Job::Finalize {
            user,
            import_id,
            attempt,
        } => finalize::run(ports, user, &run_id(import_id, *attempt), delivery.deadline).await,
        Job::SupervisorGaveUp {
            user,
            import_id,
            attempt,
            error,
            cause,
        } => supervisor_gave_up(ports, user, import_id, *attempt, error, cause).await,
        Job::Forget { user } => return super::forget::run(ports, user).await,
    };
    let result = match result {
        // The person was forgotten while the job ran: it has nothing left to do.
        Err(StageError::NoImport) => Ok(()),
        other => other,
    };
    if ports
        .store
        .import_state(delivery.job.user())
        .await?
        .is_none()
    {
        sweep_forgotten(ports, &delivery.job).await?;
    }
    match result {
        // The import or the run was replaced meanwhile: the job has nothing left to do.
        Err(e) if e.is_moot() => Ok(()),
        // The model's quota is spent for now: the job waits its turn as a new message, so
        // that waiting never counts toward the dead letters and never fails the import.
        Err(StageError::Llm(LlmError::Throttled(reason))) => {
            let delay =
                THROTTLED_WAIT + Duration::from_secs(fastrand::u64(0..THROTTLED_JITTER_SECS));
            info!(
                reason,
                wait_seconds = delay.as_secs(),
                "the model is throttled; the job waits"
            );
            ports
                .queue
                .send_later(delivery.job.queue(), &delivery.job, delay)
                .await?;
            Ok(())
        }
        Err(e) if !e.is_retryable() => {
            // Failed for good: the job's import or full pass records why.
            warn!(error = %e, job = ?delivery.job, "job failed for good");
            dead_letter(ports, &delivery.job, &e.to_string()).await
        }
        other => other,
    }
}

/// A job of a person who is gone (`DELETE /me` while it ran, or before it was taken) may
/// have written blobs after the forget deleted theirs: its import's blobs go too.
async fn sweep_forgotten(ports: &Ports, job: &Job) -> Result<(), StageError> {
    let user = job.user();
    let prefix = format!("imports/{}/", job.import_id());
    for name in ports.blobs.list(user, &prefix).await? {
        ports
            .blobs
            .delete(&crate::ports::BlobKey::new(user, name)?)
            .await?;
    }
    Ok(())
}

fn run_id(import_id: &str, attempt: u32) -> RunId {
    RunId {
        import_id: import_id.to_owned(),
        attempt,
    }
}

/// A job that kept failing: its failure is recorded where the person sees it. A fact batch
/// counts as done with all its chunks failed, so that the full pass still finishes.
pub async fn dead_letter(ports: &Ports, job: &Job, reason: &str) -> Result<(), StageError> {
    let now = ports.clock.now();
    match job {
        Job::Import {
            user,
            import_id,
            task_token,
        } => import::fail(ports, user, import_id, reason, task_token.as_deref()).await,
        Job::FullPass {
            user,
            import_id,
            attempt,
            ..
        }
        | Job::Finalize {
            user,
            import_id,
            attempt,
        } => fail_full_pass(ports, user, &run_id(import_id, *attempt), reason, now).await,
        Job::SupervisorGaveUp { .. } => Ok(()),
        // Not recorded anywhere the person sees: the job goes on to the dead letters (and
        // the alarm); the marker stays, so the person is still refused, and a redrive
        // finishes the deletion.
        Job::Forget { user } => Err(StageError::Corrupt(format!(
            "forgetting {user} failed on every delivery: {reason}"
        ))),
        Job::FactBatch {
            user,
            import_id,
            attempt,
            batch,
        } => {
            let run = run_id(import_id, *attempt);
            if !facts::current(ports.store.as_ref(), user, &run).await? {
                return Ok(());
            }
            let chunks = facts::load(ports, user, &run, *batch)
                .await
                .map_or(0, |c| c.len() as u64);
            let outcome = BatchOutcome {
                chunks,
                failed_chunks: chunks,
                ..BatchOutcome::default()
            };
            facts::record(ports, user, &run, *batch, &outcome).await
        }
    }
}

/// Records what the supervisor saw: a stage that failed or timed out there. A stage the
/// workers already ended (failed with their own reason, or done) keeps its state; the
/// supervisor's token is not answered (its task is over).
async fn supervisor_gave_up(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    attempt: Option<u32>,
    error: &str,
    cause: &str,
) -> Result<(), StageError> {
    let now = ports.clock.now();
    let reason = match error {
        "States.Timeout" => "it stopped making progress and ran past its time limit".to_owned(),
        "States.HeartbeatTimeout" => "its workers stopped reporting progress".to_owned(),
        _ if cause.is_empty() => format!("it failed ({error})"),
        _ => cause.chars().take(500).collect(),
    };
    let changed = match attempt {
        None => {
            let reason = format!("the import did not finish: {reason}; import the export again");
            update_state(ports.store.as_ref(), user, |s| {
                s.fail(import_id, &reason, now)
            })
            .await
        }
        Some(attempt) => {
            let reason = format!("the full pass did not finish: {reason}; retry it to continue");
            update_state(ports.store.as_ref(), user, |s| {
                s.fail_full_pass(import_id, attempt, &reason, now)
            })
            .await
        }
    };
    match changed {
        Ok(_) | Err(StageError::Transition(_)) | Err(StageError::NoImport) => Ok(()),
        Err(e) => Err(e),
    }
}

pub(crate) async fn fail_full_pass(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
    reason: &str,
    now: time::OffsetDateTime,
) -> Result<(), StageError> {
    let (import_id, attempt) = (run.import_id.as_str(), run.attempt);
    let state = match update_state(ports.store.as_ref(), user, |s| {
        s.fail_full_pass(import_id, attempt, reason, now)
    })
    .await
    {
        Ok(s) => s,
        Err(StageError::Transition(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    if let Some(token) = &state.full_pass.task_token {
        super::answered(ports.supervisor.fail(token, "FullPassFailed", reason).await)?;
    }
    Ok(())
}

/// Fails the full pass if it has stopped moving; true when it did.
pub(crate) async fn fail_if_overdue(
    ports: &Ports,
    user: &UserId,
    run: &RunId,
) -> Result<bool, StageError> {
    let now = ports.clock.now();
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(false);
    };
    let s = &state.value;
    if s.import_id != run.import_id
        || s.full_pass.attempt != run.attempt
        || !s.full_pass_overdue(now)
    {
        return Ok(false);
    }
    let reason = format!(
        "the full pass recorded no batch for {} minutes (stuck); retry it to continue",
        crate::import_state::STALLED_AFTER.whole_minutes()
    );
    fail_full_pass(ports, user, run, &reason, now).await?;
    Ok(true)
}

/// Fails the user's full pass if it is overdue (work that stopped with the process is found
/// when it starts again).
pub async fn sweep_overdue(ports: &Ports, user: &UserId) -> Result<bool, StageError> {
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(false);
    };
    let run = run_id(&state.value.import_id, state.value.full_pass.attempt);
    fail_if_overdue(ports, user, &run).await
}

/// Queues again the work the user's state says is running, when no job carries it (the
/// process died between writing the state and sending the job). The handlers are idempotent,
/// so a job sent twice does no harm. Returns the jobs sent.
pub async fn requeue(ports: &Ports, user: &UserId) -> Result<usize, StageError> {
    use crate::import_state::{FullPassStatus, ImportStatus};
    if ports.store.forgotten(user).await?.is_some() {
        let job = Job::Forget { user: user.clone() };
        ports.queue.send(job.queue(), &[job]).await?;
        return Ok(1);
    }
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(0);
    };
    let s = state.value;
    let mut jobs = Vec::new();
    if s.status == ImportStatus::Processing {
        jobs.push(Job::Import {
            user: user.clone(),
            import_id: s.import_id.clone(),
            task_token: None,
        });
    } else if s.full_pass.status == FullPassStatus::Processing {
        let run = run_id(&s.import_id, s.full_pass.attempt);
        match ports.store.run_progress(user, &run).await? {
            // Not planned yet: plan it.
            None => jobs.push(Job::FullPass {
                user: user.clone(),
                import_id: s.import_id.clone(),
                attempt: run.attempt,
                task_token: s.full_pass.task_token.clone(),
            }),
            Some(p) if p.complete() => jobs.push(Job::Finalize {
                user: user.clone(),
                import_id: s.import_id.clone(),
                attempt: run.attempt,
            }),
            Some(p) => {
                for batch in 1..p.batches_total {
                    if !ports.store.batch_done(user, &run, batch).await? {
                        jobs.push(Job::FactBatch {
                            user: user.clone(),
                            import_id: s.import_id.clone(),
                            attempt: run.attempt,
                            batch,
                        });
                    }
                }
            }
        }
    }
    for job in &jobs {
        ports
            .queue
            .send(job.queue(), std::slice::from_ref(job))
            .await?;
    }
    Ok(jobs.len())
}
