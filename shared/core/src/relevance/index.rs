//! The index: documents in, ranked hits out.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::expand::expand;
use crate::memory::words::content_words;
use crate::memory::{FactStatus, MemoryFact};

/// Where a user's chunk indexes are stored (under the user's blob prefix).
pub const INDEX_DIR: &str = "relevance/";

/// A fresh name for a chunk index: each version has its own, held by the profile, so a
/// process that cached one knows when it changed.
pub fn new_index_blob() -> String {
    format!("{INDEX_DIR}{}.jsonl", uuid::Uuid::now_v7().simple())
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A current consolidated fact.
    Fact,
    /// The person's words in a conversation chunk.
    Chunk,
}

/// One thing chat can recall, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doc {
    /// A fact's id, or `{conversation}#{chunk index}` for a chunk: what a deletion names.
    pub id: String,
    /// A fact or a chunk.
    pub kind: DocKind,
    /// What is ranked and shown: the fact, or the person's words in the chunk (cut short).
    pub text: String,
    /// Where it was said: for a fact, the conversation or chat thread of its newest source.
    pub conversation_id: String,
    /// The messages it comes from (for a chunk, the person's).
    pub message_ids: Vec<String>,
    /// When it was said: a fact's last statement, a chunk's newest message.
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
}

/// A document found, with how well it matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit<'i> {
    /// The document matched.
    pub doc: &'i Doc,
    /// BM25 over content words (expanded words weigh less, facts are boosted); higher is better.
    pub score: f64,
}

/// Documents and their postings, in memory.
#[derive(Debug, Default)]
pub struct RelevanceIndex {
    docs: Vec<Doc>,
    /// Stemmed word → (document, occurrences).
    postings: HashMap<String, Vec<(u32, u32)>>,
    lengths: Vec<u32>,
}

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Words brought in by expansion count this much of a word the person used.
const EXPANDED_WEIGHT: f64 = 0.4;
/// A current fact outranks a chunk saying the same: it is what the person's memory holds.
const FACT_BOOST: f64 = 1.3;

impl RelevanceIndex {
    /// About how many bytes it holds in memory (its texts, ids and postings).
    pub fn approx_bytes(&self) -> usize {
        let docs: usize = self
            .docs
            .iter()
            .map(|d| {
                d.text.len()
                    + d.id.len()
                    + d.conversation_id.len()
                    + d.message_ids.iter().map(|m| m.len() + 24).sum::<usize>()
                    + 128
            })
            .sum();
        let postings: usize = self
            .postings
            .iter()
            .map(|(w, list)| w.len() + 48 + list.len() * 8)
            .sum();
        docs + postings + self.lengths.len() * 4
    }

    /// Indexes `docs`, building the postings in memory.
    pub fn new(docs: Vec<Doc>) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(docs.len());
        for (i, doc) in docs.iter().enumerate() {
            let mut counts: HashMap<String, u32> = HashMap::new();
            let mut length = 0u32;
            // Content words come once each: for facts and chunk excerpts alike, whether a word
            // is there matters, not how often.
            for w in content_words(&doc.text) {
                *counts.entry(w).or_default() += 1;
                length += 1;
            }
            lengths.push(length);
            for (w, n) in counts {
                postings.entry(w).or_default().push((i as u32, n));
            }
        }
        RelevanceIndex {
            docs,
            postings,
            lengths,
        }
    }

    /// The documents of an index: current facts (history is not recalled as current) and
    /// chunks.
    pub fn documents(facts: &[MemoryFact], chunks: Vec<Doc>) -> Vec<Doc> {
        let mut docs: Vec<Doc> = facts
            .iter()
            .filter(|f| f.status == FactStatus::Current)
            .map(|f| {
                let first = f.sources.last();
                Doc {
                    id: f.id.clone(),
                    kind: DocKind::Fact,
                    text: f.text.clone(),
                    conversation_id: first.map(|s| s.conversation_id.clone()).unwrap_or_default(),
                    message_ids: first.map(|s| s.message_ids.clone()).unwrap_or_default(),
                    at: f.last_observed(),
                }
            })
            .collect();
        docs.extend(chunks);
        docs
    }

    /// The documents, in the order given.
    pub fn docs(&self) -> &[Doc] {
        &self.docs
    }

    /// The `k` documents most relevant to `query`, best first (none when nothing matches).
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit<'_>> {
        search(&[self], query, k)
    }

    /// An index of the current facts alone: cheap to build, so chat builds it from the store
    /// for every message and a fact learned or deleted a moment ago counts at once.
    pub fn of_facts(facts: &[MemoryFact]) -> Self {
        RelevanceIndex::new(RelevanceIndex::documents(facts, Vec::new()))
    }

    /// Keeps the documents `keep` says yes to (the rest are forgotten).
    pub fn retain(self, keep: impl Fn(&Doc) -> bool) -> Self {
        RelevanceIndex::new(self.docs.into_iter().filter(|d| keep(d)).collect())
    }

    /// The index as stored: one document a line.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for d in &self.docs {
            serde_json::to_writer(&mut out, d).expect("a doc serialises");
            out.push(b'\n');
        }
        out
    }

    /// Reads an index as [`RelevanceIndex::to_jsonl`] wrote it.
    pub fn from_jsonl(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let docs = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(serde_json::from_slice)
            .collect::<Result<Vec<Doc>, _>>()?;
        Ok(RelevanceIndex::new(docs))
    }
}

