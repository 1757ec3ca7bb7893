//! The messages on the pipeline's queues: ids and keys, never payloads.

use serde::{Deserialize, Serialize};

use crate::ports::UserId;

/// One piece of pipeline work as it travels on its queue (JSON, tagged by `job`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Read the export, write the soulprint.
    Import {
        /// Whose import it is.
        user: UserId,
        /// The import to read; moot once another replaces it.
        import_id: String,
        /// The supervisor's token for this stage, when one waits (Step Functions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_token: Option<String>,
    },
    /// Chunk the conversations and fan the batches out.
    FullPass {
        /// Whose import it is.
        user: UserId,
        /// The import the pass is for; moot once another replaces it.
        import_id: String,
        /// The run (`FullPass::attempt` in the import state); moot once a retry replaces it.
        attempt: u32,
        /// The supervisor's token for this stage, when one waits (Step Functions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_token: Option<String>,
    },
    /// Extract facts from one batch of chunks.
    FactBatch {
        /// Whose import it is.
        user: UserId,
        /// The import the run is for.
        import_id: String,
        /// The run the batch belongs to.
        attempt: u32,
        /// Which of the run's batches, from 1 (batch 0, the export's own facts, needs no job).
        batch: u32,
    },
    /// Consolidate, write MEMORY, regenerate the sections.
    Finalize {
        /// Whose import it is.
        user: UserId,
        /// The import the run is for.
        import_id: String,
        /// The run to finish.
        attempt: u32,
    },
    /// The supervisor gave up on a stage (on AWS: the state machine's task failed or timed
    /// out, its workers dead or stuck): the import (no `attempt`) or the full pass fails with
    /// the reason, where the person sees it. Sent by the state machine's `Catch`.
    SupervisorGaveUp {
        /// Whose import it is.
        user: UserId,
        /// The import whose stage was given up on.
        import_id: String,
        /// The full pass run that was given up on; none for the import itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        /// The supervisor's error name (`States.Timeout`, `States.HeartbeatTimeout`, …).
        error: String,
        /// Its explanation, if it gave one: the reason shown for any other error.
        #[serde(default)]
        cause: String,
    },
    /// Delete every trace of the person (`DELETE /me` accepted it; a marker keeps them
    /// unreadable until this is done).
    Forget {
        /// Who is forgotten.
        user: UserId,
    },
}

impl Job {
    /// Whose import the job is for.
    pub fn user(&self) -> &UserId {
        match self {
            Job::Import { user, .. }
            | Job::FullPass { user, .. }
            | Job::FactBatch { user, .. }
            | Job::Finalize { user, .. }
            | Job::SupervisorGaveUp { user, .. }
            | Job::Forget { user } => user,
        }
    }

    /// The import the job is for; empty for [`Job::Forget`], which is for the whole person.
    pub fn import_id(&self) -> &str {
        match self {
            Job::Import { import_id, .. }
            | Job::FullPass { import_id, .. }
            | Job::FactBatch { import_id, .. }
            | Job::Finalize { import_id, .. }
            | Job::SupervisorGaveUp { import_id, .. } => import_id,
            Job::Forget { .. } => "",
        }
    }

    /// The queue this job travels on.
    pub fn queue(&self) -> crate::ports::QueueName {
        use crate::ports::QueueName;
        match self {
            Job::Import { .. } | Job::Forget { .. } => QueueName::Imports,
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
