//! The life of an import, as the person and the operator see it.
//!
//! ```text
//! import:    none → processing → quick_ready → complete
//!                        └──────→ failed          (the import itself failed)
//! full pass: none → processing → complete | failed (a failed full pass leaves the import
//!                                                  quick_ready, and can be retried)
//! ```
//! Progress never goes back: two writers racing (a retried worker, a redelivered message) can
//! only move it forward. These rules are the domain's; every store applies them through
//! [`ImportState`] (a store's own conditional writes then only need to guard the version).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// An import processing for longer than this is taken as stuck: a new one may start.
pub const STUCK_AFTER: Duration = Duration::minutes(15);
/// A full pass that records no batch for this long is stuck, and fails (it can be retried). It
/// is the one definition of "stuck": the state machine's heartbeat for the Full state and
/// the operator's alarms use the same window. A pass that keeps moving runs as long as the
/// export needs.
pub const STALLED_AFTER: Duration = Duration::minutes(30);
/// `import_error` keeps the first this-many characters of the reason.
pub const MAX_ERROR_CHARS: usize = 500;

/// Where the import stands (the first line of the diagram above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// No import yet.
    None,
    /// Reading the export and writing the soulprint.
    Processing,
    /// The soulprint is written: the person can chat while the full pass runs.
    QuickReady,
    /// The full pass has written the memory too.
    Complete,
    /// The import itself failed; `error` says why.
    Failed,
}

/// Where the full pass stands (the second line of the diagram above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullPassStatus {
    /// Not started.
    None,
    /// Running, or waiting in a queue to run.
    Processing,
    /// The memory is written.
    Complete,
    /// Failed or ran out of time; the import stays quick_ready and the pass can be retried.
    Failed,
}

/// The import's stages, with the progress each starts at and the words the person sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The import is recorded; nothing read yet.
    Starting,
    /// Opening the stored export.
    Downloading,
    /// Reading the export into normalised conversations.
    Parsing,
    /// The quick pass: writing the soulprint from a sample.
    GeneratingSoulprint,
    /// The soulprint is written.
    Complete,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Starting,
        Stage::Downloading,
        Stage::Parsing,
        Stage::GeneratingSoulprint,
        Stage::Complete,
    ];

    /// The stage whose words these are.
    fn from_words(words: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.words() == words)
    }

    /// The progress the stage starts at, in percent.
    pub fn percent(self) -> u8 {
        match self {
            Stage::Starting | Stage::Downloading => 0,
            Stage::Parsing => 20,
            Stage::GeneratingSoulprint => 50,
            Stage::Complete => 100,
        }
    }

    /// What the person sees while the stage runs (kept in `ImportState::stage`).
    pub fn words(self) -> &'static str {
        match self {
            Stage::Starting => "Starting…",
            Stage::Downloading => "Downloading export",
            Stage::Parsing => "Parsing conversations",
            Stage::GeneratingSoulprint => "Generating soulprint",
            Stage::Complete => "Complete",
        }
    }
}

/// The full pass's part of an import's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullPass {
    /// Where it stands.
    pub status: FullPassStatus,
    /// Which run this is: 1 for the first, one more for each retry.
    #[serde(default)]
    pub attempt: u32,
    /// The supervisor's token for the run, when one waits.
    #[serde(default)]
    pub task_token: Option<String>,
    /// Chunks read so far in this run, failed ones included; never goes back, never past
    /// `chunks_total`.
    pub chunks_done: u64,
    /// Chunks in this run, once it is planned; 0 before.
    pub chunks_total: u64,
    /// Why the run failed, cut to [`MAX_ERROR_CHARS`] characters.
    pub error: Option<String>,
    /// When a worker took the run up; none while it waits in a queue.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When the run last moved (a batch recorded): it is stuck [`STALLED_AFTER`] later.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub progressed_at: Option<OffsetDateTime>,
}

impl FullPass {
    /// Seconds the run may still take, at the pace of its chunks so far: none before a chunk
    /// is done or once it ended. A pace, not a promise: a throttled model slows it.
    pub fn seconds_left(&self) -> Option<u64> {
        if self.status != FullPassStatus::Processing || self.chunks_done == 0 {
            return None;
        }
        let spent = (self.progressed_at? - self.started_at?).as_seconds_f64();
        if spent <= 0.0 {
            return None;
        }
        let left = self.chunks_total.saturating_sub(self.chunks_done) as f64;
        Some((left * spent / self.chunks_done as f64).ceil() as u64)
    }
}

