//! What every store must do, by role ([`soulprint_core::ports::store`]); a case takes the
//! role it tests, or the whole store where it needs an import to write under.

pub mod chats;
pub mod claims;
pub mod imports;
pub mod memory;
pub mod people;
pub mod profiles;
pub mod runs;
pub mod usage;

use soulprint_core::memory::{Category, Fact, FactStatus, MemoryFact, Origin, Source};
use soulprint_core::ports::UserId;
use soulprint_core::profile::Profile;
use soulprint_core::sections::Sections;
use time::macros::datetime;
use time::OffsetDateTime;

pub(crate) fn user(name: &str) -> UserId {
    UserId::new(format!("{name}-{}", std::process::id())).unwrap()
}

pub(crate) fn t0() -> OffsetDateTime {
    datetime!(2026-01-01 12:00 UTC)
}

pub(crate) fn fact(text: &str) -> Fact {
    Fact {
        category: Category::Life,
        text: text.into(),
        subject: None,
        source: Source {
            origin: Origin::Conversation,
            conversation_id: "c1".into(),
            message_ids: vec!["m1".into()],
            observed_at: Some(t0()),
        },
    }
}

pub(crate) fn profile(import_id: &str) -> Profile {
    let mut sections = Sections::default();
    sections.identity.ai_name = "Wren".into();
    Profile {
        import_id: import_id.into(),
        sections,
        memory_md: Some("## Preferences\n- Tea".into()),
        soulprint_text: "# Wren".into(),
        written_by: "test".into(),
        notes: vec![],
        chunk_index: None,
        updated_at: t0(),
    }
}

pub(crate) fn memory_fact(id: &str) -> MemoryFact {
    MemoryFact {
        id: id.into(),
        category: Category::Preference,
        text: format!("Fact {id}"),
        subject: None,
        status: FactStatus::Current,
        superseded_by: None,
        sources: vec![fact("x").source],
        stated: 1,
    }
}
