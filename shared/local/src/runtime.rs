//! SoulPrint on one machine: the local adapters wired into [`Ports`], and tokio tasks that
//! drain the durable queues through the same stage handlers the Lambda functions call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use soulprint_core::ports::{Delivery, Llm, Ports, Queue, QueueName, SystemClock};
use soulprint_core::stages::{dead_letter, handle, MAX_RECEIVES};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::{Database, DirBlobs, LocalSupervisor, SqliteQueue, SqliteStore};

pub struct LocalOptions {
    pub data_dir: PathBuf,
    pub llm: Arc<dyn Llm>,
    /// Fact extraction's model, when it is not `llm`.
    pub fact_llm: Option<Arc<dyn Llm>>,
    /// Fact batches worked on at once: the full pass's concurrency.
    pub fact_workers: usize,
    /// The fact model's tokens a minute, when its server has a quota: the workers' calls stay
    /// within it (a call past it waits for a later minute).
    pub fact_tokens_per_minute: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot use the data directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Db {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// Sets `path`'s mode (Unix), so that what others could read becomes its owner's only.
fn owner_only(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Creates an empty file readable by its owner only.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// Another process is working on the same data directory.
#[derive(Debug, thiserror::Error)]
#[error(
    "another soulprint process is working on {dir} ({holder}); wait for it to finish, or stop \
     it and run `soulprint resume`"
)]
pub struct Busy {
    dir: PathBuf,
    holder: String,
}

/// The local world, opened on a data directory.
pub struct Local {
    pub ports: Ports,
    pub store: SqliteStore,
    pub queue: SqliteQueue,
    /// The blobs' directory (for housekeeping the port does not name: sweeping uploads).
    pub blobs: DirBlobs,
    fact_workers: usize,
    /// Held by the process whose workers drain the queues: taking up a dead process's jobs
    /// is right only when no live one holds them.
    lock_path: Option<PathBuf>,
}

impl Local {
    pub fn open(options: LocalOptions) -> Result<Local, OpenError> {
        let dir = &options.data_dir;
        let dir_err = |source| OpenError::Dir {
            dir: dir.clone(),
            source,
        };
        crate::blobs::private_dir(dir).map_err(dir_err)?;
        // A directory made by an older version, or by hand, is made private too.
        owner_only(dir, 0o700).map_err(dir_err)?;
        for file in [
            "soulprint.db",
            "soulprint.db-wal",
            "soulprint.db-shm",
            "workers.lock",
        ] {
            let path = dir.join(file);
            if file == "soulprint.db" && !path.exists() {
                // SQLite makes its file (and the WAL after it) with the umask's mode.
                private_file(&path).map_err(dir_err)?;
            }
            if path.exists() {
                owner_only(&path, 0o600).map_err(dir_err)?;
            }
        }
        let blobs = DirBlobs::new(dir.join("blobs"), dir.join("tmp")).map_err(dir_err)?;
        let path = dir.join("soulprint.db");
        let db = Database::open(&path).map_err(|source| OpenError::Db {
            path: path.clone(),
            source,
        })?;
        let mut local = Self::with(db, blobs, options.llm, options.fact_workers);
        if let Some(fact_llm) = options.fact_llm {
            local.ports.fact_llm = fact_llm;
        }
        local.ports.fact_quota = options.fact_tokens_per_minute.map(|tokens_per_minute| {
            soulprint_core::ports::TokenQuota {
                windows: Arc::new(crate::MemoryWindows::default()),
                tokens_per_minute,
            }
        });
        local.lock_path = Some(dir.join("workers.lock"));
        Ok(local)
    }

    pub fn with(db: Database, blobs: DirBlobs, llm: Arc<dyn Llm>, fact_workers: usize) -> Local {
        let store = SqliteStore::new(db.clone());
        let queue = SqliteQueue::new(db);
        let ports = Ports {
            blobs: Arc::new(blobs.clone()),
            queue: Arc::new(queue.clone()),
            store: Arc::new(store.clone()),
            fact_llm: Arc::clone(&llm),
            llm,
            fallback_llm: None,
            web: None,
            supervisor: Arc::new(LocalSupervisor),
            clock: Arc::new(SystemClock),
            fact_quota: None,
        };
        Local {
            ports,
            store,
            queue,
            blobs,
            fact_workers: fact_workers.max(1),
            lock_path: None,
        }
    }

    /// Takes the data directory's worker lock (released when the process ends, however):
    /// for work that must not race the workers of another process (forgetting a person).
    pub fn hold(&self) -> Result<Option<std::fs::File>, Busy> {
        self.lock()
    }

    fn lock(&self) -> Result<Option<std::fs::File>, Busy> {
        let Some(path) = &self.lock_path else {
            return Ok(None);
        };
        let busy = |holder: String| Busy {
            dir: path.parent().unwrap_or(path).to_path_buf(),
            holder,
        };
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .map_err(|e| busy(format!("cannot open its lock file: {e}")))?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::{Seek, Write};
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ = write!(file, "pid {}", std::process::id());
                Ok(Some(file))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                Err(busy(holder.trim().to_owned()))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(busy(format!("cannot lock: {e}"))),
        }
    }

