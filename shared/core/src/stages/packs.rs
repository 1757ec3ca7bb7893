//! Chunks packed into fact-extraction calls: in the order they come, each pack closed before a
//! chunk would take it past its token budget or [`PACK_CHUNKS`] chunks. A pack is a batch of
//! the full pass: one job, one call, recorded once. A chunk in which the person cannot be
//! speaking of themselves ([`worth_asking`]) rides along for the relevance index and costs
//! the pack nothing.

use crate::chunker::Chunk;
use crate::memory::about_self::may_speak_of_self;

/// Whether a chunk is sent for fact extraction: one of the person's messages in it may say
/// something about them ([`may_speak_of_self`]).
pub fn worth_asking(chunk: &Chunk) -> bool {
    chunk
        .person_parts()
        .any(|(_, words)| may_speak_of_self(words))
}

/// Most chunks in a pack: past this, a model's answer loses its place among them more often.
pub const PACK_CHUNKS: usize = 16;
/// Most chunks in a batch, those riding along included: a long run of chunks not worth
/// asking still makes batches a worker holds in memory at ease.
pub const BATCH_CHUNKS: usize = 64;

/// Builds packs from chunks pushed one by one.
#[derive(Debug)]
pub struct Packer {
    budget: usize,
    pack: Vec<Chunk>,
    /// Tokens and number of the pack's chunks worth asking.
    tokens: usize,
    asked: usize,
}

impl Packer {
    /// Packs of at most `budget` tokens ([`crate::budgets::pack_tokens`]); a chunk larger
    /// than that goes alone (with a budget of 0, every chunk worth asking does).
    pub fn new(budget: usize) -> Self {
        Packer {
            budget,
            pack: Vec::new(),
            tokens: 0,
            asked: 0,
        }
    }

    /// Adds a chunk; returns the pack it closed, if it did not fit.
    pub fn push(&mut self, chunk: Chunk) -> Option<Vec<Chunk>> {
        let crowded = self.pack.len() >= BATCH_CHUNKS;
        if !worth_asking(&chunk) {
            let closed = crowded.then(|| self.take());
            self.pack.push(chunk);
            return closed;
        }
        let tokens = chunk.tokens as usize;
        let full = crowded
            || (self.asked > 0
                && (self.asked == PACK_CHUNKS || self.tokens + tokens > self.budget));
        let closed = full.then(|| self.take());
        self.tokens += tokens;
        self.asked += 1;
        self.pack.push(chunk);
        closed
    }

    /// The last pack, unless empty.
    pub fn finish(mut self) -> Option<Vec<Chunk>> {
        (!self.pack.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Vec<Chunk> {
        self.tokens = 0;
        self.asked = 0;
        std::mem::take(&mut self.pack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(tokens: u32) -> Chunk {
        let mut chunk = Chunk::of_message("c", "m", "I moved to Porto.", None);
        chunk.tokens = tokens;
        chunk
    }

    fn sizes(budget: usize, tokens: &[u32]) -> Vec<Vec<u32>> {
        let mut packer = Packer::new(budget);
        let mut packs: Vec<Vec<Chunk>> = tokens
            .iter()
            .filter_map(|&t| packer.push(chunk(t)))
            .collect();
        packs.extend(packer.finish());
        packs
            .iter()
            .map(|p| p.iter().map(|c| c.tokens).collect())
            .collect()
    }

    #[test]
    fn packs_fill_to_the_budget_in_order_and_a_large_chunk_goes_alone() {
        assert_eq!(
            sizes(1_000, &[400, 500, 200, 1_500, 300, 300]),
            vec![vec![400, 500], vec![200], vec![1_500], vec![300, 300]]
        );
        assert!(sizes(1_000, &[]).is_empty());
    }

    #[test]
    fn a_budget_of_nothing_asks_each_chunk_alone() {
        assert_eq!(
            sizes(0, &[1, 300, 2_000]),
            vec![vec![1], vec![300], vec![2_000]]
        );
    }

    #[test]
    fn a_chunk_not_worth_asking_rides_along_for_free() {
        let mut packer = Packer::new(1_000);
        assert!(packer.push(chunk(900)).is_none());
        let mut request = chunk(5_000);
        request.text = "Person: Write a poem about the sea.".into();
        request.parts[0].end = request.text.len() as u32;
        assert!(!worth_asking(&request));
        assert!(packer.push(request).is_none(), "costs the pack nothing");
        assert_eq!(packer.push(chunk(200)).map(|p| p.len()), Some(2));
    }

    #[test]
    fn riders_alone_still_close_a_batch_at_batch_chunks() {
        let mut packer = Packer::new(1_000);
        let mut rider = chunk(10);
        rider.text = "Person: Write a poem about the sea.".into();
        rider.parts[0].end = rider.text.len() as u32;
        let closed: Vec<usize> = (0..150)
            .filter_map(|_| packer.push(rider.clone()))
            .map(|p| p.len())
            .collect();
        assert_eq!(closed, vec![BATCH_CHUNKS, BATCH_CHUNKS]);
        assert_eq!(
            packer.finish().map(|p| p.len()),
            Some(150 - 2 * BATCH_CHUNKS)
        );
    }

    #[test]
    fn a_pack_holds_at_most_pack_chunks() {
        let packs = sizes(1_000_000, &[1; 40]);
        assert_eq!(
            packs.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![PACK_CHUNKS, PACK_CHUNKS, 40 - 2 * PACK_CHUNKS]
        );
    }
}
