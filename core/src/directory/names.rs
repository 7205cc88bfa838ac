//! Readable organisation names from the ODS files' upper-case ones (R40), and the
//! folded words a name is searched by.
//!
//! The rule, applied to each run of letters and digits (a *segment*) in turn:
//! 1. **Acronyms stay upper case**: a known acronym (`NHS`, `GP`, `ENT`, `OOH`, `WIC`,
//!    `A&E`'s letters, …), any segment of two or more letters without a vowel (`HMP`,
//!    `CCG`, `PW`; `Y` counts as a vowel, so `LYNN` is a word), any two letters but the
//!    two-letter words (`HC`, `WA`, `OA`; not `of`, `St`), and a doctor's initials (up
//!    to three letters after `Dr` with a surname to follow: `Dr JAD Weir`, but `Dr
//!    Lee`) — except the abbreviations written as words (`Dr`, `St`, `Rd`, `Ltd`,
//!    `Ctr`, …); `GPS` is `GPs`. A single letter stays upper case (`Dr N Lewis'
//!    Practice`, `A & E`).
//! 2. **Small words** (`and`, `of`, `the`, `in`, `on`, `at`, `for`, `to`, `by`, `upon`,
//!    `with`, `de`, `la`, `le`) are lower case inside a name, but not first, nor first
//!    inside brackets.
//! 3. **After an apostrophe** a word goes on in lower case (`Guy's`, `St Thomas'`),
//!    unless the apostrophe follows a single letter (`O'Brien`, `D'Arcy`).
//! 4. **Mc** and a few **Mac** surnames capitalise the letter after the prefix
//!    (`McKenzie`, `MacDonald`); other words that start with "Mac" (`Macclesfield`) do not.
//! 5. A segment starting with a digit keeps its digits and lowers the rest (`1st`).
//! 6. Everything else is capitalised: first letter upper, the rest lower. Spaces,
//!    hyphens, commas, dots, brackets, slashes and `&` are kept where they are.

/// Acronyms that contain a vowel, so rule 1's "no vowel" test does not catch them.
const ACRONYMS: &[&str] = &[
    "ADHD", "APCS", "AQP", "BMI", "CAS", "CDAS", "CIC", "CIO", "COPD", "CRI", "CYP", "DHU", "ELFT", "ENT", "EPUT",
    "EBHC", "EVMC", "GPPO", "GPSI", "GPWSI", "ICT", "IAPT", "IC24", "ICB", "IPU", "IRC", "IUC", "IV", "KCA", "LLP",
    "MIU", "NDUC", "NEAS", "OOH", "OOHS", "PCAH", "PCAS", "PCN", "PCOC", "PELC", "PGPA", "PIMS", "RRU", "SARC", "SAS",
    "UCC", "UK", "UTC", "VI", "VII", "VIII", "WIC", "YOI",
];

/// Words of two letters (any other two letters are an abbreviation, rule 1).
const TWO_LETTER_WORDS: &[&str] = &[
    "AN", "AS", "AT", "BE", "BY", "CO", "DE", "DO", "DR", "GO", "IN", "IS", "IT", "LA", "LE", "ME", "MR", "MS", "MY",
    "NO", "OF", "ON", "OR", "RD", "SO", "SQ", "ST", "TO", "UP", "WE",
];

/// Consonant-only abbreviations written as words.
const WORDS_WITHOUT_VOWELS: &[&str] =
    &["CTR", "CWM", "DR", "DRS", "GRP", "HLTH", "LTD", "MR", "MRS", "MS", "PTNR", "RD", "SQ", "ST"];

/// Lower case inside a name.
const SMALL_WORDS: &[&str] =
    &["AND", "AT", "BY", "DE", "FOR", "IN", "LA", "LE", "OF", "ON", "THE", "TO", "UPON", "WITH"];

/// Surnames written "Mac" + a capital; other words starting "MAC" are ordinary words.
const MAC_NAMES: &[&str] = &["MACDONALD", "MACGREGOR", "MACKENZIE", "MACLACHLAN", "MACLEOD", "MACMICHAEL", "MACRAE"];

