//! First-person statements in Spanish, Portuguese, French, German and Italian. These languages
//! drop the pronoun ("Vivo en Madrid", "Moro em Coimbra"), so the verb's first-person form is
//! the cue, not a pronoun: "vive en" (she lives in) is someone else's and matches nothing.

use super::fact::{Category, Subject};

/// First-person phrases (lower case) and what a sentence holding one states.
const CUES: &[(&str, Category, Option<Subject>)] = &[
    // Home.
    ("vivo en ", Category::Life, Some(Subject::Location)),
    ("me mudé a ", Category::Life, Some(Subject::Location)),
    ("me he mudado a ", Category::Life, Some(Subject::Location)),
    ("resido en ", Category::Life, Some(Subject::Location)),
    ("moro em ", Category::Life, Some(Subject::Location)),
    ("moro no ", Category::Life, Some(Subject::Location)),
    ("moro na ", Category::Life, Some(Subject::Location)),
    ("vivo em ", Category::Life, Some(Subject::Location)),
    ("mudei-me para ", Category::Life, Some(Subject::Location)),
    ("me mudei para ", Category::Life, Some(Subject::Location)),
    ("j'habite ", Category::Life, Some(Subject::Location)),
    ("je vis à ", Category::Life, Some(Subject::Location)),
    ("je vis en ", Category::Life, Some(Subject::Location)),
    ("j'ai déménagé ", Category::Life, Some(Subject::Location)),
    ("ich wohne in ", Category::Life, Some(Subject::Location)),
    ("ich lebe in ", Category::Life, Some(Subject::Location)),
    ("ich bin nach ", Category::Life, Some(Subject::Location)),
    ("vivo a ", Category::Life, Some(Subject::Location)),
    ("vivo in ", Category::Life, Some(Subject::Location)),
    ("abito a ", Category::Life, Some(Subject::Location)),
    ("abito in ", Category::Life, Some(Subject::Location)),
    ("mi sono trasferit", Category::Life, Some(Subject::Location)),
    // Work.
    ("trabajo como ", Category::Life, Some(Subject::Occupation)),
    ("trabalho como ", Category::Life, Some(Subject::Occupation)),
    (
        "je travaille comme ",
        Category::Life,
        Some(Subject::Occupation),
    ),
    (
        "ich arbeite als ",
        Category::Life,
        Some(Subject::Occupation),
    ),
    ("lavoro come ", Category::Life, Some(Subject::Occupation)),
    ("trabajo en ", Category::Life, Some(Subject::Employer)),
    ("trabalho na ", Category::Life, Some(Subject::Employer)),
    ("trabalho no ", Category::Life, Some(Subject::Employer)),
    (
        "je travaille chez ",
        Category::Life,
        Some(Subject::Employer),
    ),
    ("ich arbeite bei ", Category::Life, Some(Subject::Employer)),
    ("lavoro per ", Category::Life, Some(Subject::Employer)),
    ("lavoro presso ", Category::Life, Some(Subject::Employer)),
    // Partner.
    ("estoy casad", Category::Life, Some(Subject::Relationship)),
    ("me casé", Category::Life, Some(Subject::Relationship)),
    ("sou casad", Category::Life, Some(Subject::Relationship)),
    ("je suis marié", Category::Life, Some(Subject::Relationship)),
    (
        "ich bin verheiratet",
        Category::Life,
        Some(Subject::Relationship),
    ),
    (
        "ich habe geheiratet",
        Category::Life,
        Some(Subject::Relationship),
    ),
    ("sono sposat", Category::Life, Some(Subject::Relationship)),
    // Life: animals, diet, studies, languages.
    ("tengo un ", Category::Life, None),
    ("tengo una ", Category::Life, None),
    ("tenho um ", Category::Life, None),
    ("tenho uma ", Category::Life, None),
    ("j'ai un ", Category::Life, None),
    ("j'ai une ", Category::Life, None),
    ("ich habe einen ", Category::Life, None),
    ("ich habe eine ", Category::Life, None),
    ("ho un ", Category::Life, None),
    ("ho una ", Category::Life, None),
    ("soy vegetarian", Category::Life, None),
    ("soy vegan", Category::Life, None),
    ("sou vegetarian", Category::Life, None),
    ("je suis végétarien", Category::Life, None),
    ("ich bin vegetarier", Category::Life, None),
    ("ich bin veganer", Category::Life, None),
    ("sono vegetarian", Category::Life, None),
    ("estudo ", Category::Life, None),
    ("j'étudie ", Category::Life, None),
    ("ich studiere ", Category::Life, None),
    ("estoy aprendiendo ", Category::Project, None),
    ("estou aprendendo ", Category::Project, None),
    ("j'apprends ", Category::Project, None),
    ("ich lerne ", Category::Project, None),
    ("sto imparando ", Category::Project, None),
    // Preferences.
    ("me encanta ", Category::Preference, None),
    ("me gusta ", Category::Preference, None),
    ("prefiero ", Category::Preference, None),
    ("adoro ", Category::Preference, None),
    ("prefiro ", Category::Preference, None),
    ("j'adore ", Category::Preference, None),
    ("je préfère ", Category::Preference, None),
    ("ich liebe ", Category::Preference, None),
    ("ich mag ", Category::Preference, None),
    ("mi piace ", Category::Preference, None),
    ("preferisco ", Category::Preference, None),
];

