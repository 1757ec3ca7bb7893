//! The pipeline, written once against the ports.
//!
//! ```text
//! start_import ─▶ [imports] ─▶ import: read export → conversations.jsonl → quick pass
//!                                  → quick_ready ─▶ [full-pass] ─▶ plan: chunk → batches
//!     ─▶ [facts] × N ─▶ fact batch: extract → record (the last one) ─▶ [finalize]
//!     ─▶ finalize: consolidate → MEMORY → sections again → complete
//! ```
//! Every handler is idempotent (queues deliver at least once) and checks the job against the
//! stored state before acting: a job of a replaced import, or of an earlier full-pass run,
//! does nothing.

mod breaker;
pub mod cache;
mod chat;
mod export;
mod facts;
mod finalize;
mod forget;
mod full_pass;
mod import;
mod memory_control;
pub mod packs;
mod quick_pass;
mod rename;
mod worker;

use std::time::Duration;

use crate::export::ExportError;
use crate::import_state::{ImportState, TransitionError};
use crate::ports::store::{Claim, ClaimStore, ImportStore};
use crate::ports::{
    BlobError, BlobKey, Clock, LlmError, Ports, QueueError, StoreError, SupervisorError, UserId,
};

pub use breaker::Breaker;
pub use chat::{
    chat_turn, explode, recall, with_sources, Chat, ChatBudget, ChatError, IndexCache, TurnReply,
    MAX_MESSAGE_CHARS, MAX_SEARCHES,
};
pub use export::{write_export, EXPORTS_DIR};
pub use facts::{fit_marker, with_provenance, MARKER_FACT_BYTES};
pub use forget::begin_forgetting;
pub use import::{new_import_id, retry_full_pass, start_import, StartError};
pub use memory_control::{delete_memory, Deleted};
pub use quick_pass::{creative_name, tidy_sections};
pub use rename::{rename, RenameError};
pub use worker::{dead_letter, handle, requeue, sweep_overdue, MAX_RECEIVES};

/// Where an import's blobs live, under the user's prefix.
pub fn import_blob(user: &UserId, import_id: &str, name: &str) -> Result<BlobKey, BlobError> {
    BlobKey::new(user, format!("imports/{import_id}/{name}"))
}

/// The export as uploaded, in its import's folder (see [`import_blob`]).
pub const EXPORT_BLOB: &str = "export";
/// The normalised conversations (JSON Lines) the import writes and the full pass reads.
pub const CONVERSATIONS_BLOB: &str = "conversations.jsonl";

/// Why a stage failed; [`StageError::is_retryable`] says whether its job comes back.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blob operation failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Sending or acknowledging a job failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A model call failed.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// A word to the supervisor did not get through.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// The import's rules refused the change (for a replaced import or run, nothing failed).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The export cannot be used at all.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The export was read but holds no conversation to learn from.
    #[error("the export holds no conversations: nothing to learn from. Is it the export of the right account? (ChatGPT: Settings → Data controls → Export data)")]
    NoConversations,
    /// The user has no import (they were forgotten while the job waited).
    #[error("there is no import for this user")]
    NoImport,
    /// Something stored does not read back (a batch of chunks, the conversations): trying again
    /// will not help.
    #[error("{0}")]
    Corrupt(String),
    /// Local scratch space failed.
    #[error("local scratch space failed: {0}")]
    Io(#[from] std::io::Error),
    /// The import state kept changing under this worker: the job comes back later.
    #[error("the import's state kept changing under this worker; it will try again")]
    Contention,
    /// Another worker holds this job's work (its claim has not expired): the job comes back
    /// later and finds it done, or free when that worker died.
    #[error("another worker is doing this job's work; it will be tried again later")]
    Busy,
    /// A worker thread panicked or was cancelled.
    #[error("a worker thread failed: {0}")]
    Join(String),
}

impl StageError {
    /// The job's import or run was replaced while it worked: nothing failed.
    pub fn is_moot(&self) -> bool {
        matches!(
            self,
            StageError::Store(StoreError::Stale(_))
                | StageError::Transition(
                    TransitionError::Superseded { .. } | TransitionError::StaleRun { .. }
                )
        )
    }

    /// Whether the job should come back and be tried again (the failure may pass).
    pub fn is_retryable(&self) -> bool {
        match self {
            StageError::Store(e) => matches!(e, StoreError::Unavailable(_) | StoreError::Conflict),
            StageError::Blob(e) => matches!(e, BlobError::Unavailable(_)),
            StageError::Queue(e) => matches!(e, QueueError::Unavailable { .. }),
            StageError::Llm(e) => e.is_retryable(),
            StageError::Supervisor(e) => matches!(e, SupervisorError::Unavailable(_)),
            StageError::Io(_) | StageError::Contention | StageError::Busy | StageError::Join(_) => {
                true
            }
            StageError::Transition(_)
            | StageError::Export(_)
            | StageError::NoConversations
            | StageError::NoImport
            | StageError::Corrupt(_) => false,
        }
    }
}

