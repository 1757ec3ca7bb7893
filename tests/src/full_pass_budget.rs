//! What fact extraction would spend on an export, and whether the planted facts get through.

use std::collections::{HashMap, HashSet};

use soulprint_core::chunker::{chunk_conversation, ChunkOptions};
use soulprint_core::conversation::Conversation;
use soulprint_core::tokens::estimate_tokens;
use soulprint_generator::PlantedFact;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Tokens of everything the person and the assistant visibly said.
    pub export_tokens: u64,
    /// Tokens of the chunks fact extraction would send to the model.
    pub model_tokens: u64,
    /// Planted facts (outside do-not-remember conversations) that reached a chunk whole, with
    /// their message among the chunk's provenance.
    pub planted_reached: usize,
    pub planted: usize,
    /// Planted facts in do-not-remember conversations that reached a chunk: must be 0.
    pub forbidden_reached: usize,
}

impl Budget {
    pub fn ratio(&self) -> f64 {
        self.model_tokens as f64 / self.export_tokens.max(1) as f64
    }
}

pub fn measure(
    conversations: &[Conversation],
    planted: &[PlantedFact],
    now: OffsetDateTime,
) -> Budget {
    let options = ChunkOptions::default();
    let mut export_tokens = 0u64;
    let mut model_tokens = 0u64;
    // conversation id → (chunk texts, message ids)
    let mut seen: HashMap<&str, (Vec<String>, HashSet<String>)> = HashMap::new();
    for c in conversations {
        export_tokens += c
            .messages
            .iter()
            .map(|m| u64::from(estimate_tokens(&m.text)))
            .sum::<u64>();
        for chunk in chunk_conversation(c, &options, now) {
            model_tokens += u64::from(chunk.tokens);
            let entry = seen.entry(c.id.as_str()).or_default();
            entry.1.extend(chunk.message_ids.iter().cloned());
            entry.0.push(chunk.text);
        }
    }
    let reached = |p: &PlantedFact| {
        seen.get(p.conversation_id.as_str())
            .is_some_and(|(texts, ids)| {
                ids.contains(&p.message_id) && texts.iter().any(|t| t.contains(&p.fact))
            })
    };
    Budget {
        export_tokens,
        model_tokens,
        planted_reached: planted
            .iter()
            .filter(|p| !p.do_not_remember && reached(p))
            .count(),
        planted: planted.iter().filter(|p| !p.do_not_remember).count(),
        forbidden_reached: planted
            .iter()
            .filter(|p| p.do_not_remember && reached(p))
            .count(),
    }
}