/// The readable form of an upper-case ODS name (the rule is in the module's docs).
///
/// ```
/// use carespace::directory::readable_name;
/// assert_eq!(readable_name("GUY'S AND ST THOMAS' NHS FOUNDATION TRUST"), "Guy's and St Thomas' NHS Foundation Trust");
/// assert_eq!(readable_name("MCKENZIE HOUSE SURGERY"), "McKenzie House Surgery");
/// ```
pub fn readable_name(source: &str) -> String {
    // Runs of letters and digits (segments) and the characters between them, in order.
    let mut parts: Vec<(bool, String)> = Vec::new();
    for c in source.chars() {
        let word = c.is_alphanumeric();
        match parts.last_mut() {
            Some((true, segment)) if word => segment.push(c),
            _ => parts.push((word, c.to_string())),
        }
    }
    let mut out = String::with_capacity(source.len());
    let mut before = Before { first: true, separator: None, previous: String::new(), next_is_word: false };
    for (i, (word, text)) in parts.iter().enumerate() {
        if !*word {
            before.separator = text.chars().next();
            out.push_str(text);
            continue;
        }
        before.next_is_word =
            parts.get(i + 2).is_some_and(|(w, _)| *w) && parts.get(i + 1).is_some_and(|(_, t)| t == " ");
        out.push_str(&case_segment(text, &before));
        before = Before { first: false, separator: None, previous: text.to_uppercase(), next_is_word: false };
    }
    out
}

/// Where a segment stands.
struct Before {
    /// It is the name's first segment.
    first: bool,
    /// The character just before it (`None` at the start of the name).
    separator: Option<char>,
    /// The segment before that character, upper case (empty at the start).
    previous: String,
    /// A space and another segment follow it.
    next_is_word: bool,
}

fn case_segment(segment: &str, before: &Before) -> String {
    let upper = segment.to_uppercase();
    if before.separator == Some('\'') || before.separator == Some('’') {
        // Rule 3: Guy's, Thomas' (nothing follows) — but O'Brien.
        return if before.previous.chars().count() == 1 { capitalised(&upper) } else { upper.to_lowercase() };
    }
    if upper.starts_with(|c: char| c.is_ascii_digit()) {
        return upper.to_lowercase();
    }
    if upper == "GPS" {
        return "GPs".to_owned();
    }
    if upper.chars().count() == 1 || ACRONYMS.contains(&upper.as_str()) {
        return upper;
    }
    // A doctor's initials: up to three letters after "Dr" with a surname to follow.
    let initials = matches!(before.previous.as_str(), "DR" | "DRS") && before.separator == Some(' ');
    if initials && before.next_is_word && upper.chars().count() <= 3 && upper.chars().all(|c| c.is_ascii_alphabetic()) {
        return upper;
    }
    // Two letters are an abbreviation (HC, SW, WA, OA) unless a word of two letters.
    if upper.chars().count() == 2 && !TWO_LETTER_WORDS.contains(&upper.as_str()) {
        return upper;
    }
    let vowel = upper.chars().any(|c| matches!(c, 'A' | 'E' | 'I' | 'O' | 'U' | 'Y') || !c.is_ascii());
    if !vowel && !WORDS_WITHOUT_VOWELS.contains(&upper.as_str()) {
        return upper;
    }
    let opens = before.first || before.separator == Some('(');
    if !opens && SMALL_WORDS.contains(&upper.as_str()) {
        return upper.to_lowercase();
    }
    if let Some(rest) = upper.strip_prefix("MC").filter(|rest| rest.chars().count() >= 2) {
        return format!("Mc{}", capitalised(rest));
    }
    if MAC_NAMES.contains(&upper.as_str()) {
        return format!("Mac{}", capitalised(&upper[3..]));
    }
    capitalised(&upper)
}