    /// Starts the workers. What a previous process left in flight (it was killed, or
    /// stopped waiting) is taken up again at once.
    pub async fn start_workers(&self) -> Result<Workers, Busy> {
        let lock = self.lock()?;
        match (self.queue.reclaim(), self.store.release_held_claims()) {
            (Ok(jobs), Ok(claims)) if jobs + claims > 0 => {
                info!(
                    jobs,
                    claims, "taking up work a previous process left unfinished"
                );
            }
            (Err(e), _) => warn!(error = %e, "could not reclaim unfinished jobs"),
            (_, Err(e)) => warn!(error = %e, "could not release unfinished claims"),
            _ => {}
        }
        if let Ok(users) = self.store.users() {
            for user in users {
                if let Err(e) = soulprint_core::stages::sweep_overdue(&self.ports, &user).await {
                    warn!(user = %user, error = %e, "could not check the full pass's time limit");
                }
                if self.queue.has_jobs_for(&user).unwrap_or(true) {
                    continue;
                }
                // Work recorded as running with no job to carry it (the process died between
                // writing the state and queueing the job): queue it again.
                match soulprint_core::stages::requeue(&self.ports, &user).await {
                    Ok(0) => {}
                    Ok(n) => info!(user = %user, jobs = n, "queued unfinished work again"),
                    Err(e) => {
                        warn!(user = %user, error = %e, "could not queue unfinished work again")
                    }
                }
            }
        }
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for queue in QueueName::ALL {
            // Two import workers: with fair shares (the queue hands each person's jobs in
            // turn), one person's slow import leaves the other worker to everyone else.
            let n = match queue {
                QueueName::Facts => self.fact_workers,
                QueueName::Imports => 2,
                _ => 1,
            };
            for _ in 0..n {
                tasks.push(tokio::spawn(drain(
                    self.ports.clone(),
                    queue,
                    stopped.clone(),
                )));
            }
        }
        Ok(Workers {
            stop,
            tasks,
            _lock: lock,
        })
    }

    /// Whether any job waits or runs.
    pub async fn idle(&self) -> bool {
        for q in QueueName::ALL {
            if self.queue.depth(q).await.map_or(true, |d| d > 0) {
                return false;
            }
        }
        true
    }

    /// `SOULPRINT_DATA_DIR`, else the platform's data directory (`$XDG_DATA_HOME` or
    /// `~/.local/share` on Linux) + `soulprint`.
    pub fn data_dir_default() -> Option<PathBuf> {
        std::env::var_os("SOULPRINT_DATA_DIR")
            .map(PathBuf::from)
            .or_else(|| Some(dirs::data_dir()?.join("soulprint")))
    }
}

/// The running workers.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _lock: Option<std::fs::File>,
}

impl Workers {
    /// Stops taking jobs and waits for those in hand (they finish or come back later).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_join(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            warn!("workers still busy; their jobs come back on the next start");
        }
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

const POLL: Duration = Duration::from_millis(50);

async fn drain(ports: Ports, queue: QueueName, mut stopped: watch::Receiver<bool>) {
    loop {
        if *stopped.borrow() {
            return;
        }
        let deliveries = match ports.queue.receive(queue, 1, queue.visibility()).await {
            Ok(d) => d,
            Err(e) => {
                warn!(queue = %queue, error = %e, "cannot receive");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if deliveries.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                // A dropped sender stops the workers too.
                changed = stopped.changed() => if changed.is_err() { return },
            }
            continue;
        }
        for d in deliveries {
            settle(&ports, queue, d).await;
        }
    }
}

/// Handles one delivery to the end: done, failed for good (recorded), or back on the queue
/// after a pause.
async fn settle(ports: &Ports, queue: QueueName, d: Delivery) {
    // In a task of its own: a panic fails this job, not the worker.
    let mut task = tokio::spawn({
        let (ports, d) = (ports.clone(), d.clone());
        async move { handle(&ports, &d).await }
    });
    // The message stays hidden while the handler works, however long the model takes.
    let mut beat = tokio::time::interval(queue.visibility() / 3);
    beat.tick().await;
    let outcome = loop {
        tokio::select! {
            joined = &mut task => break joined,
            _ = beat.tick() => {
                let _ = ports.queue.extend(queue, &d.receipt, queue.visibility()).await;
            }
        }
    };
    let failure = match outcome {
        // Done, or failed for good and recorded by `handle`.
        Ok(Ok(())) => None,
        Ok(Err(e)) if !e.is_retryable() => {
            warn!(queue = %queue, error = %e, job = ?d.job, "could not record a failure; dropping the job");
            None
        }
        Ok(Err(e)) if d.receive_count < MAX_RECEIVES => {
            let wait = Duration::from_secs((1u64 << d.receive_count.min(6)).min(60));
            warn!(queue = %queue, error = %e, retry_in = ?wait, job = ?d.job, "job failed; it will be retried");
            let _ = ports.queue.extend(queue, &d.receipt, wait).await;
            return;
        }
        Ok(Err(e)) => Some(format!("failed {} times; the last: {e}", d.receive_count)),
        Err(joined) => Some(format!(
            "the worker failed on it: {}",
            panic_message(joined)
        )),
    };
    if let Some(reason) = failure {
        warn!(queue = %queue, %reason, job = ?d.job, "job failed for good; recording the failure");
        if let Err(e) = dead_letter(ports, &d.job, &reason).await {
            if e.is_retryable() {
                warn!(error = %e, "could not record the failure; the job comes back");
                return;
            }
            warn!(error = %e, "could not record the failure; dropping the job");
        }
    }
    if let Err(e) = ports.queue.ack(queue, &d.receipt).await {
        warn!(queue = %queue, error = %e, "cannot acknowledge; the job will come back");
    }
}

fn panic_message(joined: tokio::task::JoinError) -> String {
    match joined.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into()),
        Err(e) => e.to_string(),
    }
}
