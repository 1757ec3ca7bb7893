//! Learning from one chat message: the few facts it states merged into memory as
//! consolidation would merge them, touching only the facts they change. A person with 10,000
//! facts who says where they live now changes two records (the new home, the old one made
//! history), not 10,000.

use std::collections::{BTreeMap, BTreeSet};

use super::consolidate::fact_id;
use super::words::{content_words, same_fact};
use super::{clean_text, Fact, FactStatus, MemoryFact};

/// The facts to write: new ones, ones that gained a source, ones a newer fact made history.
pub fn learn(memory: &[MemoryFact], new: Vec<Fact>) -> Vec<MemoryFact> {
    let mut changed: BTreeMap<String, MemoryFact> = BTreeMap::new();
    let mut subjects = BTreeSet::new();
    for fact in new {
        let words = content_words(&fact.text);
        let home = changed
            .values()
            .chain(memory.iter())
            .find(|m| same_fact(&content_words(&m.text), &words))
            .map(|m| m.id.clone());
        let merged = match home {
            Some(id) => {
                let mut m = changed
                    .remove(&id)
                    .or_else(|| memory.iter().find(|m| m.id == id).cloned())
                    .expect("found above");
                // One message is one statement, however many readers found it there.
                if !m.sources.contains(&fact.source) {
                    m.stated = m.times_stated() + 1;
                    m.sources.push(fact.source);
                }
                m.subject = m.subject.or(fact.subject);
                m.bound_sources();
                m
            }
            None => {
                let text = clean_text(&fact.text);
                let mut m = MemoryFact {
                    id: fact_id(&text),
                    category: fact.category,
                    text,
                    subject: fact.subject,
                    status: FactStatus::Current,
                    superseded_by: None,
                    sources: vec![fact.source],
                    stated: 0,
                };
                m.bound_sources();
                m
            }
        };
        if let Some(subject) = merged.subject {
            subjects.insert(subject);
        }
        changed.insert(merged.id.clone(), merged);
    }
    // Per subject the newest statement is current and the others its history, as in
    // consolidation; only the facts whose standing changes are written.
    for subject in subjects {
        let on_subject: Vec<MemoryFact> = memory
            .iter()
            .filter(|m| !changed.contains_key(&m.id))
            .chain(changed.values())
            .filter(|m| m.subject == Some(subject))
            .cloned()
            .collect();
        let Some(winner) = on_subject
            .iter()
            .max_by(|a, b| (a.last_observed(), &a.id).cmp(&(b.last_observed(), &b.id)))
            .map(|m| m.id.clone())
        else {
            continue;
        };
        for mut m in on_subject {
            let (status, by) = if m.id == winner {
                (FactStatus::Current, None)
            } else {
                (FactStatus::History, Some(winner.clone()))
            };
            if m.status != status || m.superseded_by != by || changed.contains_key(&m.id) {
                m.status = status;
                m.superseded_by = by;
                changed.insert(m.id.clone(), m);
            }
        }
    }
    changed.into_values().collect()
}

/// Memory in the order consolidation gives it: by category, current first, most recently
/// stated first, then by id. Stores give it back in this order, however it was written.
pub fn sort_canonically(memory: &mut [MemoryFact]) {
    memory.sort_by(|a, b| {
        (a.category, a.status as u8)
            .cmp(&(b.category, b.status as u8))
            .then(b.last_observed().cmp(&a.last_observed()))
            .then(a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{consolidate, Category, Origin, Source, Subject};
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn fact(text: &str, subject: Option<Subject>, at: OffsetDateTime, origin: Origin) -> Fact {
        Fact {
            category: Category::Life,
            text: text.into(),
            subject,
            source: Source {
                origin,
                conversation_id: "c".into(),
                message_ids: vec![format!("m-{text}")],
                observed_at: Some(at),
            },
        }
    }

    #[test]
    fn a_move_told_in_chat_writes_the_new_home_and_the_old_one_only() {
        let loc = Some(Subject::Location);
        let mut export: Vec<Fact> = (0..500)
            .map(|i| {
                fact(
                    &format!("Has a plant called Fern number {i}"),
                    None,
                    datetime!(2023-01-01 0:00 UTC),
                    Origin::Conversation,
                )
            })
            .collect();
        export.push(fact(
            "I live in Berlin",
            loc,
            datetime!(2023-06-01 0:00 UTC),
            Origin::Conversation,
        ));
        let memory = consolidate(export);
        let said = fact(
            "I live in Reykjavik now",
            loc,
            datetime!(2026-12-01 0:00 UTC),
            Origin::Chat,
        );
        let changes = learn(&memory, vec![said.clone()]);
        assert_eq!(changes.len(), 2, "{changes:#?}");
        let new = changes
            .iter()
            .find(|m| m.text.contains("Reykjavik"))
            .unwrap();
        let old = changes.iter().find(|m| m.text.contains("Berlin")).unwrap();
        assert_eq!(new.status, FactStatus::Current);
        assert_eq!(old.status, FactStatus::History);
        assert_eq!(old.superseded_by.as_deref(), Some(new.id.as_str()));
        // The same as consolidating everything again, for the facts it touched.
        let mut all: Vec<Fact> = crate::stages::explode(&memory);
        all.push(said);
        let again = consolidate(all);
        for m in &changes {
            let there = again.iter().find(|a| a.id == m.id).unwrap();
            assert_eq!(
                (there.status, &there.superseded_by),
                (m.status, &m.superseded_by)
            );
        }
        // Said again: one record, one more statement.
        let restated = learn(
            &memory,
            vec![fact(
                "I live in Berlin",
                loc,
                datetime!(2024-01-01 0:00 UTC),
                Origin::Chat,
            )],
        );
        assert_eq!(restated.len(), 1);
        assert_eq!(restated[0].times_stated(), 2);
    }
}
