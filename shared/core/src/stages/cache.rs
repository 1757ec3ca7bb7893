//! What a process keeps of each person between requests (their relevance index, their
//! facts), bounded by bytes: past the budget the person not seen longest goes first. A warm
//! Lambda instance serves many people; without a bound it would keep them all.

use std::collections::HashMap;

use crate::ports::UserId;

/// One person's entry and what it costs.
struct Entry<V> {
    value: V,
    bytes: usize,
    used_at: u64,
}

/// Values by person, at most `budget` bytes of them (one larger than the budget is kept
/// alone, till the next).
pub struct ByteLru<V> {
    budget: usize,
    used: usize,
    clock: u64,
    entries: HashMap<UserId, Entry<V>>,
}

impl<V: Clone> ByteLru<V> {
    /// An empty cache of at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        ByteLru {
            budget,
            used: 0,
            clock: 0,
            entries: HashMap::new(),
        }
    }

    /// The person's value, now their most recently used.
    pub fn get(&mut self, user: &UserId) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(user).map(|e| {
            e.used_at = clock;
            e.value.clone()
        })
    }

    /// Keeps `value` (of `bytes`) for the person, leaving out whoever was used longest ago
    /// until the rest fits.
    pub fn put(&mut self, user: &UserId, value: V, bytes: usize) {
        self.remove(user);
        while self.used + bytes > self.budget {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used_at)
                .map(|(u, _)| u.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
        self.clock += 1;
        self.used += bytes;
        self.entries.insert(
            user.clone(),
            Entry {
                value,
                bytes,
                used_at: self.clock,
            },
        );
    }

    /// Drops the person's value.
    pub fn remove(&mut self, user: &UserId) {
        if let Some(e) = self.entries.remove(user) {
            self.used -= e.bytes;
        }
    }

    /// Bytes kept now.
    pub fn used(&self) -> usize {
        self.used
    }

    /// How many people are kept now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nobody is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_its_budget_the_person_not_seen_longest_goes_first() {
        let mut cache = ByteLru::new(100);
        let u = |n: &str| UserId::new(n).unwrap();
        cache.put(&u("ana"), 1, 40);
        cache.put(&u("bo"), 2, 40);
        assert_eq!(cache.get(&u("ana")), Some(1), "ana is now the most recent");
        cache.put(&u("cy"), 3, 40);
        assert_eq!(cache.get(&u("bo")), None, "bo was used longest ago");
        assert_eq!(
            (cache.get(&u("ana")), cache.get(&u("cy"))),
            (Some(1), Some(3))
        );
        assert_eq!(cache.used(), 80);
        // Replacing a person's value does not count them twice.
        cache.put(&u("ana"), 4, 50);
        assert_eq!(cache.used(), 90);
        // One larger than the budget is kept alone.
        cache.put(&u("dee"), 5, 500);
        assert_eq!((cache.len(), cache.used()), (1, 500));
    }
}
