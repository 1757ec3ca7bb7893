//! Durable queues as a table: a message is a row, receiving hides it until its visibility
//! timeout, acknowledging deletes it. A killed process loses nothing: its messages become
//! visible again (at once, when the next process starts: see [`SqliteQueue::reclaim`]).

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use soulprint_core::jobs::Job;
use soulprint_core::ports::{Delivery, Queue, QueueError, QueueName, MAX_DELAY};

use crate::db::Database;

#[derive(Clone)]
pub struct SqliteQueue {
    db: Database,
}

impl SqliteQueue {
    pub fn new(db: Database) -> Self {
        SqliteQueue { db }
    }

    /// Whether any job of `user` waits or runs.
    pub fn has_jobs_for(&self, user: &soulprint_core::ports::UserId) -> Result<bool, QueueError> {
        let conn = self.db.lock();
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM queue WHERE json_extract(body, '$.user') = ?1)",
            params![user.as_str()],
            |r| r.get::<_, bool>(0),
        )
        .map_err(|e| unavailable(QueueName::Imports, e))
    }

    /// Makes every message in flight visible again. Only for the start of the one process
    /// that drains these queues: whatever it held before was held by a process now dead.
    pub fn reclaim(&self) -> Result<u64, QueueError> {
        let conn = self.db.lock();
        conn.execute(
            "UPDATE queue SET visible_at = 0, receipt = NULL WHERE receipt IS NOT NULL",
            [],
        )
        .map(|n| n as u64)
        .map_err(|e| unavailable(QueueName::Imports, e))
    }
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn unavailable(queue: QueueName, e: rusqlite::Error) -> QueueError {
    QueueError::Unavailable {
        queue,
        reason: e.to_string(),
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send(&self, queue: QueueName, jobs: &[Job]) -> Result<(), QueueError> {
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(|e| unavailable(queue, e))?;
        for job in jobs {
            let body = serde_json::to_string(job).expect("a job serialises");
            tx.execute(
                "INSERT INTO queue (queue, body, visible_at) VALUES (?1, ?2, 0)",
                params![queue.as_str(), body],
            )
            .map_err(|e| unavailable(queue, e))?;
        }
        tx.commit().map_err(|e| unavailable(queue, e))
    }

    async fn send_later(
        &self,
        queue: QueueName,
        job: &Job,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).expect("a job serialises");
        let visible_at = now_ms() + delay.min(MAX_DELAY).as_millis() as i64;
        self.db
            .lock()
            .execute(
                "INSERT INTO queue (queue, body, visible_at) VALUES (?1, ?2, ?3)",
                params![queue.as_str(), body, visible_at],
            )
            .map(drop)
            .map_err(|e| unavailable(queue, e))
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let now = now_ms();
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(|e| unavailable(queue, e))?;
        let rows: Vec<(i64, String, u32)> = {
            // Fair shares: each person's oldest waiting job, those of people with the fewest
            // jobs in hand first, so that one person's long or hostile import never holds
            // back another's.
            let mut stmt = tx
                .prepare_cached(
                    "WITH busy AS (
                         SELECT json_extract(body, '$.user') AS user, COUNT(*) AS n FROM queue
                         WHERE queue = ?1 AND visible_at > ?2 AND receipt IS NOT NULL
                         GROUP BY user),
                     first AS (
                         SELECT json_extract(body, '$.user') AS user, MIN(id) AS id FROM queue
                         WHERE queue = ?1 AND visible_at <= ?2
                         GROUP BY user)
                     SELECT q.id, q.body, q.receive_count
                     FROM first f JOIN queue q ON q.id = f.id
                     LEFT JOIN busy b ON b.user = f.user
                     ORDER BY COALESCE(b.n, 0), f.id LIMIT ?3",
                )
                .map_err(|e| unavailable(queue, e))?;
            let rows = stmt
                .query_map(params![queue.as_str(), now, max as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(|e| unavailable(queue, e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| unavailable(queue, e))?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (id, body, count) in rows {
            let receipt = format!("{id}:{}", uuid::Uuid::now_v7().simple());
            tx.execute(
                "UPDATE queue SET visible_at = ?1, receipt = ?2, receive_count = ?3 WHERE id = ?4",
                params![now + visibility.as_millis() as i64, receipt, count + 1, id],
            )
            .map_err(|e| unavailable(queue, e))?;
            let job: Job = match serde_json::from_str(&body) {
                Ok(job) => job,
                Err(e) => {
                    // Nothing can ever handle it: drop it, loudly.
                    tx.execute("DELETE FROM queue WHERE id = ?1", params![id])
                        .map_err(|e| unavailable(queue, e))?;
                    tracing::error!(queue = %queue, error = %e, "dropped a message that is not a job");
                    continue;
                }
            };
            out.push(Delivery {
                job,
                receipt,
                receive_count: count + 1,
                deadline: None,
            });
        }
        tx.commit().map_err(|e| unavailable(queue, e))?;
        Ok(out)
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let conn = self.db.lock();
        conn.execute(
            "DELETE FROM queue WHERE queue = ?1 AND receipt = ?2",
            params![queue.as_str(), receipt],
        )
        .map_err(|e| unavailable(queue, e))?;
        Ok(())
    }

    async fn extend(
        &self,
        queue: QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        let conn = self.db.lock();
        conn.execute(
            "UPDATE queue SET visible_at = ?1 WHERE queue = ?2 AND receipt = ?3",
            params![
                now_ms() + visibility.as_millis() as i64,
                queue.as_str(),
                receipt
            ],
        )
        .map_err(|e| unavailable(queue, e))?;
        Ok(())
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, QueueError> {
        let conn = self.db.lock();
        conn.query_row(
            "SELECT COUNT(*) FROM queue WHERE queue = ?1",
            params![queue.as_str()],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|n| n.unwrap_or(0) as u64)
        .map_err(|e| unavailable(queue, e))
    }
}
