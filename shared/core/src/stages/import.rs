//! Import: the stored export → normalised conversations → the quick pass → quick_ready.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, info_span, warn, Instrument};

use super::quick_pass::{quick_pass, Gathered};
use super::{blocking, import_blob, update_state, StageError, CONVERSATIONS_BLOB};
use crate::conversation::{from_json_line, ProfileSignals};
use crate::export::{read_export, ReadOptions};
use crate::import_state::{ImportState, ImportStatus, Stage, TransitionError};
use crate::jobs::Job;
use crate::person_stats::PersonStats;
use crate::ports::store::ImportUsage;
use crate::ports::{BlobKey, Ports, Scratch, StoreError, UserId};
use crate::sampler::{SampleOptions, Sampler};

/// Why an import could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The import's rules refused it: another import is processing and not yet stuck.
    #[error(transparent)]
    Refused(#[from] TransitionError),
    /// Recording or queueing it failed.
    #[error(transparent)]
    Stage(#[from] StageError),
}

/// A new import id: time-ordered, unique.
pub fn new_import_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Starts an import of the export stored at `export` (see [`super::import_blob`]): refused
/// while another import of the user is processing and not stuck.
pub async fn start_import(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    export: &BlobKey,
    task_token: Option<String>,
) -> Result<ImportState, StartError> {
    let now = ports.clock.now();
    let stored = ports
        .store
        .import_state(user)
        .await
        .map_err(StageError::from)?;
    let mut state = ImportState::begin(stored.as_ref().map(|s| &s.value), import_id, now)?;
    state.export_path = export.path().to_owned();
    match ports
        .store
        .put_import_state(user, &state, stored.map(|s| s.version))
        .await
    {
        Ok(_) => {}
        // Another import started at the same moment: the rules decide again.
        Err(StoreError::Conflict) => {
            let again = ports
                .store
                .import_state(user)
                .await
                .map_err(StageError::from)?;
            ImportState::begin(again.as_ref().map(|s| &s.value), import_id, now)?;
            return Err(StageError::Contention.into());
        }
        Err(e) => return Err(StageError::from(e).into()),
    }
    let job = Job::Import {
        user: user.clone(),
        import_id: import_id.to_owned(),
        task_token,
    };
    if let Err(e) = ports.queue.send(job.queue(), &[job]).await {
        // Nothing will work on it: say so now rather than leave it "processing".
        let reason = format!("the import could not be started ({e}); try again");
        let _ = update_state(ports.store.as_ref(), user, |s| {
            s.fail(import_id, &reason, now)
        })
        .await;
        return Err(StageError::from(e).into());
    }
    info!(user = %user, import_id, "import started");
    Ok(state)
}

/// Starts the full pass again after it failed, from the stored conversations.
pub async fn retry_full_pass(
    ports: &Ports,
    user: &UserId,
    task_token: Option<String>,
) -> Result<ImportState, StageError> {
    let now = ports.clock.now();
    let current = ports
        .store
        .import_state(user)
        .await?
        .ok_or(StageError::NoImport)?
        .value;
    let import_id = current.import_id.clone();
    let state = update_state(ports.store.as_ref(), user, |s| {
        s.start_full_pass(&import_id, now)?;
        s.full_pass.task_token = task_token.clone();
        Ok(())
    })
    .await?;
    let attempt = state.full_pass.attempt;
    let job = Job::FullPass {
        user: user.clone(),
        import_id: import_id.clone(),
        attempt,
        task_token,
    };
    if let Err(e) = ports.queue.send(job.queue(), &[job]).await {
        let reason = format!("the full pass could not be started ({e}); retry it");
        let _ = update_state(ports.store.as_ref(), user, |s| {
            s.fail_full_pass(&import_id, attempt, &reason, now)
        })
        .await;
        return Err(e.into());
    }
    Ok(state)
}

/// The import job. Permanent failures are recorded on the import (status failed, the reason
/// in words) and end the job; passing ones return an error so the job comes back.
pub(crate) async fn run(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    task_token: Option<&str>,
) -> Result<(), StageError> {
    let span = info_span!("import", user = %user, import_id);
    async {
        let Some(state) = ports.store.import_state(user).await? else {
            return Ok(());
        };
        let state = state.value;
        if state.import_id != import_id {
            info!("a newer import replaced this one; nothing to do");
            return Ok(());
        }
        match state.status {
            ImportStatus::Processing => {}
            ImportStatus::QuickReady if state.full_pass.attempt > 0 => {
                // Done before, and the process may have died before the full pass was queued
                // or the supervisor was told.
                queue_full_pass(ports, user, import_id, &state).await?;
                if let Some(token) = task_token {
                    let output = serde_json::json!({
                        "import_id": import_id, "attempt": state.full_pass.attempt,
                    });
                    super::report_success(ports, token, &output).await?;
                }
                return Ok(());
            }
            _ => return Ok(()),
        }
        match import(ports, user, import_id, &state).await {
            Ok(()) => {
                if let Some(token) = task_token {
                    // The full pass the supervisor waits for next: the attempt just queued.
                    let attempt = ports
                        .store
                        .import_state(user)
                        .await?
                        .map_or(1, |s| s.value.full_pass.attempt);
                    let output = serde_json::json!({"import_id": import_id, "attempt": attempt});
                    super::report_success(ports, token, &output).await?;
                }
                Ok(())
            }
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => {
                warn!(error = %e, "import failed");
                fail(ports, user, import_id, &e.to_string(), task_token).await
            }
        }
    }
    .instrument(span)
    .await
}

/// Records the import as failed with `reason`.
pub(crate) async fn fail(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    reason: &str,
    task_token: Option<&str>,
) -> Result<(), StageError> {
    let now = ports.clock.now();
    match update_state(ports.store.as_ref(), user, |s| {
        s.fail(import_id, reason, now)
    })
    .await
    {
        Ok(_) | Err(StageError::Transition(_)) => {}
        Err(e) => return Err(e),
    }
    if let Some(token) = task_token {
        super::answered(ports.supervisor.fail(token, "ImportFailed", reason).await)?;
    }
    Ok(())
}

async fn queue_full_pass(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    state: &ImportState,
) -> Result<(), StageError> {
    let job = Job::FullPass {
        user: user.clone(),
        import_id: import_id.to_owned(),
        attempt: state.full_pass.attempt,
        task_token: state.full_pass.task_token.clone(),
    };
    ports.queue.send(job.queue(), &[job]).await?;
    Ok(())
}

async fn import(
    ports: &Ports,
    user: &UserId,
    import_id: &str,
    state: &ImportState,
) -> Result<(), StageError> {
    let started = Instant::now();
    let now = ports.clock.now();
    update_state(ports.store.as_ref(), user, |s| {
        s.advance(import_id, Stage::Downloading, now)
    })
    .await?;
    let export_key = crate::ports::BlobKey::new(user, state.export_path.clone())?;
    let mut export = ports.blobs.open(&export_key).await?;
    let export_bytes = export.seek(SeekFrom::End(0))?;
    export.seek(SeekFrom::Start(0))?;
    update_state(ports.store.as_ref(), user, |s| {
        s.advance(import_id, Stage::Parsing, now)
    })
    .await?;

    // Parse on blocking threads while this task reports progress.
    let spill = ports.blobs.scratch().await?;
    let out = ports.blobs.scratch().await?;
    let read = Arc::new(AtomicU64::new(0));
    let reading = {
        let read = Arc::clone(&read);
        blocking(move || {
            let (mut spill, mut out) = (spill, out);
            let progress = move |p: crate::export::Progress| {
                read.store(p.input_bytes, Ordering::Relaxed);
            };
            let summary = read_export(
                export,
                &ReadOptions::default(),
                &mut spill,
                &mut out,
                &progress,
            )?;
            Ok((summary, out))
        })
    };
    tokio::pin!(reading);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let (summary, out) = loop {
        tokio::select! {
            done = &mut reading => break done?,
            _ = tick.tick() => {
                let share = read.load(Ordering::Relaxed) as f64 / export_bytes.max(1) as f64;
                // Reading is 20 → 50 %.
                let percent = 20 + (share.min(1.0) * 29.0) as u8;
                let now = ports.clock.now();
                update_state(ports.store.as_ref(), user, |s| s.progress(import_id, percent, now)).await?;
            }
        }
    };
    info!(
        conversations = summary.conversations_written,
        skipped = summary.conversations_skipped,
        duplicates = summary.duplicates_dropped,
        seconds = started.elapsed().as_secs_f64(),
        "export read"
    );
    if summary.conversations_written == 0 {
        return Err(StageError::NoConversations);
    }
    let conversations_key = import_blob(user, import_id, CONVERSATIONS_BLOB)?;
    ports.blobs.put_file(&conversations_key, out).await?;
    let now = ports.clock.now();
    update_state(ports.store.as_ref(), user, |s| {
        s.advance(import_id, Stage::GeneratingSoulprint, now)
    })
    .await?;

    let file = ports.blobs.open(&conversations_key).await?;
    let options = crate::budgets::sample_options(&ports.llm.info());
    let gathered = blocking(move || gather(file, options, now)).await?;
    info!(
        sampled = gathered.sample.conversations.len(),
        sample_tokens = gathered.sample.tokens,
        seconds = started.elapsed().as_secs_f64(),
        "sample taken"
    );
    let export_tokens = gathered.stats.tokens;
    let (profile, usage, _) = quick_pass(ports, user, import_id, gathered, None).await?;
    ports.store.put_profile(user, &profile).await?;
    ports
        .store
        .record_usage(
            user,
            import_id,
            "quick_pass",
            &ImportUsage {
                quick_pass: usage,
                export_tokens,
                cost_usd: usage.cost_usd,
                ..ImportUsage::default()
            },
        )
        .await?;
    let now = ports.clock.now();
    let state = update_state(ports.store.as_ref(), user, |s| {
        s.quick_ready(import_id, now)?;
        s.start_full_pass(import_id, now)
    })
    .await?;
    info!(
        seconds = started.elapsed().as_secs_f64(),
        ai_name = profile.ai_name(),
        "quick_ready"
    );
    queue_full_pass(ports, user, import_id, &state).await
}

/// Reads the normalised conversations once: the sample, the counts, what ChatGPT knew.
pub(crate) fn gather(
    file: Scratch,
    options: SampleOptions,
    now: time::OffsetDateTime,
) -> Result<Gathered, StageError> {
    let mut sampler = Sampler::new(options, now);
    let mut stats = PersonStats::default();
    let mut signals = ProfileSignals::default();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        line_no += 1;
        let c = from_json_line(&line, line_no).map_err(|e| StageError::Corrupt(e.to_string()))?;
        sampler.offer(&c);
        stats.offer(&c);
        if !c.do_not_remember {
            for ci in c.profile_signals.custom_instructions {
                if !signals.custom_instructions.contains(&ci) {
                    signals.custom_instructions.push(ci);
                }
            }
            for m in c.profile_signals.memories {
                if !signals.memories.iter().any(|k| k.text == m.text) {
                    signals.memories.push(m);
                }
            }
        }
    }
    Ok(Gathered {
        sample: sampler.finish(),
        stats,
        signals,
    })
}
