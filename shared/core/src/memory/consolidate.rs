//! Raw facts → memory: near-duplicates merged with all their sources; where a newer fact on
//! the same subject replaces an older one (a move, a new job), the newer is current and the
//! older kept as history. Never a fact silently dropped.
//!
//! The result depends only on the set of facts, not on the order batches finished in, so an
//! interrupted and resumed full pass remembers exactly what an uninterrupted one does.

use std::collections::HashMap;

use super::fact::{Fact, FactStatus, MemoryFact};
use super::words::{content_words, same_fact};

const MAX_CLUSTERS_PER_WORD: usize = 64;

struct Cluster {
    words: Vec<String>,
    facts: Vec<Fact>,
}

/// Merges near-duplicate facts (whatever heading each was filed under: the fullest wording's
/// wins) and marks what newer facts replaced; the result
/// is sorted by category, current first, most recently stated first.
pub fn consolidate(mut facts: Vec<Fact>) -> Vec<MemoryFact> {
    facts.sort_by(|a, b| {
        (a.source.observed_at, &a.source, a.category, &a.text).cmp(&(
            b.source.observed_at,
            &b.source,
            b.category,
            &b.text,
        ))
    });
    facts.dedup();
    let mut clusters: Vec<Cluster> = Vec::new();
    // Content word → clusters holding it: candidates share at least one word.
    let mut by_word: HashMap<String, Vec<usize>> = HashMap::new();
    for fact in facts {
        let words = content_words(&fact.text);
        // A word in very many clusters ("like", "work") finds no one in particular: skip it,
        // so that consolidation stays near-linear. Some rarer word of a restatement finds it.
        let mut candidates: Vec<usize> = words
            .iter()
            .filter_map(|w| by_word.get(w))
            .filter(|list| list.len() <= MAX_CLUSTERS_PER_WORD)
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let home = candidates.into_iter().find(|&i| {
            let c = &clusters[i];
            same_fact(&c.words, &words)
        });
        match home {
            Some(i) => {
                let c = &mut clusters[i];
                // Compare later facts with the fullest wording.
                if words.len() > c.words.len() {
                    c.words = words.clone();
                }
                for w in words {
                    let list = by_word.entry(w).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
                c.facts.push(fact);
            }
            None => {
                let i = clusters.len();
                for w in &words {
                    by_word.entry(w.clone()).or_default().push(i);
                }
                clusters.push(Cluster {
                    words,
                    facts: vec![fact],
                });
            }
        }
    }

    let mut memory: Vec<MemoryFact> = Vec::with_capacity(clusters.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for fact in clusters.into_iter().map(into_memory) {
        // Two clusters that came to the same wording (a restatement that no shared rare word
        // led to) are one fact: one id, one record.
        match at.get(&fact.id) {
            Some(&i) => {
                let kept: &mut MemoryFact = &mut memory[i];
                // Sources both clusters hold count once; a count beyond the kept sources
                // (trimmed by `bound_sources`) is added as it is.
                let beyond = |f: &MemoryFact| f.times_stated() - f.sources.len() as u64;
                let extra = beyond(kept) + beyond(&fact);
                kept.subject = kept.subject.or(fact.subject);
                kept.sources.extend(fact.sources);
                kept.stated = 0;
                kept.bound_sources();
                kept.stated += extra;
            }
            None => {
                at.insert(fact.id.clone(), memory.len());
                memory.push(fact);
            }
        }
    }
    supersede(&mut memory);
    super::sort_canonically(&mut memory);
    memory
}

fn into_memory(c: Cluster) -> MemoryFact {
    // The fullest wording speaks for the cluster; on a tie, the earliest (facts are sorted
    // oldest first).
    let mut spokesman = &c.facts[0];
    let mut most = content_words(&spokesman.text).len();
    for f in &c.facts[1..] {
        let n = content_words(&f.text).len();
        if n > most {
            (spokesman, most) = (f, n);
        }
    }
    let category = spokesman.category;
    let text = super::clean_text(&spokesman.text);
    let subject = c.facts.iter().find_map(|f| f.subject);
    let sources: Vec<_> = c.facts.into_iter().map(|f| f.source).collect();
    let mut fact = MemoryFact {
        id: fact_id(&text),
        category,
        text,
        subject,
        status: FactStatus::Current,
        superseded_by: None,
        sources,
        stated: 0,
    };
    fact.bound_sources();
    fact
}

/// Per subject, the most recently stated fact is current; the others become its history.
fn supersede(memory: &mut [MemoryFact]) {
    let mut newest: HashMap<super::Subject, usize> = HashMap::new();
    for (i, f) in memory.iter().enumerate() {
        let Some(subject) = f.subject else { continue };
        let entry = newest.entry(subject).or_insert(i);
        let held = &memory[*entry];
        if (f.last_observed(), &f.id) > (held.last_observed(), &held.id) {
            *entry = i;
        }
    }
    let winners: HashMap<super::Subject, String> = newest
        .into_iter()
        .map(|(s, i)| (s, memory[i].id.clone()))
        .collect();
    for f in memory.iter_mut() {
        let Some(subject) = f.subject else { continue };
        if winners[&subject] != f.id {
            f.status = FactStatus::History;
            f.superseded_by = Some(winners[&subject].clone());
        }
    }
}

/// A stable id: FNV-1a of the wording alone, so that a fact filed under another heading
/// (rules that improved, a model that judged otherwise) keeps its id, and a deletion or a link
/// to it still holds. Facts with the same words are one fact whatever their heading.
pub fn fact_id(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("f{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Category, Origin, Source, Subject};
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn fact(text: &str, subject: Option<Subject>, conv: &str, at: OffsetDateTime) -> Fact {
        Fact {
            category: Category::Life,
            text: text.into(),
            subject,
            source: Source {
                origin: Origin::Conversation,
                conversation_id: conv.into(),
                message_ids: vec![format!("{conv}-m")],
                observed_at: Some(at),
            },
        }
    }

    #[test]
    fn a_fact_filed_under_another_heading_keeps_its_id_and_is_one_fact() {
        let at = datetime!(2024-02-01 0:00 UTC);
        let as_life = consolidate(vec![fact("I love hiking in the Alps.", None, "c1", at)]);
        let mut preference = fact("I love hiking in the Alps.", None, "c2", at);
        preference.category = Category::Preference;
        let as_preference = consolidate(vec![preference.clone()]);
        assert_eq!(
            as_life[0].id, as_preference[0].id,
            "the heading is not the id"
        );
        let both = consolidate(vec![
            fact("I love hiking in the Alps.", None, "c1", at),
            preference,
        ]);
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].times_stated(), 2);
    }

    #[test]
    fn restatements_merge_with_both_sources() {
        let loc = Some(Subject::Location);
        let memory = consolidate(vec![
            fact(
                "Lives in Berlin, Germany.",
                loc,
                "c2",
                datetime!(2024-02-01 0:00 UTC),
            ),
            fact(
                "I live in Berlin.",
                loc,
                "c1",
                datetime!(2024-01-01 0:00 UTC),
            ),
        ]);
        assert_eq!(memory.len(), 1);
        assert_eq!(memory[0].text, "Lives in Berlin, Germany.");
        let convs: Vec<_> = memory[0]
            .sources
            .iter()
            .map(|s| s.conversation_id.as_str())
            .collect();
        assert_eq!(convs, ["c1", "c2"]);
        assert_eq!(memory[0].status, FactStatus::Current);
    }

    #[test]
    fn a_move_supersedes_the_old_home_which_stays_as_history() {
        let loc = Some(Subject::Location);
        let memory = consolidate(vec![
            fact(
                "I moved to Oslo in 2021.",
                loc,
                "c2",
                datetime!(2024-06-01 0:00 UTC),
            ),
            fact(
                "I live in Lisbon.",
                loc,
                "c1",
                datetime!(2022-01-01 0:00 UTC),
            ),
            fact(
                "I have two cats.",
                None,
                "c3",
                datetime!(2020-01-01 0:00 UTC),
            ),
        ]);
        assert_eq!(memory.len(), 3);
        let oslo = memory.iter().find(|f| f.text.contains("Oslo")).unwrap();
        let lisbon = memory.iter().find(|f| f.text.contains("Lisbon")).unwrap();
        let cats = memory.iter().find(|f| f.text.contains("cats")).unwrap();
        assert_eq!(oslo.status, FactStatus::Current);
        assert_eq!(lisbon.status, FactStatus::History);
        assert_eq!(lisbon.superseded_by.as_deref(), Some(oslo.id.as_str()));
        assert_eq!(cats.status, FactStatus::Current);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_facts_arrive_in() {
        let loc = Some(Subject::Location);
        let facts = vec![
            fact(
                "I live in Berlin.",
                loc,
                "c1",
                datetime!(2024-01-01 0:00 UTC),
            ),
            fact(
                "Lives in Berlin, Germany.",
                loc,
                "c2",
                datetime!(2024-02-01 0:00 UTC),
            ),
            fact(
                "I moved to Oslo in 2021.",
                loc,
                "c3",
                datetime!(2023-06-01 0:00 UTC),
            ),
            fact(
                "I have two cats.",
                None,
                "c4",
                datetime!(2020-01-01 0:00 UTC),
            ),
            fact(
                "I have two cats.",
                None,
                "c4",
                datetime!(2020-01-01 0:00 UTC),
            ),
        ];
        let forward = consolidate(facts.clone());
        let mut reversed = facts;
        reversed.reverse();
        assert_eq!(forward, consolidate(reversed));
        assert_eq!(forward.len(), 3, "{forward:#?}");
    }
}
