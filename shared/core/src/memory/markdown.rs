//! The MEMORY section: consolidated facts as markdown, under the seed's headings.

use std::fmt::Write;

use super::fact::{Category, FactStatus, MemoryFact};

/// At most this many current facts a heading: MEMORY goes into every chat prompt. The rest
/// stay in memory, where chat finds them by relevance.
pub const MAX_PER_HEADING: usize = 25;

/// Bytes of MEMORY kept: it goes into every chat prompt, and twice into the profile's item
/// (itself, and the system prompt built with it), which DynamoDB caps at 400 KB.
pub const MAX_MEMORY_BYTES: usize = 40_000;

/// MEMORY cut to [`MAX_MEMORY_BYTES`] at the end of a line: a model's answer is bounded
/// only by what it was asked, and the template by the facts' lengths.
pub fn fit(mut markdown: String) -> String {
    if markdown.len() > MAX_MEMORY_BYTES {
        let mut end = MAX_MEMORY_BYTES;
        while !markdown.is_char_boundary(end) {
            end -= 1;
        }
        let end = markdown[..end].rfind('\n').map_or(end, |i| i + 1);
        markdown.truncate(end);
    }
    markdown
}

/// What an empty heading says.
pub const EMPTY: &str = "No data yet.";

/// MEMORY from `facts` (as [`super::consolidate()`] returns them). Each current fact shows when
/// it was last said and how often; what it replaced follows it as history.
pub fn render(facts: &[MemoryFact]) -> String {
    let mut out = String::new();
    for category in Category::ALL {
        let _ = writeln!(out, "## {}", category.heading());
        let mut current: Vec<&MemoryFact> = facts
            .iter()
            .filter(|f| f.category == category && f.status == FactStatus::Current)
            .collect();
        // The person's core facts first (home, work, employer, partner, family: never cut
        // for a repeated remark), then said most often, then most recently.
        current.sort_by(|a, b| {
            is_core(b)
                .cmp(&is_core(a))
                .then(b.times_stated().cmp(&a.times_stated()))
                .then(b.last_observed().cmp(&a.last_observed()))
                .then(a.id.cmp(&b.id))
        });
        if current.is_empty() {
            let _ = writeln!(out, "{EMPTY}");
        }
        for f in current.iter().take(MAX_PER_HEADING) {
            let _ = writeln!(out, "- {}{}", f.text, when(f));
            for old in facts
                .iter()
                .filter(|h| h.superseded_by.as_deref() == Some(&f.id))
            {
                let _ = writeln!(out, "  - before: {}{}", old.text, when(old));
            }
        }
        if current.len() > MAX_PER_HEADING {
            let _ = writeln!(
                out,
                "- …and {} more, recalled when relevant",
                current.len() - MAX_PER_HEADING
            );
        }
        out.push('\n');
    }
    out.trim_end().to_owned() + "\n"
}

/// A fact MEMORY keeps whatever else was said more often: one of the person's slots, or one
/// about their family (which carries no slot: a person has many relatives).
fn is_core(f: &MemoryFact) -> bool {
    const FAMILY: &[&str] = &[
        "wife", "husband", "partner", "son", "daughter", "kids", "children", "child", "baby",
        "mother", "father", "mum", "mom", "dad", "brother", "sister", "twins",
    ];
    f.subject.is_some()
        || f.text
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| FAMILY.contains(&w.to_lowercase().as_str()))
}

fn when(f: &MemoryFact) -> String {
    let date = f.last_observed().map(|t| t.date().to_string());
    match (date, f.times_stated()) {
        (Some(d), 1) => format!(" ({d})"),
        (Some(d), n) => format!(" ({d}; said {n} times)"),
        (None, 1) => String::new(),
        (None, n) => format!(" (said {n} times)"),
    }
}

/// Whether a model's MEMORY is usable: every heading present, and not a placeholder.
pub fn is_usable(markdown: &str) -> bool {
    let lower = markdown.to_lowercase();
    Category::ALL
        .iter()
        .all(|c| markdown.contains(&format!("## {}", c.heading())))
        && !lower.contains("[insert")
        && !lower.contains("lorem ipsum")
        && !lower.contains("todo")
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_is_cut_at_a_line_within_its_bytes() {
        let long = "## Preferences\n".to_owned() + &"- Likes 🍵 tea a lot\n".repeat(5_000);
        let cut = fit(long);
        assert!(cut.len() <= MAX_MEMORY_BYTES && cut.len() > MAX_MEMORY_BYTES - 100);
        assert!(cut.ends_with('\n'));
        assert_eq!(
            fit("## Preferences\n- Tea\n".into()),
            "## Preferences\n- Tea\n"
        );
    }

    use super::*;
    use crate::memory::{consolidate, Fact, Origin, Source, Subject};
    use time::macros::datetime;

    #[test]
    fn headings_history_and_empty_sections() {
        let src = |c: &str, y: i32| Source {
            origin: Origin::Conversation,
            conversation_id: c.into(),
            message_ids: vec!["m".into()],
            observed_at: Some(datetime!(2020-01-01 0:00 UTC).replace_year(y).unwrap()),
        };
        let facts = consolidate(vec![
            Fact {
                category: Category::Life,
                text: "I live in Lisbon.".into(),
                subject: Some(Subject::Location),
                source: src("a", 2021),
            },
            Fact {
                category: Category::Life,
                text: "I moved to Oslo.".into(),
                subject: Some(Subject::Location),
                source: src("b", 2023),
            },
            Fact {
                category: Category::Preference,
                text: "I prefer tea.".into(),
                subject: None,
                source: src("c", 2022),
            },
        ]);
        let md = render(&facts);
        assert!(is_usable(&md), "{md}");
        assert!(md.contains("## Life & Circumstances\n- I moved to Oslo. (2023-01-01)\n  - before: I live in Lisbon. (2021-01-01)\n"), "{md}");
        assert!(md.contains("## Projects\nNo data yet.\n"), "{md}");
        assert!(md.contains("## Preferences\n- I prefer tea."), "{md}");
    }

    #[test]
    fn the_cap_never_drops_home_work_or_family_for_repeated_remarks() {
        let said = |text: String, subject, times: usize, year: i32| {
            (0..times).map(move |n| Fact {
                category: Category::Life,
                text: text.clone(),
                subject,
                source: Source {
                    origin: Origin::Conversation,
                    conversation_id: format!("c{n}"),
                    message_ids: vec!["m".into()],
                    observed_at: Some(datetime!(2020-01-01 0:00 UTC).replace_year(year).unwrap()),
                },
            })
        };
        let mut facts: Vec<Fact> = (0..MAX_PER_HEADING + 5)
            .flat_map(|i| said(format!("I have a habit number {i}."), None, 3, 2024))
            .collect();
        facts.extend(said(
            "Occupation: director of a gardening company.".into(),
            Some(Subject::Occupation),
            1,
            2019,
        ));
        facts.extend(said("I have a daughter called Ines.".into(), None, 1, 2019));
        let md = render(&consolidate(facts));
        assert!(
            md.contains("\n- Occupation: director of a gardening company."),
            "{md}"
        );
        assert!(md.contains("- I have a daughter called Ines."), "{md}");
        assert!(md.contains("…and 7 more"), "{md}");
    }
}
