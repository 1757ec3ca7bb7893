//! `soulprint rename NAME`: the assistant's name is the person's to choose.

use std::process::ExitCode;

use soulprint_core::stages::{rename, RenameError};

use crate::local::{runtime, LocalArgs};

#[derive(clap::Args)]
#[command(about = "Rename your assistant (1 to 50 characters)")]
pub struct Args {
    name: String,
    #[command(flatten)]
    local: LocalArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let user = args.local.user()?;
    let local = args.local.open()?;
    runtime()?.block_on(async {
        match rename(&local.ports, &user, &args.name).await {
            Ok(profile) => {
                eprintln!("Your assistant is now called {}.", profile.ai_name());
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ (RenameError::BadName(_) | RenameError::NoProfile)) => {
                eprintln!("error: {e}");
                Ok(ExitCode::FAILURE)
            }
            Err(e) => Err(e.into()),
        }
    })
}
