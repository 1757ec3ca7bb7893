//! Pages of a list: at most a count of items and at most [`PAGE_BYTES`] of them, so that no
//! response outgrows Lambda's 6 MB synchronous payload, however long the items are.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// Bytes of items in one page, as JSON: Lambda answers at most 6 MB (6,291,456 bytes)
/// synchronously, and API Gateway's envelope escapes the body once more (a quote or a
/// backslash becomes two), so a page is under half of it.
pub const PAGE_BYTES: usize = 5 << 19;

/// `?cursor=&limit=` of a list: where the previous page ended (its `next`), how many at most.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

impl PageQuery {
    /// The offset the cursor names, and the count asked for (`default`, at most `max`).
    pub fn offset_and_limit(&self, default: usize, max: usize) -> Result<(usize, usize), ApiError> {
        let offset = match self.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c.parse().map_err(|_| {
                ApiError::bad_request("cursor: pass the `next` of the previous page, as it came")
            })?,
        };
        Ok((offset, self.limit.unwrap_or(default).clamp(1, max)))
    }
}

/// One page of items from `offset`: at most `limit`, and at most [`PAGE_BYTES`] of them (one
/// at least, so that a page always moves on), with the cursor of the next page.
pub fn page<T: Serialize>(
    items: &[T],
    offset: usize,
    limit: usize,
) -> (Vec<Value>, Option<String>) {
    let out = fit(items.iter().skip(offset).take(limit));
    let end = offset + out.len();
    let next = (end < items.len()).then(|| end.to_string());
    (out, next)
}

/// The newest items of `items` (oldest first) that fit in [`PAGE_BYTES`]: a page read
/// backwards (chat messages before a point) keeps its newest end and drops its oldest.
pub fn newest_that_fit<T: Serialize>(items: &[T]) -> Vec<Value> {
    let mut out = fit(items.iter().rev());
    out.reverse();
    out
}

/// The items as JSON, in the order given, until the next would pass [`PAGE_BYTES`].
fn fit<'a, T: Serialize + 'a>(items: impl Iterator<Item = &'a T>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for item in items {
        let value = serde_json::to_value(item).unwrap_or(Value::Null);
        let size = value.to_string().len();
        if !out.is_empty() && bytes + size > PAGE_BYTES {
            break;
        }
        bytes += size;
        out.push(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_stops_at_its_count_or_its_bytes_and_names_the_next() {
        let items: Vec<u32> = (0..10).collect();
        let (first, next) = page(&items, 0, 4);
        assert_eq!(first.len(), 4);
        assert_eq!(next.as_deref(), Some("4"));
        let (last, next) = page(&items, 8, 4);
        assert_eq!(last, vec![Value::from(8), Value::from(9)]);
        assert_eq!(next, None);

        let big = vec!["x".repeat(PAGE_BYTES / 3); 5];
        let (fit, next) = page(&big, 0, 100);
        assert_eq!(fit.len(), 2, "three would pass the page's bytes");
        assert_eq!(next.as_deref(), Some("2"));
        // A single item larger than a page still moves the pages on.
        let huge = vec!["x".repeat(PAGE_BYTES + 1); 2];
        assert_eq!(page(&huge, 0, 100).0.len(), 1);
    }

    #[test]
    fn a_backwards_page_keeps_its_newest_items() {
        let big: Vec<String> = (0..5)
            .map(|i| format!("{i}{}", "x".repeat(PAGE_BYTES / 3)))
            .collect();
        let fit = newest_that_fit(&big);
        assert_eq!(fit.len(), 2);
        assert!(fit[0].as_str().unwrap().starts_with('3'));
        assert!(fit[1].as_str().unwrap().starts_with('4'));
    }
}