/// A user's current import and its full pass, as stored; every change goes through its methods,
/// which hold the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportState {
    /// Names this import; a change meant for another id is refused.
    pub import_id: String,
    /// Where the import stands.
    pub status: ImportStatus,
    /// 0 to 100; only rises.
    pub progress_percent: u8,
    /// The current stage's words ([`Stage::words`]), or `Failed`.
    pub stage: String,
    /// Why the import failed, cut to [`MAX_ERROR_CHARS`] characters.
    pub error: Option<String>,
    /// When the import began; it counts as stuck [`STUCK_AFTER`] from here.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When anything in it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Where the export is stored (a path under the user's blob prefix).
    #[serde(default)]
    pub export_path: String,
    /// The full pass, which starts once the import is quick_ready.
    pub full_pass: FullPass,
}

/// A change the rules do not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Another import is processing and is not yet stuck.
    #[error(
        "an import has been processing since {since} (for less than {} minutes); wait for it, \
         or start again once it has been stuck that long",
        STUCK_AFTER.whole_minutes()
    )]
    AlreadyProcessing {
        /// When that import began.
        since: OffsetDateTime,
    },
    /// The change is meant for an import that another has replaced.
    #[error("import {stale} was replaced by import {current}; its work is dropped")]
    Superseded {
        /// The replaced import's id.
        stale: String,
        /// The current import's id.
        current: String,
    },
    /// The change is meant for a run of the full pass that a retry has replaced.
    #[error("full pass run {stale} was replaced by run {current}; its work is dropped")]
    StaleRun {
        /// The run the change was meant for.
        stale: u32,
        /// The current run.
        current: u32,
    },
    /// The import's status does not allow the move.
    #[error("the import is {from}, so it cannot become {to}")]
    Import {
        /// The status it has.
        from: ImportStatus,
        /// The status asked for.
        to: ImportStatus,
    },
    /// The full pass's status, or the import's, does not allow the move.
    #[error("the full pass is {from}, so it cannot become {to} (the import is {import})")]
    FullPass {
        /// The full pass's status.
        from: FullPassStatus,
        /// The status asked for.
        to: FullPassStatus,
        /// The import's status (the full pass moves only while it is quick_ready).
        import: ImportStatus,
    },
}

impl fmt::Display for ImportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImportStatus::None => "none",
            ImportStatus::Processing => "processing",
            ImportStatus::QuickReady => "quick_ready",
            ImportStatus::Complete => "complete",
            ImportStatus::Failed => "failed",
        })
    }
}

impl fmt::Display for FullPassStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FullPassStatus::None => "none",
            FullPassStatus::Processing => "processing",
            FullPassStatus::Complete => "complete",
            FullPassStatus::Failed => "failed",
        })
    }
}

impl ImportState {
    /// A new import, replacing `previous` unless that one is still processing and not stuck.
    pub fn begin(
        previous: Option<&ImportState>,
        import_id: impl Into<String>,
        now: OffsetDateTime,
    ) -> Result<ImportState, TransitionError> {
        if let Some(p) = previous {
            if p.status == ImportStatus::Processing && now - p.started_at < STUCK_AFTER {
                return Err(TransitionError::AlreadyProcessing {
                    since: p.started_at,
                });
            }
        }
        Ok(ImportState {
            import_id: import_id.into(),
            status: ImportStatus::Processing,
            progress_percent: Stage::Starting.percent(),
            stage: Stage::Starting.words().to_owned(),
            error: None,
            started_at: now,
            updated_at: now,
            export_path: String::new(),
            full_pass: FullPass {
                status: FullPassStatus::None,
                attempt: 0,
                task_token: None,
                chunks_done: 0,
                chunks_total: 0,
                error: None,
                started_at: None,
                progressed_at: None,
            },
        })
    }

