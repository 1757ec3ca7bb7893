//! What every [`Queue`] must do: at-least-once delivery with visibility timeouts.

use std::sync::Arc;
use std::time::Duration;

use soulprint_core::jobs::Job;
use soulprint_core::ports::{Queue, QueueName, UserId};

fn job(n: u32) -> Job {
    Job::FactBatch {
        user: UserId::new("q-user").unwrap(),
        import_id: "i1".into(),
        attempt: 1,
        batch: n,
    }
}

const LONG: Duration = Duration::from_secs(60);

/// Receives until something comes (remote queues may take a moment).
async fn receive_one(
    queue: &Arc<dyn Queue>,
    q: QueueName,
    visibility: Duration,
) -> Vec<soulprint_core::ports::Delivery> {
    for _ in 0..50 {
        let got = queue.receive(q, 10, visibility).await.unwrap();
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Vec::new()
}

/// Sent jobs come once each, hidden while received and gone once acknowledged; other queues are
/// apart.
pub async fn a_message_is_delivered_until_acknowledged(queue: Arc<dyn Queue>) {
    let q = QueueName::Facts;
    queue.send(q, &[job(1), job(2)]).await.unwrap();
    let mut got = receive_one(&queue, q, LONG).await;
    if got.len() < 2 {
        got.extend(receive_one(&queue, q, LONG).await);
    }
    let mut batches: Vec<u32> = got
        .iter()
        .map(|d| match d.job {
            Job::FactBatch { batch, .. } => batch,
            _ => panic!("not the job sent"),
        })
        .collect();
    batches.sort();
    assert_eq!(batches, [1, 2]);
    assert!(got.iter().all(|d| d.receive_count == 1));
    // Hidden while received.
    assert!(queue.receive(q, 10, LONG).await.unwrap().is_empty());
    for d in &got {
        queue.ack(q, &d.receipt).await.unwrap();
    }
    assert_eq!(queue.depth(q).await.unwrap(), 0);
    // Other queues are apart.
    assert!(queue
        .receive(QueueName::Imports, 10, LONG)
        .await
        .unwrap()
        .is_empty());
}

/// A message not acknowledged within its visibility timeout comes back, its receive count raised.
pub async fn an_unacknowledged_message_is_redelivered(queue: Arc<dyn Queue>) {
    let q = QueueName::Finalize;
    queue.send(q, &[job(7)]).await.unwrap();
    let first = receive_one(&queue, q, Duration::from_secs(1)).await;
    assert_eq!(first.len(), 1);
    // The worker dies; the message comes back with a higher count.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = receive_one(&queue, q, LONG).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job, job(7));
    assert_eq!(again[0].receive_count, 2);
    queue.ack(q, &again[0].receipt).await.unwrap();
    assert_eq!(queue.depth(q).await.unwrap(), 0);
}

/// Extending a message's visibility keeps it hidden past its first timeout, still in the depth.
pub async fn extending_keeps_a_message_hidden(queue: Arc<dyn Queue>) {
    let q = QueueName::FullPass;
    queue.send(q, &[job(3)]).await.unwrap();
    let got = receive_one(&queue, q, Duration::from_secs(1)).await;
    assert_eq!(got.len(), 1);
    queue.extend(q, &got[0].receipt, LONG).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(queue.receive(q, 10, LONG).await.unwrap().is_empty());
    assert_eq!(queue.depth(q).await.unwrap(), 1);
    queue.ack(q, &got[0].receipt).await.unwrap();
    assert_eq!(queue.depth(q).await.unwrap(), 0);
}

/// A job sent for later stays hidden until its delay passes, counted in the depth, then comes
/// as a first delivery.
pub async fn a_job_sent_later_waits_its_delay(queue: Arc<dyn Queue>) {
    let q = QueueName::Imports;
    queue
        .send_later(q, &job(9), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(queue.receive(q, 10, LONG).await.unwrap().is_empty());
    assert_eq!(queue.depth(q).await.unwrap(), 1, "waiting, not lost");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let got = receive_one(&queue, q, LONG).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].job, job(9));
    assert_eq!(got[0].receive_count, 1);
    queue.ack(q, &got[0].receipt).await.unwrap();
}
