//! Token counts without a tokenizer: about four characters a token, as the system we replace
//! estimated. Budgets only need to be right to within a few per cent; the model's own usage
//! figures are what cost is accounted in.

/// Estimated tokens of `text` (at least 1 for any non-empty text).
pub fn estimate_tokens(text: &str) -> u32 {
    let chars = text.chars().count();
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn four_characters_a_token_rounded_up() {
        assert_eq!(super::estimate_tokens(""), 0);
        assert_eq!(super::estimate_tokens("abc"), 1);
        assert_eq!(super::estimate_tokens("abcdefghi"), 3);
        assert_eq!(super::estimate_tokens("日本語です"), 2);
    }
}
