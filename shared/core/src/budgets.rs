//! How much the stages send a model at once: the defaults, sized for today's large context
//! windows, or less for a small model (a 0.5B model on a laptop with an 8k window).

use crate::chunker::ChunkOptions;
use crate::ports::llm::ModelInfo;
use crate::sampler::SampleOptions;

/// The quick pass's sample: at most 2/5 of the window (the instructions, the estimate's error
/// and the answer need the rest).
pub fn sample_options(model: &ModelInfo) -> SampleOptions {
    let mut options = SampleOptions::default();
    if let Some(window) = model.context_tokens {
        options.budget_tokens = options.budget_tokens.min(window * 2 / 5);
    }
    options
}

/// Chunks for fact extraction: at most a quarter of the window.
pub fn chunk_options(model: &ModelInfo) -> ChunkOptions {
    let mut options = ChunkOptions::default();
    if let Some(window) = model.context_tokens {
        options.target_tokens = options.target_tokens.min(window as usize / 4).max(200);
        options.overlap_tokens = options.target_tokens / 10;
    }
    options
}

/// Input tokens of the chunks packed into one fact-extraction call (a batch of the full
/// pass). Twelve thousand make a call of a few seconds on a hosted model, leave a 32k window
/// room for the answer, and cut the calls of a typical export five to fifteen times against
/// one a chunk; a model of unknown window (Bedrock's, sized by the operator) gets them too. A
/// window under [`PACKING_WINDOW`] tokens gets 0: each chunk goes alone
/// ([`crate::stages::packs::Packer`]), in the flat answer a small model can fill (a 0.5B model
/// given two chunks in the nested answer left most of them out).
pub fn pack_tokens(model: &ModelInfo) -> usize {
    const DEFAULT: usize = 12_000;
    if model
        .context_tokens
        .is_some_and(|window| window < PACKING_WINDOW)
    {
        0
    } else {
        DEFAULT
    }
}

/// The smallest window whose model is sent packs of chunks.
pub const PACKING_WINDOW: u32 = 32_768;

/// Characters of each recalled excerpt in a chat prompt.
pub fn recalled_chars(model: &ModelInfo) -> usize {
    const DEFAULT: usize = 2_000;
    model
        .context_tokens
        .map_or(DEFAULT, |window| DEFAULT.min(window as usize / 16).max(200))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(context_tokens: Option<u32>) -> ModelInfo {
        ModelInfo {
            label: "m".into(),
            offline: false,
            context_tokens,
        }
    }

    #[test]
    fn a_small_window_gets_smaller_budgets_and_a_large_one_the_defaults() {
        let small = model(Some(8_192));
        assert_eq!(sample_options(&small).budget_tokens, 3_276);
        assert_eq!(chunk_options(&small).target_tokens, 2_000);
        assert_eq!(recalled_chars(&small), 512);
        let tiny = model(Some(4_096));
        assert_eq!(chunk_options(&tiny).target_tokens, 1_024);
        assert_eq!(chunk_options(&tiny).overlap_tokens, 102);
        let large = model(None);
        assert_eq!(sample_options(&large).budget_tokens, 50_000);
        assert_eq!(chunk_options(&large).target_tokens, 2_000);
        assert_eq!(recalled_chars(&large), 2_000);
        assert_eq!(pack_tokens(&small), 0, "one chunk a call");
        assert_eq!(pack_tokens(&model(Some(32_768))), 12_000);
        assert_eq!(pack_tokens(&large), 12_000);
    }
}
