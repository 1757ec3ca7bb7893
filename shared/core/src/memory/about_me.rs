//! The labelled lines people write in a custom-instruction about-me ("Preferred name: Erin",
//! "Role: director of a gardening company", "Location: Leeds"): their name, work and home,
//! read by the label rather than guessed from the words.

use super::fact::Subject;

/// What a labelled line gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// What they want to be called.
    Name,
    /// Their work.
    Occupation,
    /// Where they live.
    Location,
}

impl Label {
    /// The slot a labelled fact fills: a name fills none.
    pub fn subject(self) -> Option<Subject> {
        match self {
            Label::Name => None,
            Label::Occupation => Some(Subject::Occupation),
            Label::Location => Some(Subject::Location),
        }
    }

    /// How the fact reads in memory: the label, named the same whatever the person wrote.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Name => "Preferred name",
            Label::Occupation => "Occupation",
            Label::Location => "Location",
        }
    }
}

/// Labels people use (lower case, without the colon), by what they give. ChatGPT's own
/// about-me form asked "What would you like ChatGPT to call you?" and "What do you do?".
const LABELS: [(&str, Label); 17] = [
    ("preferred name", Label::Name),
    ("name", Label::Name),
    ("nickname", Label::Name),
    ("what would you like chatgpt to call you?", Label::Name),
    ("what should chatgpt call you?", Label::Name),
    ("role", Label::Occupation),
    ("occupation", Label::Occupation),
    ("job", Label::Occupation),
    ("job title", Label::Occupation),
    ("profession", Label::Occupation),
    ("work", Label::Occupation),
    ("what do you do?", Label::Occupation),
    ("location", Label::Location),
    ("based in", Label::Location),
    ("home", Label::Location),
    ("city", Label::Location),
    ("where are you based?", Label::Location),
];

/// The label and value of `line`, when it is one of the labels people use followed by a colon
/// and something ("Preferred name: Erin" gives `(Name, "Erin")`). A value of more than a
/// dozen words is prose that happens to start with a label word, not an answer to it.
pub fn labelled(line: &str) -> Option<(Label, &str)> {
    let (label, value) = line.split_once(':')?;
    // "- Name: Erin", "**Name:** Erin": list marks and Markdown emphasis are not the label.
    let label = label
        .trim()
        .trim_start_matches(['-', '•'])
        .trim_matches('*')
        .trim();
    let value = value
        .trim_start_matches('*')
        .trim()
        .trim_end_matches('.')
        .trim();
    if value.is_empty() || value.split_whitespace().count() > 12 {
        return None;
    }
    LABELS
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(label))
        .map(|&(_, what)| (what, value))
}

/// The first value of each label in an about-me, one line at a time.
pub fn first(about: &str, wanted: Label) -> Option<&str> {
    about
        .lines()
        .filter_map(labelled)
        .find(|(label, _)| *label == wanted)
        .map(|(_, value)| value)
}

/// Labels that only introduce the person's prose: what follows them is kept without them.
const INTRODUCING: [&str; 6] = [
    "other information",
    "other info",
    "about me",
    "more about me",
    "additional information",
    "bio",
];

/// The lines of an about-me that carry no known label, whole ("Allergies: peanuts"
/// stays as it is), but for an introducing label ("Other information: …"): the person's own
/// prose.
pub fn prose(about: &str) -> Vec<&str> {
    about
        .lines()
        .filter(|l| labelled(l).is_none())
        .map(|l| match l.split_once(':') {
            Some((label, rest))
                if INTRODUCING
                    .contains(&label.trim().trim_matches('*').to_lowercase().as_str()) =>
            {
                rest.trim()
            }
            _ => l.trim(),
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_give_name_work_and_home_and_prose_is_left_as_it_is() {
        let about = "Preferred name: Erin\nRole: director of a gardening company\n\
                     Location: Leeds, UK\nOther Information: I have two whippets.";
        assert_eq!(first(about, Label::Name), Some("Erin"));
        assert_eq!(
            first(about, Label::Occupation),
            Some("director of a gardening company")
        );
        assert_eq!(first(about, Label::Location), Some("Leeds, UK"));
        assert_eq!(prose(about), vec!["I have two whippets."]);
        assert_eq!(prose("Allergies: peanuts"), vec!["Allergies: peanuts"]);
        assert_eq!(labelled("**Name:** Erin"), Some((Label::Name, "Erin")));
        // A sentence is not a label, whatever its first word.
        let sentence = "Work: I have been running the same small gardening business for \
                        twenty years now and love it";
        assert_eq!(labelled(sentence), None);
        assert_eq!(labelled("Name:"), None);
        assert_eq!(
            first(
                "Job: I teach maths in Leeds, and have done so since the \
                          nineties with great pleasure",
                Label::Occupation
            ),
            None
        );
    }
}