/// A token nobody waits for any more (the execution ended, or the token was never real) is
/// answered: there is nothing left to tell.
pub(crate) fn answered(result: Result<(), SupervisorError>) -> Result<(), StageError> {
    match result {
        Err(SupervisorError::TaskGone(reason)) => {
            tracing::info!(%reason, "the supervisor no longer waits for this task");
            Ok(())
        }
        other => Ok(other?),
    }
}

/// Tells the supervisor a stage succeeded (again, when a redelivered job finds it done: the
/// first answer may have been lost with its worker).
pub(crate) async fn report_success(
    ports: &Ports,
    token: &str,
    output: &serde_json::Value,
) -> Result<(), StageError> {
    answered(ports.supervisor.succeed(token, output).await)
}

/// Reads the import state, applies `change` and writes it back if no one wrote in between;
/// tries again on a lost race. The rules in [`ImportState`] keep progress monotonic, so a
/// retried change can only move it forward.
pub async fn update_state<F>(
    imports: &dyn ImportStore,
    user: &UserId,
    change: F,
) -> Result<ImportState, StageError>
where
    F: Fn(&mut ImportState) -> Result<(), TransitionError>,
{
    for _ in 0..16 {
        let stored = imports
            .import_state(user)
            .await?
            .ok_or(StageError::NoImport)?;
        let mut state = stored.value.clone();
        change(&mut state)?;
        if state == stored.value {
            return Ok(state);
        }
        match imports
            .put_import_state(user, &state, Some(stored.version))
            .await
        {
            Ok(_) => return Ok(state),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Contention)
}

/// The person's change to their profile, applied to the profile as stored and written back
/// whatever the imports are doing; when a newer import's profile replaced it meanwhile, the
/// change is applied to that one instead. `None`: there is no profile yet.
pub async fn amend_profile<F>(
    ports: &Ports,
    user: &UserId,
    change: F,
) -> Result<Option<crate::profile::Profile>, StageError>
where
    F: Fn(&mut crate::profile::Profile) -> Result<(), StageError>,
{
    for _ in 0..8 {
        let Some(mut profile) = ports.store.profile(user).await? else {
            return Ok(None);
        };
        change(&mut profile)?;
        profile.updated_at = ports.clock.now();
        profile.render(profile.updated_at);
        match ports.store.amend_profile(user, &profile).await {
            Ok(()) => return Ok(Some(profile)),
            Err(StoreError::Stale(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StageError::Contention)
}

/// How long a worker's claim on a job's work is held: until its invocation's deadline (and a
/// little more), so that the job's redelivery after the worker was stopped finds it free;
/// where the worker has no deadline, as long as the queue hides the job.
pub(crate) fn claim_hold(
    clock: &dyn Clock,
    deadline: Option<time::OffsetDateTime>,
    queue: crate::ports::QueueName,
) -> Duration {
    match deadline {
        Some(at) => {
            let left = (at - clock.now()).max(time::Duration::ZERO);
            Duration::try_from(left).unwrap_or_default() + Duration::from_secs(30)
        }
        None => queue.visibility(),
    }
}

/// Does `work` once for `key`: skipped if done before; refused with [`StageError::Busy`] (the
/// job comes back later) while another worker holds the claim, whose hold expires when that
/// worker's invocation ends.
pub(crate) async fn exactly_once<Fut>(
    claims: &dyn ClaimStore,
    clock: &dyn Clock,
    user: &UserId,
    key: &str,
    hold: Duration,
    work: Fut,
) -> Result<(), StageError>
where
    Fut: std::future::Future<Output = Result<(), StageError>>,
{
    let now = clock.now();
    match claims.claim(user, key, now, now + hold).await? {
        Claim::Completed => return Ok(()),
        // Another worker holds it: that worker finishes the work, or its claim expires when
        // it is stopped. Either way this job comes back later and sees which.
        Claim::InProgress => return Err(StageError::Busy),
        Claim::Acquired => {}
    }
    match work.await {
        Ok(()) => {
            // Remembered long after any redelivery could come.
            let keep = clock.now() + time::Duration::days(7);
            claims.complete_claim(user, key, keep).await?;
            Ok(())
        }
        Err(e) => {
            claims.release_claim(user, key).await?;
            Err(e)
        }
    }
}

/// Runs blocking work (reading files, parsing) off the async threads.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, StageError>
where
    F: FnOnce() -> Result<T, StageError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StageError::Join(e.to_string()))?
}
