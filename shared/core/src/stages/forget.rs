//! Forgetting a person, as a job: accepted at once under a marker that every read checks, then
//! everything deleted in the background (100,000 items outlive a request), the marker lifted
//! last.

use tracing::{info, info_span, Instrument};

use super::{StageError, EXPORTS_DIR};
use crate::jobs::Job;
use crate::ports::{Ports, UserId};

/// Accepts forgetting `user`: from now every read refuses them. Their exports go at once (a
/// signed link to one may be out), and a job deletes the rest. Accepting again is harmless.
pub async fn begin_forgetting(ports: &Ports, user: &UserId) -> Result<(), StageError> {
    ports.store.mark_forgotten(user, ports.clock.now()).await?;
    let job = Job::Forget { user: user.clone() };
    if let Err(e) = ports.queue.send(job.queue(), &[job]).await {
        // Nothing would ever lift the marker: the person is not locked out by a failed ask.
        ports.store.forget_done(user).await?;
        return Err(e.into());
    }
    ports.blobs.delete_prefix(user, EXPORTS_DIR).await?;
    info!(user = %user, "forgetting accepted");
    Ok(())
}

/// The job: blobs, then records, then the marker. A job that stopped partway runs again
/// from the start and finds less to do.
pub(crate) async fn run(ports: &Ports, user: &UserId) -> Result<(), StageError> {
    let span = info_span!("forget", user = %user);
    async {
        if ports.store.forgotten(user).await?.is_none() {
            // Done before (a redelivery), or never asked.
            return Ok(());
        }
        ports.blobs.delete_user(user).await?;
        ports.store.forget(user).await?;
        ports.store.forget_done(user).await?;
        info!("forgotten");
        Ok(())
    }
    .instrument(span)
    .await
}