    /// Moves to `stage`; stages and progress only ever go forward (a late or repeated update
    /// is a no-op).
    pub fn advance(
        &mut self,
        import_id: &str,
        stage: Stage,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check(import_id)?;
        let current = Stage::from_words(&self.stage).unwrap_or(Stage::Starting);
        if self.status != ImportStatus::Processing || stage <= current {
            return Ok(());
        }
        self.progress_percent = stage.percent();
        self.stage = stage.words().to_owned();
        self.updated_at = now;
        Ok(())
    }

    /// Progress within the current stage (reading a large export takes a while): rises, never
    /// past the next stage's start, never back.
    pub fn progress(
        &mut self,
        import_id: &str,
        percent: u8,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check(import_id)?;
        let current = Stage::from_words(&self.stage).unwrap_or(Stage::Starting);
        let ceiling = Stage::ALL
            .into_iter()
            .find(|s| *s > current && s.percent() > current.percent())
            .map_or(99, |s| s.percent() - 1);
        let percent = percent.min(ceiling);
        if self.status == ImportStatus::Processing && percent > self.progress_percent {
            self.progress_percent = percent;
            self.updated_at = now;
        }
        Ok(())
    }

    /// Refuses a change meant for another import: a worker of a replaced import must not
    /// touch the one that replaced it.
    fn check(&self, import_id: &str) -> Result<(), TransitionError> {
        if self.import_id == import_id {
            Ok(())
        } else {
            Err(TransitionError::Superseded {
                stale: import_id.to_owned(),
                current: self.import_id.clone(),
            })
        }
    }

    /// The soulprint is written: the person can chat.
    pub fn quick_ready(
        &mut self,
        import_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check(import_id)?;
        self.import_to(ImportStatus::QuickReady, &[ImportStatus::Processing])?;
        self.progress_percent = Stage::Complete.percent();
        self.stage = Stage::Complete.words().to_owned();
        self.updated_at = now;
        Ok(())
    }

    /// The import failed: `reason` is kept, cut to [`MAX_ERROR_CHARS`].
    pub fn fail(
        &mut self,
        import_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check(import_id)?;
        self.import_to(ImportStatus::Failed, &[ImportStatus::Processing])?;
        self.error = Some(reason.chars().take(MAX_ERROR_CHARS).collect());
        self.stage = "Failed".to_owned();
        self.updated_at = now;
        Ok(())
    }

    /// The full pass starts, first time or again after a failure.
    pub fn start_full_pass(
        &mut self,
        import_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check(import_id)?;
        self.full_pass_to(
            FullPassStatus::Processing,
            &[FullPassStatus::None, FullPassStatus::Failed],
        )?;
        self.full_pass.attempt += 1;
        self.full_pass.chunks_done = 0;
        self.full_pass.chunks_total = 0;
        self.full_pass.error = None;
        // The clock starts when a worker takes the run up, not while it waits in a queue.
        self.full_pass.started_at = None;
        self.full_pass.progressed_at = None;
        self.updated_at = now;
        Ok(())
    }

    /// A worker takes the run up: its time limit starts (once).
    pub fn full_pass_began(
        &mut self,
        import_id: &str,
        attempt: u32,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check_run(import_id, attempt)?;
        if self.full_pass.status == FullPassStatus::Processing
            && self.full_pass.started_at.is_none()
        {
            self.full_pass.started_at = Some(now);
            self.updated_at = now;
        }
        Ok(())
    }

    /// Refuses a change meant for another run of the full pass.
    fn check_run(&self, import_id: &str, attempt: u32) -> Result<(), TransitionError> {
        self.check(import_id)?;
        if self.full_pass.attempt == attempt {
            Ok(())
        } else {
            Err(TransitionError::StaleRun {
                stale: attempt,
                current: self.full_pass.attempt,
            })
        }
    }

    /// Chunks done of total; never goes back.
    pub fn full_pass_progress(
        &mut self,
        import_id: &str,
        attempt: u32,
        done: u64,
        total: u64,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check_run(import_id, attempt)?;
        if self.full_pass.status != FullPassStatus::Processing {
            return Ok(());
        }
        self.full_pass.chunks_total = self.full_pass.chunks_total.max(total);
        self.full_pass.chunks_done = self
            .full_pass
            .chunks_done
            .max(done)
            .min(self.full_pass.chunks_total);
        self.full_pass.progressed_at = Some(now);
        self.updated_at = now;
        Ok(())
    }

