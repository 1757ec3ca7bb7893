//! Step Functions: the operator's view of every import.
//!
//! [`StepFunctionsSupervisor`] answers the task tokens the state machine's waiting states hand
//! out (success, failure, heartbeat). [`ExecutionFrontDoor`] is the queue the API functions
//! send through: an import, or a retried full pass, starts an execution of the state machine
//! (which puts the job on its queue with a task token) instead of going to the queue
//! directly, so that no import runs without an execution the operator can see. Workers send
//! through plain SQS.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::Client;
use serde_json::json;
use soulprint_core::jobs::Job;
use soulprint_core::ports::{Delivery, Queue, QueueError, QueueName, Supervisor, SupervisorError};

/// Step Functions caps a task's error name at 256 characters and its cause at 32,768.
const ERROR_CHARS: usize = 256;
const CAUSE_CHARS: usize = 32_768;

/// Heartbeats for one token closer together than this are not sent: every recorded fact
/// batch beats, thousands an import, where the state needs one in 20 minutes.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);

pub struct StepFunctionsSupervisor {
    client: Client,
    /// The last token this process beat for, and when.
    last_beat: Mutex<Option<(String, Instant)>>,
}

impl StepFunctionsSupervisor {
    pub fn new(client: Client) -> Self {
        StepFunctionsSupervisor {
            client,
            last_beat: Mutex::new(None),
        }
    }

    /// Whether a heartbeat for `token` is due (and, if so, counts it as sent).
    fn beat_due(&self, token: &str) -> bool {
        let mut last = self.last_beat.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((t, at)) if t == token && at.elapsed() < HEARTBEAT_EVERY => false,
            _ => {
                *last = Some((token.to_owned(), Instant::now()));
                true
            }
        }
    }
}

fn supervisor_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> SupervisorError {
    let code = e.code().unwrap_or("").to_owned();
    let text = e
        .message()
        .map(str::to_owned)
        .unwrap_or_else(|| e.to_string());
    match code.as_str() {
        // The execution ended (timed out, stopped, failed): nobody waits for this task.
        "TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken" => {
            SupervisorError::TaskGone(format!("{code}: {text}"))
        }
        _ => SupervisorError::Unavailable(format!("{code}: {text}")),
    }
}

#[async_trait]
impl Supervisor for StepFunctionsSupervisor {
    async fn heartbeat(&self, token: &str) -> Result<(), SupervisorError> {
        if !self.beat_due(token) {
            return Ok(());
        }
        self.client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
            .map_err(supervisor_error)?;
        Ok(())
    }

    async fn succeed(
        &self,
        token: &str,
        output: &serde_json::Value,
    ) -> Result<(), SupervisorError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map_err(supervisor_error)?;
        Ok(())
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), SupervisorError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error.chars().take(ERROR_CHARS).collect::<String>())
            .cause(cause.chars().take(CAUSE_CHARS).collect::<String>())
            .send()
            .await
            .map_err(supervisor_error)?;
        Ok(())
    }
}

/// Starts an execution for each import and each retried full pass; other jobs go to `queue`.
pub struct ExecutionFrontDoor<Q> {
    client: Client,
    state_machine_arn: String,
    queue: Q,
}

impl<Q: Queue> ExecutionFrontDoor<Q> {
    pub fn new(client: Client, state_machine_arn: impl Into<String>, queue: Q) -> Self {
        ExecutionFrontDoor {
            client,
            state_machine_arn: state_machine_arn.into(),
            queue,
        }
    }

    async fn start(
        &self,
        queue: QueueName,
        name: String,
        input: serde_json::Value,
    ) -> Result<(), QueueError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Started before (a retried request): the execution is already there.
            Err(e) if e.code() == Some("ExecutionAlreadyExists") => Ok(()),
            Err(e) => Err(QueueError::Unavailable {
                queue,
                reason: format!(
                    "starting an execution: {}",
                    e.message()
                        .map(str::to_owned)
                        .unwrap_or_else(|| e.to_string())
                ),
            }),
        }
    }
}

/// The state machine's input for a job, and the execution's name (the import id, so that
/// the operator finds an import by its id).
pub fn execution_input(job: &Job) -> Option<(String, serde_json::Value)> {
    match job {
        Job::Import {
            user, import_id, ..
        } => Some((
            import_id.clone(),
            json!({"stage": "quick", "user": user, "import_id": import_id}),
        )),
        Job::FullPass {
            user,
            import_id,
            attempt,
            ..
        } => Some((
            format!("{import_id}-full-{attempt}"),
            json!({"stage": "full", "user": user, "import_id": import_id, "full": {"attempt": attempt}}),
        )),
        _ => None,
    }
}

#[async_trait]
impl<Q: Queue> Queue for ExecutionFrontDoor<Q> {
    async fn send(&self, queue: QueueName, jobs: &[Job]) -> Result<(), QueueError> {
        let mut rest = Vec::new();
        for job in jobs {
            match execution_input(job) {
                Some((name, input)) => self.start(queue, name, input).await?,
                None => rest.push(job.clone()),
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        self.queue.send(queue, &rest).await
    }

    /// A job sent for later is one coming back (its execution is running): straight to its
    /// queue.
    async fn send_later(
        &self,
        queue: QueueName,
        job: &Job,
        delay: std::time::Duration,
    ) -> Result<(), QueueError> {
        self.queue.send_later(queue, job, delay).await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: std::time::Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.queue.receive(queue, max, visibility).await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.queue.ack(queue, receipt).await
    }

    async fn extend(
        &self,
        queue: QueueName,
        receipt: &str,
        visibility: std::time::Duration,
    ) -> Result<(), QueueError> {
        self.queue.extend(queue, receipt, visibility).await
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError> {
        self.queue.depth(queue).await
    }
}