/// First letter upper case, the rest lower.
fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// The words `text` is searched by: lower case, accents and apostrophes removed, split
/// at anything else that is not a letter or a digit (so "King's Lynn" gives `kings`,
/// `lynn`, found by "kings", "king" and "king's" alike; "Saint-Étienne" gives `saint`,
/// `etienne`). A query is folded the same way, and matches a name when
/// each of its words starts one of the name's words.
///
/// ```
/// use carespace::directory::search_words;
/// assert_eq!(search_words("Guy's and St Thomas'"), ["guys", "and", "st", "thomas"]);
/// assert_eq!(search_words("KING’S LYNN"), ["kings", "lynn"]);
/// assert_eq!(search_words("Hôpital  Saint-Étienne"), ["hopital", "saint", "etienne"]);
/// ```
pub fn search_words(text: &str) -> Vec<String> {
    /// Apostrophes join a word rather than split it: straight, curly and modifier.
    const APOSTROPHES: [char; 3] = ['\'', '\u{2019}', '\u{2BC}'];
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    // ASCII (every ODS name) has no accents to take apart: skip the normaliser, which
    // a search runs over thousands of candidates.
    let folded: String = if text.is_ascii() {
        text.chars().filter(|c| *c != '\'').map(|c| c.to_ascii_lowercase()).collect()
    } else {
        text.nfd().filter(|c| !is_combining_mark(*c) && !APOSTROPHES.contains(c)).flat_map(char::to_lowercase).collect()
    };
    folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// Whether a word of `name` ([`search_words`]) starts with the folded `prefix`: whether
/// the name has a row for it in a prefix index (R11, R40).
///
/// ```
/// use carespace::directory::starts_a_word;
/// assert!(starts_a_word("Maternity - Ward 2", "war"));
/// assert!(!starts_a_word("Maternity - Ward 2", "ternity"));
/// ```
pub fn starts_a_word(name: &str, prefix: &str) -> bool {
    search_words(name).iter().any(|w| w.starts_with(prefix))
}

/// Whether every word of the folded `query` starts a word of `name` (R11, R40).
///
/// ```
/// use carespace::directory::{matches_words, search_words};
/// assert!(matches_words(&search_words("ward MAT"), "Maternity - Ward 2"));
/// assert!(!matches_words(&search_words("ward 3"), "Maternity - Ward 2"));
/// ```
pub fn matches_words(query: &[String], name: &str) -> bool {
    if query.is_empty() {
        return true; // no name to fold
    }
    let words = search_words(name);
    query.iter().all(|q| words.iter().any(|w| w.starts_with(q.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real names from `etr.csv` and `epraccur.csv` (`data/ods/` at the repository root),
    /// each with the name people should see.
    const NAMES: &[(&str, &str)] = &[
        ("GUY'S AND ST THOMAS' NHS FOUNDATION TRUST", "Guy's and St Thomas' NHS Foundation Trust"),
        ("THE DENSHAM SURGERY", "The Densham Surgery"),
        ("DR RASOOL", "Dr Rasool"),
        ("MCKENZIE HOUSE SURGERY", "McKenzie House Surgery"),
        (
            "BARKING, HAVERING AND REDBRIDGE UNIVERSITY HOSPITALS NHS TRUST",
            "Barking, Havering and Redbridge University Hospitals NHS Trust",
        ),
        (
            "THE QUEEN ELIZABETH HOSPITAL, KING'S LYNN, NHS FOUNDATION TRUST",
            "The Queen Elizabeth Hospital, King's Lynn, NHS Foundation Trust",
        ),
        ("EAST LONDON NHS FOUNDATION TRUST", "East London NHS Foundation Trust"),
        ("WORCESTERSHIRE HEALTH AND CARE NHS TRUST", "Worcestershire Health and Care NHS Trust"),
        ("WRIGHTINGTON, WIGAN AND LEIGH NHS FOUNDATION TRUST", "Wrightington, Wigan and Leigh NHS Foundation Trust"),
        (
            "UNIVERSITY HOSPITALS OF MORECAMBE BAY NHS FOUNDATION TRUST",
            "University Hospitals of Morecambe Bay NHS Foundation Trust",
        ),
        (
            "ASHFORD AND ST PETER'S HOSPITALS NHS FOUNDATION TRUST",
            "Ashford and St Peter's Hospitals NHS Foundation Trust",
        ),
        ("TEES, ESK AND WEAR VALLEYS NHS FOUNDATION TRUST", "Tees, Esk and Wear Valleys NHS Foundation Trust"),
        ("PUBLIC HEALTH WALES NHS TRUST", "Public Health Wales NHS Trust"),
        ("QUEENS PARK MEDICAL CENTRE", "Queens Park Medical Centre"),
        ("JUPITER HOUSE SURGERY", "Jupiter House Surgery"),
        ("MID MERSEY CYP EATING DISORDERS", "Mid Mersey CYP Eating Disorders"),
        ("DR N LEWIS' PRACTICE", "Dr N Lewis' Practice"),
        ("NMP ADULT NEURODEVELOPMENTAL SERVICE", "NMP Adult Neurodevelopmental Service"),
        ("THE VILLAGE SURGERIES CROSTON&ECCLESTON", "The Village Surgeries Croston&Eccleston"),
        ("A & E NON MEDICAL PRESCRIBERS", "A & E Non Medical Prescribers"),
        ("ANTICOAG SERVICE GR PHARMACY", "Anticoag Service GR Pharmacy"),
        ("SOLUTIONS 4 HEALTH", "Solutions 4 Health"),
        ("HMP/YOI ASKHAM GRANGE", "HMP/YOI Askham Grange"),
        ("ST. MARY'S SURGERY", "St. Mary's Surgery"),
        ("DR PW HUNT'S PRACTICE", "Dr PW Hunt's Practice"),
        ("DR LHF WALTON'S PRACTICE", "Dr LHF Walton's Practice"),
        ("DR JJ MCPEAKES PRACTICE", "Dr JJ McPeakes Practice"),
        ("DR KW MCGECHAEN & PARTNER", "Dr KW McGechaen & Partner"),
        ("DR HR MCMURRAY'S PRACTICE", "Dr HR McMurray's Practice"),
        ("MCILVRIDE MEDICAL PRACTICE", "McIlvride Medical Practice"),
        ("LAKESIDE RUSHDEN MC", "Lakeside Rushden MC"),
        ("ULVERSTON HEALTH CENTRE (MURRAY)", "Ulverston Health Centre (Murray)"),
        ("1 RAWLING ROAD(THE MEDICAL CENTRE)", "1 Rawling Road(The Medical Centre)"),
        ("FLAGG COURT (DR N WIN)", "Flagg Court (Dr N Win)"),
        ("BROADMOOR (SECURED) PRACTICE", "Broadmoor (Secured) Practice"),
        ("BOROUGH ROAD & NUNTHORPE MEDICAL GROUP", "Borough Road & Nunthorpe Medical Group"),
        ("BEDLINGTONSHIRE MED.GROUP", "Bedlingtonshire Med.Group"),
        ("GOSFORTH MEMORIAL MED.CTR", "Gosforth Memorial Med.Ctr"),
        ("THE G.P.SUITE", "The G.P.Suite"),
        ("MARSDEN RD. HEALTH CENTRE", "Marsden Rd. Health Centre"),
        ("NORTHUMBERLAND, TYNE AND WEAR NHS FOUNDATION TRUST", "Northumberland, Tyne and Wear NHS Foundation Trust"),
        ("MACCLESFIELD DISTRICT GENERAL HOSPITAL", "Macclesfield District General Hospital"),
        ("DR MACKENZIE", "Dr MacKenzie"),
        ("STOCKTON-ON-TEES WALK IN CENTRE", "Stockton-on-Tees Walk in Centre"),
        ("ENT OOH SERVICE", "ENT OOH Service"),
        ("LOROS", "Loros"),
        ("THE MEDICAL CENTRE", "The Medical Centre"),
        ("GPS AT THE CROSSING", "GPs at the Crossing"),
        ("O'BRIEN PRACTICE", "O'Brien Practice"),
        ("DR JAD WEIR & PARTNERS", "Dr JAD Weir & Partners"),
        ("DR EF GRIFFITH'S PRACTICE", "Dr EF Griffith's Practice"),
        ("DR LEE", "Dr Lee"),
        ("WA OA CMHT", "WA OA CMHT"),
        ("HAYFIELD GPWSI SERVICE,", "Hayfield GPWSI Service,"),
        ("EBHC DR P WESTON", "EBHC Dr P Weston"),
    ];

    #[test]
    fn r40_readable_names_of_real_ods_names() {
        let wrong: Vec<String> = NAMES
            .iter()
            .filter(|(source, readable)| readable_name(source) != *readable)
            .map(|(source, readable)| format!("{source}: got “{}”, want “{readable}”", readable_name(source)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(NAMES.len() >= 40);
    }

    #[test]
    fn r40_search_words_fold_case_accents_and_apostrophes_and_split_at_punctuation() {
        assert_eq!(search_words("GUY'S AND ST THOMAS'"), ["guys", "and", "st", "thomas"]);
        assert_eq!(search_words("King\u{2019}s Lynn"), search_words("kings lynn"));
        assert_eq!(search_words("Crème-Brûlée, Ltd."), ["creme", "brulee", "ltd"]);
        assert_eq!(search_words(""), Vec::<String>::new());
        assert_eq!(search_words("  ,,  "), Vec::<String>::new());
    }
}
