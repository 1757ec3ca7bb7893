//! SDK errors in words: an SDK error's `Display` alone says only "service error", so every
//! adapter reports the whole chain of sources.

pub(crate) fn described(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
