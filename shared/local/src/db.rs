//! The embedded database: one SQLite file holding state and the durable queues.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

/// A shared connection. Calls are short (a row or a transaction), so one connection behind a
/// mutex serves the few workers of one machine.
#[derive(Clone)]
pub struct Database {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS import_state (
    user TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS profile (
    user TEXT PRIMARY KEY, profile TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_plan (
    user TEXT NOT NULL, import_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    batches INTEGER NOT NULL, chunks INTEGER NOT NULL,
    batches_done INTEGER NOT NULL DEFAULT 0, chunks_done INTEGER NOT NULL DEFAULT 0,
    failed_chunks INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user, import_id, attempt));
CREATE TABLE IF NOT EXISTS run_batch (
    user TEXT NOT NULL, import_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    batch INTEGER NOT NULL, facts TEXT NOT NULL,
    PRIMARY KEY (user, import_id, attempt, batch));
CREATE TABLE IF NOT EXISTS memory_fact (
    user TEXT NOT NULL, ord INTEGER NOT NULL, id TEXT NOT NULL, fact TEXT NOT NULL,
    PRIMARY KEY (user, ord));
CREATE TABLE IF NOT EXISTS memory_revision (
    user TEXT PRIMARY KEY, revision INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tombstone (
    user TEXT NOT NULL, ord INTEGER PRIMARY KEY AUTOINCREMENT, tombstone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spend (
    user TEXT NOT NULL, month TEXT NOT NULL, micros INTEGER NOT NULL,
    PRIMARY KEY (user, month));
CREATE TABLE IF NOT EXISTS usage (
    user TEXT NOT NULL, import_id TEXT NOT NULL, key TEXT NOT NULL, usage TEXT NOT NULL,
    PRIMARY KEY (user, import_id, key));
CREATE TABLE IF NOT EXISTS idempotency (
    user TEXT NOT NULL, key TEXT NOT NULL, completed INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, PRIMARY KEY (user, key));
CREATE TABLE IF NOT EXISTS chat_message (
    user TEXT NOT NULL, thread_id TEXT NOT NULL, seq INTEGER NOT NULL, message TEXT NOT NULL,
    at TEXT NOT NULL, PRIMARY KEY (user, thread_id, seq));
CREATE TABLE IF NOT EXISTS forgotten (
    user TEXT PRIMARY KEY, since TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, body TEXT NOT NULL,
    visible_at INTEGER NOT NULL, receipt TEXT, receive_count INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue_ready ON queue (queue, visible_at, id);
";

impl Database {
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Database {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A private database in memory (tests).
    pub fn in_memory() -> rusqlite::Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(Database {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Leaves nothing deleted readable on disk: the file rewritten without free pages (a
    /// database older than `secure_delete` may hold deleted text in them), and the
    /// write-ahead log, which keeps earlier versions of pages, emptied. For forgetting a
    /// person; slow in proportion to the file.
    pub(crate) fn scrub(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch("VACUUM;")?;
        Self::empty_wal(conn)
    }

    /// Empties the write-ahead log into the database: earlier versions of changed pages (a
    /// deleted fact's text among them) are gone from it.
    pub(crate) fn empty_wal(conn: &Connection) -> rusqlite::Result<()> {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
