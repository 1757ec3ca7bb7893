//! Renaming the assistant.

use crate::ports::{Ports, StoreError, UserId};
use crate::profile::Profile;

/// Why the assistant could not be renamed.
#[derive(Debug, thiserror::Error)]
pub enum RenameError {
    /// The name is blank, too long or holds control characters; holds the name, trimmed.
    #[error("a name is 1 to 50 characters, not blank; {0:?} is not")]
    BadName(String),
    /// No soulprint yet to rename.
    #[error("there is no soulprint yet: import an export first")]
    NoProfile,
    /// Reading or writing the profile failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Names the assistant `name` (trimmed, 1–50 characters) and renders the soulprint again.
pub async fn rename(ports: &Ports, user: &UserId, name: &str) -> Result<Profile, RenameError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > 50 || name.chars().any(char::is_control) {
        return Err(RenameError::BadName(name.to_owned()));
    }
    let renamed = super::amend_profile(ports, user, |profile| {
        profile.sections.identity.ai_name = name.to_owned();
        Ok(())
    })
    .await
    .map_err(|e| match e {
        super::StageError::Store(e) => RenameError::Store(e),
        other => RenameError::Store(crate::ports::StoreError::Unavailable(other.to_string())),
    })?;
    renamed.ok_or(RenameError::NoProfile)
}
