//! The messages on the pipeline's queues: ids and keys, never payloads.

use serde::{Deserialize, Serialize};

use crate::ports::UserId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Read the export, write the soulprint.
    Import {
        user: UserId,
        import_id: String,
        /// The supervisor's token for this stage, when one waits (Step Functions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_token: Option<String>,
    },
    /// Chunk the conversations and fan the batches out.
    FullPass {
        user: UserId,
        import_id: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_token: Option<String>,
    },
    /// Extract facts from one batch of chunks.
    FactBatch {
        user: UserId,
        import_id: String,
        attempt: u32,
        batch: u32,
    },
    /// Consolidate, write MEMORY, regenerate the sections.
    Finalize {
        user: UserId,
        import_id: String,
        attempt: u32,
    },
    /// The supervisor gave up on a stage (on AWS: the state machine's task failed or timed
    /// out, its workers dead or stuck): the import (no `attempt`) or the full pass fails with
    /// the reason, where the person sees it. Sent by the state machine's `Catch`.
    SupervisorGaveUp {
        user: UserId,
        import_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        error: String,
        #[serde(default)]
        cause: String,
    },
}

impl Job {
    pub fn user(&self) -> &UserId {
        match self {
            Job::Import { user, .. }
            | Job::FullPass { user, .. }
            | Job::FactBatch { user, .. }
            | Job::Finalize { user, .. }
            | Job::SupervisorGaveUp { user, .. } => user,
        }
    }

    pub fn import_id(&self) -> &str {
        match self {
            Job::Import { import_id, .. }
            | Job::FullPass { import_id, .. }
            | Job::FactBatch { import_id, .. }
            | Job::Finalize { import_id, .. }
            | Job::SupervisorGaveUp { import_id, .. } => import_id,
        }
    }

    /// The queue this job travels on.
    pub fn queue(&self) -> crate::ports::QueueName {
        use crate::ports::QueueName;
        match self {
            Job::Import { .. } => QueueName::Imports,
            Job::FullPass { .. } => QueueName::FullPass,
            Job::FactBatch { .. } => QueueName::Facts,
            Job::Finalize { .. } => QueueName::Finalize,
            Job::SupervisorGaveUp { attempt: None, .. } => QueueName::Imports,
            Job::SupervisorGaveUp {
                attempt: Some(_), ..
            } => QueueName::FullPass,
        }
    }
}
