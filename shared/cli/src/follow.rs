//! Watching an import as the workers move it: a progress bar per stage on a terminal, a line
//! per change otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use soulprint_core::import_state::{FullPassStatus, ImportState, ImportStatus};
use soulprint_core::ports::UserId;
use soulprint_local::Local;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The soulprint is written (or the import failed).
    QuickReady,
    /// The full pass is over too.
    FullPass,
    /// No work is left in the queues.
    Idle,
}

pub async fn follow(
    local: &Local,
    user: &UserId,
    until: Until,
) -> anyhow::Result<Option<ImportState>> {
    let tty = std::io::stderr().is_terminal();
    let bars = MultiProgress::new();
    let mut import_bar: Option<ProgressBar> = None;
    let mut full_bar: Option<ProgressBar> = None;
    let mut last_line = String::new();
    let mut idle_ticks = 0;
    loop {
        let state = local.ports.store.import_state(user).await?.map(|s| s.value);
        if let Some(s) = &state {
            if tty {
                draw(&bars, &mut import_bar, &mut full_bar, s);
            } else {
                let line = describe(s);
                if line != last_line {
                    eprintln!("{line}");
                    last_line = line;
                }
            }
        }
        let quick_over = state
            .as_ref()
            .is_none_or(|s| s.status != ImportStatus::Processing);
        let full_over = state.as_ref().is_none_or(|s| {
            s.status == ImportStatus::Failed
                || matches!(
                    s.full_pass.status,
                    FullPassStatus::Complete | FullPassStatus::Failed
                )
                || (s.status != ImportStatus::Processing
                    && s.full_pass.status == FullPassStatus::None)
        });
        idle_ticks = if local.idle().await {
            idle_ticks + 1
        } else {
            0
        };
        let done = match until {
            Until::QuickReady => quick_over,
            Until::FullPass => quick_over && full_over,
            Until::Idle => idle_ticks >= 3,
        } || (idle_ticks >= 10 && until != Until::QuickReady);
        if done {
            for bar in [import_bar, full_bar].into_iter().flatten() {
                bar.finish();
            }
            return Ok(state);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn draw(
    bars: &MultiProgress,
    import_bar: &mut Option<ProgressBar>,
    full_bar: &mut Option<ProgressBar>,
    s: &ImportState,
) {
    let bar = import_bar.get_or_insert_with(|| {
        let b = bars.add(ProgressBar::new(100));
        b.set_style(
            ProgressStyle::with_template("import     [{bar:30}] {pos:>3}% {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        b
    });
    bar.set_position(u64::from(s.progress_percent));
    bar.set_message(s.stage.clone());
    if s.full_pass.status != FullPassStatus::None {
        let bar = full_bar.get_or_insert_with(|| {
            let b = bars.add(ProgressBar::new(1));
            b.set_style(
                ProgressStyle::with_template(
                    "full pass  [{bar:30}] {pos}/{len} chunks {msg} ({elapsed})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            b
        });
        bar.set_length(s.full_pass.chunks_total.max(1));
        bar.set_position(s.full_pass.chunks_done);
        bar.set_message(s.full_pass.status.to_string());
    }
}

/// One line of where the import stands.
pub fn describe(s: &ImportState) -> String {
    let mut line = format!("import {}: {}% {}", s.status, s.progress_percent, s.stage);
    if s.full_pass.status != FullPassStatus::None {
        line.push_str(&format!(
            "; full pass {}: {}/{} chunks",
            s.full_pass.status, s.full_pass.chunks_done, s.full_pass.chunks_total
        ));
    }
    line
}
