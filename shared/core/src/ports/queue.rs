//! Durable queues of jobs. Delivery is at least once: a message that is received and not
//! acknowledged before its visibility timeout comes back, so every handler is idempotent.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::jobs::Job;

/// The pipeline's queues, one per kind of worker (as on AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// `Job::Import`, and the supervisor giving up on an import.
    Imports,
    /// `Job::FullPass`, and the supervisor giving up on a full pass.
    FullPass,
    /// `Job::FactBatch`: the bulk of the work.
    Facts,
    /// `Job::Finalize`.
    Finalize,
}

impl QueueName {
    /// Every queue.
    pub const ALL: [QueueName; 4] = [
        QueueName::Imports,
        QueueName::FullPass,
        QueueName::Facts,
        QueueName::Finalize,
    ];

    /// The queue's name as the adapters know it (`full-pass`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Imports => "imports",
            QueueName::FullPass => "full-pass",
            QueueName::Facts => "facts",
            QueueName::Finalize => "finalize",
        }
    }

    /// How long a received message stays hidden: longer than its handler may take, short
    /// enough that a crashed worker's message returns soon.
    pub fn visibility(self) -> Duration {
        match self {
            QueueName::Imports => Duration::from_secs(15 * 60),
            QueueName::FullPass => Duration::from_secs(10 * 60),
            QueueName::Facts => Duration::from_secs(5 * 60),
            QueueName::Finalize => Duration::from_secs(10 * 60),
        }
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The job the message carries.
    pub job: Job,
    /// Names this receipt of the message: acknowledging it with a stale receipt does nothing.
    pub receipt: String,
    /// 1 the first time; more when redelivered.
    pub receive_count: u32,
    /// When the worker handling it will be stopped (a Lambda invocation's deadline); none
    /// where a worker keeps its job hidden for as long as it works. A claim on the job's work
    /// is held until then, so that the job's redelivery after the worker died finds it free.
    pub deadline: Option<time::OffsetDateTime>,
}

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue service failed; worth trying again.
    #[error("queue {queue} failed: {reason}")]
    Unavailable {
        /// Which queue.
        queue: QueueName,
        /// What the service said.
        reason: String,
    },
    /// A message received does not read as a job.
    #[error("a message on queue {queue} is not a job: {reason}")]
    Malformed {
        /// Which queue.
        queue: QueueName,
        /// Why it does not read.
        reason: String,
    },
}

/// The longest a message can wait before it is first visible (SQS's limit).
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// The pipeline's queues: at-least-once delivery with visibility timeouts.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends the jobs (in batches where the service has them).
    async fn send(&self, queue: QueueName, jobs: &[Job]) -> Result<(), QueueError>;
    /// Sends a job that becomes visible after `delay` (at most [`MAX_DELAY`]), as a new
    /// message: received for the first time, whatever its earlier copy went through.
    async fn send_later(
        &self,
        queue: QueueName,
        job: &Job,
        delay: Duration,
    ) -> Result<(), QueueError>;
    /// Up to `max` visible messages, hidden for `visibility` from now.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError>;
    /// Done with: the message is gone.
    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError>;
    /// Still working: hidden for `visibility` more from now.
    async fn extend(
        &self,
        queue: QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), QueueError>;
    /// Messages waiting (delayed ones too) or in flight on `queue`.
    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError>;
}
