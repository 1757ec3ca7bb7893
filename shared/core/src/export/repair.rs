//! Repairs text that a strict JSON parser refuses but a real export contains.
//!
//! Two defects are seen in the wild: raw invalid UTF-8 inside a string (surrogate bytes
//! `ED A0 BD`), and an unpaired surrogate escape (`\ud83d` with no low half). Both become U+FFFD
//! so the conversation survives and no invalid Unicode reaches a model API. Raw control bytes
//! inside strings are escaped. Paired surrogate escapes (every emoji in an ASCII-escaped export)
//! and double-escaped text (`\\ud83d`, the person's own words) are left alone.
//!
//! The repair runs only after a frame failed to parse, so clean exports never pay for it.

/// Returns the repaired frame, or `None` when there was nothing to repair.
pub fn repair(frame: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(frame);
    let mut changed = matches!(text, std::borrow::Cow::Owned(_));
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !in_string {
            in_string = b == b'"';
            out.push(b);
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                out.push(b);
                i += 1;
            }
            b'\\' => {
                let rest = &bytes[i..];
                match escape_unit(rest) {
                    Some(high @ 0xD800..=0xDBFF) => {
                        if matches!(escape_unit(&rest[6..]), Some(0xDC00..=0xDFFF)) {
                            out.extend_from_slice(&rest[..12]);
                            i += 12;
                        } else {
                            let _ = high;
                            out.extend_from_slice(br"\ufffd");
                            changed = true;
                            i += 6;
                        }
                    }
                    Some(0xDC00..=0xDFFF) => {
                        out.extend_from_slice(br"\ufffd");
                        changed = true;
                        i += 6;
                    }
                    Some(_) => {
                        out.extend_from_slice(&rest[..6]);
                        i += 6;
                    }
                    None => {
                        // Any other escape: copy the backslash and the escaped byte together so an
                        // escaped quote or backslash never toggles the string state.
                        let n = rest.len().min(2);
                        out.extend_from_slice(&rest[..n]);
                        i += n;
                    }
                }
            }
            0x00..=0x1F => {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                changed = true;
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// The code unit of a `\uXXXX` escape at the start of `s`.
fn escape_unit(s: &[u8]) -> Option<u16> {
    if s.len() < 6 || s[0] != b'\\' || s[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&s[2..6]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(input: &[u8]) -> String {
        String::from_utf8(repair(input).expect("something to repair")).unwrap()
    }

    #[test]
    fn lone_surrogate_escapes_become_replacement_characters() {
        assert_eq!(fixed(br#"["a\ud83d b"]"#), r#"["a\ufffd b"]"#);
        assert_eq!(fixed(br#"["\ude00"]"#), r#"["\ufffd"]"#);
        assert_eq!(
            fixed(br#"["\ud83d\ud83d\ude00"]"#),
            r#"["\ufffd\ud83d\ude00"]"#
        );
        assert_eq!(fixed(br#"["end\ud83d"]"#), r#"["end\ufffd"]"#);
    }

    #[test]
    fn pairs_and_double_escapes_are_left_alone() {
        assert_eq!(repair(br#"["\ud83d\ude00", "\\ud83d", "\"\\"]"#), None);
    }

    #[test]
    fn raw_invalid_utf8_becomes_replacement_characters() {
        let out = fixed(b"[\"a\xED\xA0\xBDb\"]");
        let value: Vec<String> = serde_json::from_str(&out).unwrap();
        assert!(value[0].starts_with('a') && value[0].ends_with('b'));
        assert!(value[0].contains('\u{FFFD}'));
    }

    #[test]
    fn raw_control_bytes_in_strings_are_escaped() {
        let out = fixed(b"[\"a\x01b\"]");
        let value: Vec<String> = serde_json::from_str(&out).unwrap();
        assert_eq!(value[0], "a\u{1}b");
    }
}
