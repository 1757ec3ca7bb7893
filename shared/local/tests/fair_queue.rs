//! The local queue hands out work in fair shares: one person's jobs, however many or slow,
//! never hold back another person's.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap fails it, with its line

use std::time::Duration;

use soulprint_core::jobs::Job;
use soulprint_core::ports::{Queue, QueueName, UserId};
use soulprint_local::{Database, SqliteQueue};

fn import(user: &str, n: u32) -> Job {
    Job::Import {
        user: UserId::new(user).unwrap(),
        import_id: format!("{n:032x}"),
        task_token: None,
    }
}

#[tokio::test]
async fn a_person_with_work_in_hand_waits_behind_one_with_none() {
    let queue = SqliteQueue::new(Database::in_memory().unwrap());
    let minute = Duration::from_secs(60);
    // Ana queued three imports (a bomb, say), then Bo one.
    queue
        .send(
            QueueName::Imports,
            &[import("ana", 1), import("ana", 2), import("ana", 3)],
        )
        .await
        .unwrap();
    queue
        .send(QueueName::Imports, &[import("bo", 4)])
        .await
        .unwrap();
    let first = queue.receive(QueueName::Imports, 1, minute).await.unwrap();
    assert_eq!(first[0].job.user().as_str(), "ana", "oldest first");
    // Ana's first is in hand: the next worker takes Bo's, not Ana's second.
    let second = queue.receive(QueueName::Imports, 1, minute).await.unwrap();
    assert_eq!(second[0].job.user().as_str(), "bo");
    // With both in hand, Ana's second comes next (nobody else waits).
    let third = queue.receive(QueueName::Imports, 1, minute).await.unwrap();
    assert_eq!(third[0].job.import_id(), format!("{:032x}", 2));
}