/// Pronouns that may open the sentence before the verb ("Yo vivo en…", "Eu moro em…").
const PRONOUNS: &[&str] = &["yo ", "eu ", "io ", "ahora ", "agora ", "maintenant "];

/// What `lower` (a sentence, lower case) states about the person in one of these languages:
/// the sentence opens with a first-person cue, after an optional pronoun or "now".
pub fn classify(lower: &str) -> Option<(Category, Option<Subject>)> {
    let mut rest = lower.trim_start();
    while let Some(p) = PRONOUNS.iter().find(|p| rest.starts_with(*p)) {
        rest = &rest[p.len()..];
    }
    let rest = rest.replace('’', "'");
    let &(cue, category, subject) = CUES.iter().find(|(cue, ..)| rest.starts_with(cue))?;
    let object = rest[cue.len()..].trim_start();
    let first = object.split_whitespace().next().unwrap_or("");
    // "Tengo un problema", "J'ai une question": a prompt's opening, not something they have.
    if category == Category::Life && subject.is_none() && NOT_HELD.contains(&first) {
        return None;
    }
    // "Vivo en un piso compartido", "Trabajo en equipo": no place, so no slot.
    let placed = !matches!(subject, Some(Subject::Location | Subject::Employer))
        || !NO_PLACE.contains(&first);
    Some((category, subject.filter(|_| placed)))
}

/// What people "have" when they are about to ask for something.
const NOT_HELD: &[&str] = &[
    "problema",
    "pregunta",
    "duda",
    "dúvida",
    "pergunta",
    "question",
    "problème",
    "frage",
    "problem",
    "domanda",
    "dubbio",
    "idea",
    "idée",
    "ideia",
    "error",
    "erro",
    "erreur",
    "fehler",
    "errore",
];

/// Words after "vivo en", "trabajo en" that name no place or employer.
const NO_PLACE: &[&str] = &[
    "un",
    "una",
    "um",
    "uma",
    "une",
    "ein",
    "eine",
    "einem",
    "einer",
    "casa",
    "remoto",
    "equipo",
    "equipe",
    "home",
    "proyecto",
    "projeto",
    "proyectos",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_person_verbs_are_read_without_a_pronoun() {
        let home = Some((Category::Life, Some(Subject::Location)));
        assert_eq!(classify("vivo en madrid desde 2019."), home);
        assert_eq!(classify("moro em coimbra."), home);
        assert_eq!(classify("j’habite à lyon."), home);
        assert_eq!(classify("ich wohne in köln."), home);
        assert_eq!(classify("yo vivo en sevilla"), home);
        assert_eq!(
            classify("ich arbeite als krankenpfleger."),
            Some((Category::Life, Some(Subject::Occupation)))
        );
        assert_eq!(
            classify("sono vegetariano da sei anni."),
            Some((Category::Life, None))
        );
        // Someone else's, in the third person.
        assert_eq!(classify("mi hermana vive en berlín."), None);
        assert_eq!(classify("ela mora em lisboa."), None);
        // A prompt's opening, a wish, and no place named.
        assert_eq!(classify("tengo un problema con mi código"), None);
        assert_eq!(classify("ich habe eine frage"), None);
        assert_eq!(classify("me gustaría que escribieras un correo"), None);
        assert_eq!(
            classify("vivo en un piso compartido"),
            Some((Category::Life, None))
        );
        assert_eq!(
            classify("trabajo en equipo con diseño"),
            Some((Category::Life, None))
        );
    }
}
