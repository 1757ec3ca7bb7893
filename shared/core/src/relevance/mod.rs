//! What chat recalls: the person's facts and conversation chunks ranked against a message.
//!
//! One design serves both worlds: the full pass writes a per-user index blob of conversation
//! chunks (documents only, as JSON Lines) beside the other blobs; whoever answers chat (a local
//! process, a Lambda function) loads it once, builds the inverted index in memory and caches
//! it. Facts change with every chat and deletion, so they are indexed from the store at each
//! message and ranked together with the chunks as one index. Ranking is BM25
//! over stemmed content words, with the message's words expanded by a small lexicon of how
//! people ask about their own lives ("where did I relocate" finds "I moved to Lisbon"), so a
//! question need not repeat the words of the fact.

mod expand;
mod index;

pub use index::{new_index_blob, search, Doc, DocKind, Hit, RelevanceIndex, INDEX_DIR};
