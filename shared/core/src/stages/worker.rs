//! One entry for every job, as every world's workers call it: the local runtime's tasks and
//! the Lambda functions alike.

use tracing::warn;

use super::{facts, finalize, full_pass, import, update_state, StageError};
use crate::jobs::Job;
use crate::ports::store::{BatchOutcome, RunId};
use crate::ports::{Delivery, Ports, UserId};

/// A message received this many times goes to the dead letters (see [`dead_letter`]).
pub const MAX_RECEIVES: u32 = 5;

/// Does the job. `Ok`: acknowledge it (done, or failed for good and recorded as such).
/// `Err`: leave it; it comes back after its visibility timeout (the error passes).
pub async fn handle(ports: &Ports, delivery: &Delivery) -> Result<(), StageError> {
    let result = match &delivery.job {
        Job::Import {
            user,
            import_id,
            task_token,
        } => import::run(ports, user, import_id, task_token.as_deref()).await,
        Job::FullPass {
            user, import_id, ..
        } => full_pass::run(ports, user, import_id).await,
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
        } => finalize::run(ports, user, &run_id(import_id, *attempt)).await,
    };
    match result {
        Err(e) if !e.is_retryable() => {
            // Failed for good: the job's import or full pass records why.
            warn!(error = %e, job = ?delivery.job, "job failed for good");
            dead_letter(ports, &delivery.job, &e.to_string()).await
        }
        other => other,
    }
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
            user, import_id, ..
        }
        | Job::Finalize {
            user, import_id, ..
        } => fail_full_pass(ports, user, import_id, reason, now).await,
        Job::FactBatch {
            user,
            import_id,
            attempt,
            batch,
        } => {
            let run = run_id(import_id, *attempt);
            if !facts::current(ports, user, &run).await? {
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

async fn fail_full_pass(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    reason: &str,
    now: time::OffsetDateTime,
) -> Result<(), StageError> {
    let state = match update_state(ports, user, |s| s.fail_full_pass(import_id, reason, now)).await
    {
        Ok(s) => s,
        Err(StageError::Transition(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    if let Some(token) = &state.full_pass.task_token {
        ports
            .supervisor
            .fail(token, "FullPassFailed", reason)
            .await?;
    }
    Ok(())
}

/// Fails the full pass if it has run past its limit; true when it did.
pub(crate) async fn fail_if_overdue(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
) -> Result<bool, StageError> {
    let now = ports.clock.now();
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(false);
    };
    if state.value.import_id != import_id || !state.value.full_pass_overdue(now) {
        return Ok(false);
    }
    let reason = format!(
        "the full pass ran past its limit of {} minutes; retry it to continue",
        crate::import_state::FULL_PASS_LIMIT.whole_minutes()
    );
    fail_full_pass(ports, user, import_id, &reason, now).await?;
    Ok(true)
}

/// Fails the user's full pass if it is overdue (work that stopped with the process is found
/// when it starts again).
pub async fn sweep_overdue(ports: &Ports, user: &UserId) -> Result<bool, StageError> {
    let Some(state) = ports.store.import_state(user).await? else {
        return Ok(false);
    };
    fail_if_overdue(ports, user, &state.value.import_id).await
}
