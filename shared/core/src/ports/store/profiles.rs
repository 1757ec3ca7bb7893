//! The soulprint: sections, MEMORY and the system prompt. The pipeline writes it for the
//! current import; the person amends it whatever the imports are doing.

use async_trait::async_trait;

use super::StoreError;
use crate::ports::UserId;
use crate::profile::Profile;

/// The profile, one per user, written only for the current import.
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The user's profile; none before their first soulprint.
    async fn profile(&self, user: &UserId) -> Result<Option<Profile>, StoreError>;
    /// Writes the profile if its import is still the user's current one
    /// ([`StoreError::Stale`] otherwise): a replaced import's late worker cannot overwrite it.
    async fn put_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError>;
    /// The person's own change to their profile (a rename, a deletion), written whatever the
    /// state of the imports, if the stored profile is still of `profile.import_id`
    /// ([`StoreError::Stale`] when a newer import's profile replaced it meanwhile: read it
    /// again and apply the change to that).
    async fn amend_profile(&self, user: &UserId, profile: &Profile) -> Result<(), StoreError>;
}
