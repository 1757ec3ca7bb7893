//! `soulprint forget`: every trace of the person gone.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use crate::local::{runtime, LocalArgs};

#[derive(clap::Args)]
#[command(
    about = "Forget the person entirely: exports, conversations, soulprint, memory, pending work",
    long_about = "Delete every trace of the person from the data directory: the stored exports \
and conversations, the soulprint, every fact, the import's state and usage, and their pending \
jobs. It cannot be undone. Asks first on a terminal; --yes skips the question."
)]
pub struct Args {
    /// Do not ask.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("error: forgetting cannot be undone: pass --yes to confirm");
            return Ok(ExitCode::from(2));
        }
        eprint!("Forget everything SoulPrint knows about you? This cannot be undone. [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing was deleted.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let local = args.local.open()?;
    // No worker of another process may write the person back while they are forgotten.
    let _held = local.hold()?;
    runtime()?.block_on(async {
        local.ports.store.forget(&user).await?;
        local.ports.blobs.delete_user(&user).await?;
        eprintln!(
            "Forgotten: nothing about you is left in {}.",
            args.local.data_dir()?.display()
        );
        Ok(ExitCode::SUCCESS)
    })
}
