//! A batch of jobs from an SQS event source. Each message is handled on its own and only the
//! ones that failed in a way that may pass are reported back (`ReportBatchItemFailures`), so
//! one bad message never replays its neighbours. A message that is not a job, or a job of
//! another queue than the worker's, is reported too: it reaches the dead-letter queue after
//! `maxReceiveCount`, where the operator sees it.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::{Context, LambdaEvent};
use soulprint_core::jobs::Job;
use soulprint_core::ports::{Delivery, Ports, QueueName};
use soulprint_core::stages::{dead_letter, handle, MAX_RECEIVES};
use tracing::{error, info_span, warn, Instrument};

/// Handles the jobs of `queue`, the one queue this worker drains, within the invocation's
/// deadline.
pub async fn handle_batch(
    ports: &Ports,
    queue: QueueName,
    event: LambdaEvent<SqsEvent>,
) -> SqsBatchResponse {
    let deadline = deadline(&event.context);
    let mut response = SqsBatchResponse::default();
    for message in event.payload.records {
        let id = message.message_id.clone().unwrap_or_default();
        if !handle_message(ports, queue, message, deadline).await {
            response.add_failure(id);
        }
    }
    response
}

/// True when the message is done with (done, or failed for good and recorded as such).
/// When the invocation will be stopped; none when the context does not say (a test's).
fn deadline(context: &Context) -> Option<time::OffsetDateTime> {
    let ms = i128::from(context.deadline);
    (ms > 0)
        .then(|| time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).ok())
        .flatten()
}

async fn handle_message(
    ports: &Ports,
    queue: QueueName,
    message: SqsMessage,
    deadline: Option<time::OffsetDateTime>,
) -> bool {
    let body = message.body.as_deref().unwrap_or("");
    let job: Job = match serde_json::from_str(body) {
        Ok(job) => job,
        Err(e) => {
            error!(message_id = ?message.message_id, error = %e, "a message that is not a job");
            return false;
        }
    };
    if job.queue() != queue {
        error!(
            message_id = ?message.message_id,
            user = %job.user(),
            import_id = job.import_id(),
            job_queue = %job.queue(),
            worker_queue = %queue,
            "a job of another queue: this worker refuses it (check the event source mapping)"
        );
        return false;
    }
    let receive_count = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let delivery = Delivery {
        job,
        receipt: message.receipt_handle.unwrap_or_default(),
        receive_count,
        deadline,
    };
    let span = info_span!(
        "job",
        user = %delivery.job.user(),
        import_id = delivery.job.import_id(),
        queue = %delivery.job.queue(),
        receive_count
    );
    async {
        match handle(ports, &delivery).await {
            Ok(()) => true,
            Err(e) if receive_count >= MAX_RECEIVES => {
                warn!(error = %e, "failed on every delivery; recording it as failed");
                dead_letter(ports, &delivery.job, &e.to_string())
                    .await
                    .is_ok()
            }
            Err(e) => {
                warn!(error = %e, "failed; it comes back after the visibility timeout");
                false
            }
        }
    }
    .instrument(span)
    .await
}
