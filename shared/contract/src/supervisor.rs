//! What every [`Supervisor`] must do with the tasks it waits for: take heartbeats and one
//! answer, and say `TaskGone` (never `Unavailable`, which would be retried for ever) when
//! asked about a task that has ended. Each case gets the supervisor and two tokens of tasks
//! it waits for.

use std::sync::Arc;

use serde_json::json;
use soulprint_core::ports::{Supervisor, SupervisorError};

/// A supervisor and tokens of tasks waiting on it.
pub type Waiting = (Arc<dyn Supervisor>, Vec<String>);

/// Answered again: done already (`TaskGone`), or accepted again where nothing waits.
fn ended(result: Result<(), SupervisorError>) {
    assert!(
        matches!(result, Ok(()) | Err(SupervisorError::TaskGone(_))),
        "{result:?}"
    );
}

/// A waiting task takes heartbeats and one success; after it, another answer or heartbeat is
/// `TaskGone` or accepted.
pub async fn a_waiting_task_takes_heartbeats_then_one_answer((supervisor, tokens): Waiting) {
    supervisor.heartbeat(&tokens[0]).await.unwrap();
    supervisor.heartbeat(&tokens[0]).await.unwrap();
    supervisor
        .succeed(&tokens[0], &json!({"import_id": "i1", "attempt": 1}))
        .await
        .unwrap();
    ended(supervisor.succeed(&tokens[0], &json!({})).await);
    ended(supervisor.heartbeat(&tokens[0]).await);
}

/// A failure ends the task whatever its reason's length (a long one is cut); an answer after it is
/// `TaskGone` or accepted.
pub async fn a_failure_takes_any_reason_and_ends_the_task((supervisor, tokens): Waiting) {
    // A reason longer than any supervisor keeps is cut, not refused.
    let reason = "a very long reason ".repeat(3_000);
    supervisor
        .fail(&tokens[1], "ImportFailed", &reason)
        .await
        .unwrap();
    ended(supervisor.fail(&tokens[1], "ImportFailed", "again").await);
    ended(supervisor.succeed(&tokens[1], &json!({})).await);
}