    /// Memory is written: the import is complete.
    pub fn complete_full_pass(
        &mut self,
        import_id: &str,
        attempt: u32,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check_run(import_id, attempt)?;
        self.full_pass_to(FullPassStatus::Complete, &[FullPassStatus::Processing])?;
        self.status = ImportStatus::Complete;
        self.full_pass.chunks_done = self.full_pass.chunks_total;
        self.updated_at = now;
        Ok(())
    }

    /// The full pass failed: the import stays quick_ready, chat keeps working.
    pub fn fail_full_pass(
        &mut self,
        import_id: &str,
        attempt: u32,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), TransitionError> {
        self.check_run(import_id, attempt)?;
        self.full_pass_to(FullPassStatus::Failed, &[FullPassStatus::Processing])?;
        self.full_pass.error = Some(reason.chars().take(MAX_ERROR_CHARS).collect());
        self.updated_at = now;
        Ok(())
    }

    /// Whether the full pass has stopped moving ([`STALLED_AFTER`] since it began or last
    /// recorded a batch) and should be failed.
    pub fn full_pass_overdue(&self, now: OffsetDateTime) -> bool {
        let fp = &self.full_pass;
        fp.status == FullPassStatus::Processing
            && fp
                .progressed_at
                .max(fp.started_at)
                .is_some_and(|t| now - t >= STALLED_AFTER)
    }

    fn import_to(
        &mut self,
        to: ImportStatus,
        from: &[ImportStatus],
    ) -> Result<(), TransitionError> {
        if !from.contains(&self.status) {
            return Err(TransitionError::Import {
                from: self.status,
                to,
            });
        }
        self.status = to;
        Ok(())
    }

