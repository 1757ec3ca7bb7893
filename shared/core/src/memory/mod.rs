//! What SoulPrint remembers about a person: facts with their sources, consolidated, and the
//! MEMORY section written from them.

pub mod about_me;
pub mod about_self;
pub mod consolidate;
pub mod fact;
pub mod learn;
pub mod markdown;
pub mod not_a_fact;
pub mod other_languages;
pub mod seed;
pub mod statements;
pub mod tombstone;
pub mod words;

pub use consolidate::consolidate;
pub use fact::{clean_text, Category, Fact, FactStatus, MemoryFact, Origin, Source, Subject};
pub use learn::{learn, sort_canonically};
pub use tombstone::Tombstone;
