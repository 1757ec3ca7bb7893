//! The operator's view of an import: on AWS a Step Functions execution waiting on task
//! tokens; on one machine, nothing to tell (the stages enforce their own time limits).

use async_trait::async_trait;

/// Why a word to the supervisor did not get through.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The execution is gone (timed out, stopped): the work it waited for is no longer wanted.
    #[error("the supervisor no longer waits for this task: {0}")]
    TaskGone(String),
    /// Worth trying again: the supervisor's service failed.
    #[error("the supervisor could not be reached: {0}")]
    Unavailable(String),
}

/// What waits on a stage: it takes heartbeats, then one success or one failure per task.
#[async_trait]
pub trait Supervisor: Send + Sync {
    /// The task is alive (long work calls this well inside the heartbeat interval).
    async fn heartbeat(&self, token: &str) -> Result<(), SupervisorError>;
    /// The task is done; `output` goes on to the supervisor's next step.
    async fn succeed(&self, token: &str, output: &serde_json::Value)
        -> Result<(), SupervisorError>;
    /// The task failed: `error` names the kind (`ImportFailed`), `cause` says why.
    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), SupervisorError>;
}