    fn full_pass_to(
        &mut self,
        to: FullPassStatus,
        from: &[FullPassStatus],
    ) -> Result<(), TransitionError> {
        let import_allows = self.status == ImportStatus::QuickReady;
        if !import_allows || !from.contains(&self.full_pass.status) {
            return Err(TransitionError::FullPass {
                from: self.full_pass.status,
                to,
                import: self.status,
            });
        }
        self.full_pass.status = to;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_left_follows_the_pace_so_far() {
        let mut s = ready();
        assert_eq!(s.full_pass.seconds_left(), None, "not started");
        s.full_pass.status = FullPassStatus::Processing;
        s.full_pass.started_at = Some(t(10));
        s.full_pass.progressed_at = Some(t(20));
        s.full_pass.chunks_total = 400;
        assert_eq!(s.full_pass.seconds_left(), None, "nothing done yet");
        s.full_pass.chunks_done = 100;
        // 100 chunks in 10 minutes: 300 more take 30.
        assert_eq!(s.full_pass.seconds_left(), Some(30 * 60));
        s.full_pass.status = FullPassStatus::Complete;
        assert_eq!(s.full_pass.seconds_left(), None);
    }

    use super::*;

    fn t(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    fn ready() -> ImportState {
        let mut s = ImportState::begin(None, "i1", t(0)).unwrap();
        s.quick_ready("i1", t(1)).unwrap();
        s
    }

    #[test]
    fn a_second_import_is_refused_while_one_processes_unless_it_is_stuck() {
        let first = ImportState::begin(None, "i1", t(0)).unwrap();
        let err = ImportState::begin(Some(&first), "i2", t(14)).unwrap_err();
        assert!(matches!(err, TransitionError::AlreadyProcessing { .. }));
        assert!(err.to_string().contains("15 minutes"), "{err}");
        let second = ImportState::begin(Some(&first), "i2", t(15)).unwrap();
        assert_eq!(second.import_id, "i2");
        let done = ready();
        assert!(ImportState::begin(Some(&done), "i3", t(2)).is_ok());
    }

    #[test]
    fn progress_never_goes_back() {
        let mut s = ImportState::begin(None, "i1", t(0)).unwrap();
        s.advance("i1", Stage::GeneratingSoulprint, t(1)).unwrap();
        s.advance("i1", Stage::Parsing, t(2)).unwrap(); // a late writer
        assert_eq!(
            (s.progress_percent, s.stage.as_str()),
            (50, "Generating soulprint")
        );
        s.quick_ready("i1", t(3)).unwrap();
        s.advance("i1", Stage::Parsing, t(4)).unwrap();
        assert_eq!(s.progress_percent, 100);
        assert_eq!(s.status, ImportStatus::QuickReady);
    }

    #[test]
    fn failure_keeps_the_first_500_characters_of_the_reason() {
        let mut s = ImportState::begin(None, "i1", t(0)).unwrap();
        s.fail("i1", &"x".repeat(2000), t(1)).unwrap();
        assert_eq!(s.status, ImportStatus::Failed);
        assert_eq!(s.error.as_ref().unwrap().len(), 500);
        assert!(
            s.quick_ready("i1", t(2)).is_err(),
            "a failed import stays failed"
        );
    }

    #[test]
    fn a_failed_full_pass_leaves_the_import_quick_ready_and_can_be_retried() {
        let mut s = ready();
        assert!(s.complete_full_pass("i1", 0, t(2)).is_err(), "not started");
        s.start_full_pass("i1", t(2)).unwrap();
        assert!(
            !s.full_pass_overdue(t(60)),
            "waiting in a queue is not running"
        );
        s.full_pass_began("i1", 1, t(2)).unwrap();
        s.full_pass_progress("i1", 1, 3, 10, t(3)).unwrap();
        s.full_pass_progress("i1", 1, 2, 10, t(4)).unwrap(); // a redelivered batch reporting late
        assert_eq!(s.full_pass.chunks_done, 3);
        // Stuck is measured from the last batch recorded, not from the start: a run that
        // keeps moving runs as long as it needs.
        assert!(!s.full_pass_overdue(t(33)));
        s.full_pass_progress("i1", 1, 5, 10, t(60)).unwrap();
        assert!(!s.full_pass_overdue(t(89)));
        assert!(s.full_pass_overdue(t(90)));
        s.fail_full_pass("i1", 1, "recorded no batch for 30 minutes", t(90))
            .unwrap();
        assert_eq!(s.status, ImportStatus::QuickReady);
        assert_eq!(s.full_pass.status, FullPassStatus::Failed);
        s.start_full_pass("i1", t(95)).unwrap();
        assert_eq!(
            (s.full_pass.chunks_done, s.full_pass.error.as_deref()),
            (0, None)
        );
        // The first run's late workers touch nothing of the second.
        let stale = s.full_pass_progress("i1", 1, 9, 10, t(41)).unwrap_err();
        assert!(matches!(
            stale,
            TransitionError::StaleRun {
                stale: 1,
                current: 2
            }
        ));
        assert!(s.complete_full_pass("i1", 1, t(41)).is_err());
        assert_eq!(s.full_pass.chunks_done, 0);
        s.full_pass_progress("i1", 2, 10, 10, t(41)).unwrap();
        s.complete_full_pass("i1", 2, t(42)).unwrap();
        assert_eq!(s.status, ImportStatus::Complete);
        assert!(s.start_full_pass("i1", t(43)).is_err(), "complete is final");
    }

    #[test]
    fn stages_never_go_back_and_a_replaced_import_is_left_alone() {
        let first = ImportState::begin(None, "i1", t(0)).unwrap();
        let mut s = ImportState::begin(Some(&first), "i2", t(16)).unwrap();
        s.advance("i2", Stage::Downloading, t(17)).unwrap();
        s.advance("i2", Stage::Starting, t(18)).unwrap();
        assert_eq!(s.stage, "Downloading export");
        let err = s.quick_ready("i1", t(19)).unwrap_err();
        assert!(matches!(err, TransitionError::Superseded { .. }), "{err}");
        assert_eq!(s.status, ImportStatus::Processing);
    }

    #[test]
    fn stuck_is_measured_from_the_start_not_the_last_update() {
        let mut s = ImportState::begin(None, "i1", t(0)).unwrap();
        s.advance("i1", Stage::Parsing, t(14)).unwrap();
        assert!(ImportState::begin(Some(&s), "i2", t(15)).is_ok());
    }

    #[test]
    fn the_full_pass_needs_a_quick_ready_import() {
        let mut s = ImportState::begin(None, "i1", t(0)).unwrap();
        let err = s.start_full_pass("i1", t(1)).unwrap_err();
        assert!(
            err.to_string().contains("the import is processing"),
            "{err}"
        );
    }
}
