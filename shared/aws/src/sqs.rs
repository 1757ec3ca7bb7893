//! Queues in SQS, one per [`QueueName`]. Messages carry the job (ids and keys, never
//! payloads); sends go in batches of 10.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use soulprint_core::jobs::Job;
use soulprint_core::ports::{Delivery, Queue, QueueError, QueueName, MAX_DELAY};

use crate::error_text::described;

pub struct SqsQueue {
    client: Client,
    urls: HashMap<QueueName, String>,
}

impl SqsQueue {
    /// `urls` names the queue URL of every [`QueueName`].
    pub fn new(client: Client, urls: HashMap<QueueName, String>) -> Self {
        SqsQueue { client, urls }
    }

    fn url(&self, queue: QueueName) -> Result<&str, QueueError> {
        self.urls
            .get(&queue)
            .map(String::as_str)
            .ok_or_else(|| QueueError::Unavailable {
                queue,
                reason: "no queue URL configured".into(),
            })
    }
}

fn unavailable<E: std::error::Error>(queue: QueueName) -> impl Fn(E) -> QueueError {
    move |e| QueueError::Unavailable {
        queue,
        reason: described(&e),
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: QueueName, jobs: &[Job]) -> Result<(), QueueError> {
        let url = self.url(queue)?;
        for batch in jobs.chunks(10) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, job)| {
                    let body = serde_json::to_string(job).expect("a job serialises");
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(unavailable(queue))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sent = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable(queue))?;
            if let Some(failed) = sent.failed().first() {
                return Err(QueueError::Unavailable {
                    queue,
                    reason: format!(
                        "{} of {} messages were not sent: {}",
                        sent.failed().len(),
                        batch.len(),
                        failed.message().unwrap_or(failed.code())
                    ),
                });
            }
        }
        Ok(())
    }

    async fn send_later(
        &self,
        queue: QueueName,
        job: &Job,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).expect("a job serialises");
        let seconds = delay.min(MAX_DELAY).as_secs() as i32;
        self.client
            .send_message()
            .queue_url(self.url(queue)?)
            .message_body(body)
            .delay_seconds(seconds)
            .send()
            .await
            .map(drop)
            .map_err(unavailable(queue))
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let received = self
            .client
            .receive_message()
            .queue_url(self.url(queue)?)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs().max(1) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable(queue))?;
        received
            .messages()
            .iter()
            .map(|m| {
                let job = serde_json::from_str(m.body().unwrap_or_default()).map_err(|e| {
                    QueueError::Malformed {
                        queue,
                        reason: e.to_string(),
                    }
                })?;
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Ok(Delivery {
                    job,
                    receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    receive_count,
                    deadline: None,
                })
            })
            .collect()
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(unavailable(queue))?;
        Ok(())
    }

    async fn extend(
        &self,
        queue: QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(self.url(queue)?)
            .receipt_handle(receipt)
            .visibility_timeout(visibility.as_secs() as i32)
            .send()
            .await
            .map_err(unavailable(queue))?;
        Ok(())
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError> {
        let attributes = self
            .client
            .get_queue_attributes()
            .queue_url(self.url(queue)?)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(unavailable(queue))?;
        let count = |name: QueueAttributeName| {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
            + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            + count(QueueAttributeName::ApproximateNumberOfMessagesDelayed))
    }
}