/// The `k` documents of `parts` most relevant to `query`, ranked as if they were one index
/// (document counts, frequencies and lengths summed over the parts).
pub fn search<'i>(parts: &[&'i RelevanceIndex], query: &str, k: usize) -> Vec<Hit<'i>> {
    let own = content_words(query);
    let extra = expand(&own);
    let n: usize = parts.iter().map(|p| p.docs.len()).sum();
    let total_length: f64 = parts
        .iter()
        .flat_map(|p| p.lengths.iter())
        .map(|&l| f64::from(l))
        .sum();
    let average_length = (total_length / n.max(1) as f64).max(1.0);
    let n = n as f64;
    let mut scores: HashMap<(usize, u32), f64> = HashMap::new();
    for (words, weight) in [(&own, 1.0), (&extra, EXPANDED_WEIGHT)] {
        for w in words.iter() {
            let lists: Vec<(usize, &Vec<(u32, u32)>)> = parts
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((i, p.postings.get(w)?)))
                .collect();
            let df: usize = lists.iter().map(|(_, l)| l.len()).sum();
            if df == 0 {
                continue;
            }
            let df = df as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for (part, list) in lists {
                for &(doc, tf) in list {
                    let tf = f64::from(tf);
                    let len = f64::from(parts[part].lengths[doc as usize]);
                    let norm = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / average_length));
                    *scores.entry((part, doc)).or_default() += weight * idf * norm;
                }
            }
        }
    }
    let mut hits: Vec<Hit<'i>> = scores
        .into_iter()
        .map(|((part, doc), score)| {
            let d = &parts[part].docs[doc as usize];
            let boost = if d.kind == DocKind::Fact {
                FACT_BOOST
            } else {
                1.0
            };
            Hit {
                doc: d,
                score: score * boost,
            }
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.doc.at.cmp(&a.doc.at))
            .then(a.doc.id.cmp(&b.doc.id))
    });
    hits.truncate(k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, kind: DocKind, text: &str) -> Doc {
        Doc {
            id: id.into(),
            kind,
            text: text.into(),
            conversation_id: format!("c-{id}"),
            message_ids: vec![format!("m-{id}")],
            at: None,
        }
    }

    #[test]
    fn a_paraphrase_finds_the_fact() {
        let index = RelevanceIndex::new(vec![
            doc("a", DocKind::Fact, "I moved to Lisbon in 2003."),
            doc("b", DocKind::Fact, "I have worked as a nurse for 12 years."),
            doc("c", DocKind::Chunk, "Person: how do I sort a list in Rust?"),
            doc(
                "d",
                DocKind::Fact,
                "I have a greyhound called Pixel number 4.",
            ),
        ]);
        let top = |q: &str| index.search(q, 1)[0].doc.id.clone();
        assert_eq!(top("Which city did I relocate to in 2003?"), "a");
        assert_eq!(top("What's my profession, and for how long?"), "b");
        assert_eq!(top("What's my dog's name?"), "d");
        assert!(index.search("quantum chromodynamics", 5).is_empty());
        let back = RelevanceIndex::from_jsonl(&index.to_jsonl()).unwrap();
        assert_eq!(back.docs(), index.docs());
    }

    #[test]
    fn parts_rank_as_one_index() {
        let docs = vec![
            doc("a", DocKind::Fact, "I moved to Lisbon in 2003."),
            doc("b", DocKind::Fact, "I have worked as a nurse for 12 years."),
            doc(
                "c",
                DocKind::Chunk,
                "Person: Lisbon trams are lovely in spring.",
            ),
            doc(
                "d",
                DocKind::Chunk,
                "Person: nurse shifts are long this week.",
            ),
        ];
        let whole = RelevanceIndex::new(docs.clone());
        let facts = RelevanceIndex::new(docs[..2].to_vec());
        let chunks = RelevanceIndex::new(docs[2..].to_vec());
        for q in ["Where did I relocate to?", "nurse", "Lisbon in spring"] {
            let one: Vec<(String, String)> = whole
                .search(q, 4)
                .iter()
                .map(|h| (h.doc.id.clone(), format!("{:.9}", h.score)))
                .collect();
            let split: Vec<(String, String)> = search(&[&chunks, &facts], q, 4)
                .iter()
                .map(|h| (h.doc.id.clone(), format!("{:.9}", h.score)))
                .collect();
            assert_eq!(one, split, "{q}");
        }
        let kept = whole.retain(|d| d.id != "a");
        assert!(kept
            .search("Lisbon 2003", 4)
            .iter()
            .all(|h| h.doc.id != "a"));
    }
}
