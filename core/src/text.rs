//! Validated text newtypes: organisation, workspace and person names, descriptions,
//! ODS codes and consumer names (R1, R5, R6, R42). Each is parsed once and valid from then on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a piece of text was refused. `field` names what was being parsed ("workspace
/// name", "organisation name", …) so the message reads well on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// Nothing but whitespace.
    #[error("the {field} is empty")]
    Empty {
        /// What was being parsed.
        field: &'static str,
    },
    /// Longer than allowed, counted in characters after normalising.
    #[error("the {field} is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// What was being parsed.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Shorter than allowed.
    #[error("the {field} is {len} characters long; at least {min} are needed")]
    TooShort {
        /// What was being parsed.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A control character, a line break or an invisible formatting character.
    #[error("the {field} contains a line break, control or invisible character (U+{code:04X})")]
    ForbiddenCharacter {
        /// What was being parsed.
        field: &'static str,
        /// The offending code point.
        code: u32,
    },
    /// A character outside the allowed set (ODS codes: ASCII letters and digits).
    #[error("the {field} may only contain ASCII letters and digits, not “{found}”")]
    NotAlphanumeric {
        /// What was being parsed.
        field: &'static str,
        /// The offending character.
        found: char,
    },
    /// A character outside an identifier's set (consumer names: ASCII letters, digits,
    /// `-`, `_` and `.`).
    #[error("the {field} may only contain ASCII letters, digits, “-”, “_” and “.”, not “{found}”")]
    NotAnIdentifier {
        /// What was being parsed.
        field: &'static str,
        /// The offending character.
        found: char,
    },
}

/// Characters that change how text reads without being visible: bidirectional
/// overrides could make a signature print something other than the stored name.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{2028}' | '\u{2029}')
}

/// A single-line label: rejects control/invisible characters, trims, folds inner
/// whitespace runs to one space, and checks the length in characters.
fn single_line(input: &str, field: &'static str, max: usize) -> Result<String, TextError> {
    // One pass: refuse forbidden characters, count, and see whether folding would change
    // anything (text read back from a database is already folded: no second copy then).
    let (mut len, mut needs_fold, mut after_space) = (0, false, true);
    for c in input.chars() {
        if c.is_control() || is_invisible_format(c) {
            return Err(TextError::ForbiddenCharacter { field, code: u32::from(c) });
        }
        if c.is_whitespace() {
            needs_fold |= after_space || c != ' ';
            after_space = true;
        } else {
            after_space = false;
        }
        len += 1;
    }
    needs_fold |= after_space && len > 0;
    let folded = if needs_fold { input.split_whitespace().collect::<Vec<_>>().join(" ") } else { input.to_owned() };
    let len = if needs_fold { folded.chars().count() } else { len };
    if len == 0 {
        return Err(TextError::Empty { field });
    }
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    Ok(folded)
}

/// The case-insensitive comparison key of a folded single-line label: lower case of
/// upper case, which folds case the way Unicode's full case folding does for names
/// ("Straße" and "STRASSE", "ι" and the combining iota U+0345, compare equal), where
/// `to_lowercase` alone does not.
pub(crate) fn key_of(folded: &str) -> String {
    folded.to_uppercase().to_lowercase()
}

macro_rules! text_type {
    ($name:ident) => {
        impl $name {
            /// The normalised text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::parse(s)?)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = TextError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// The name of a shared workspace (R6): trimmed, inner whitespace folded to single
/// spaces, 1–50 characters, no control characters or line breaks, because it is printed
/// in the signature of patient messages (R12).
///
/// Uniqueness within an organisation is decided on [`WorkspaceName::key`], which ignores case.
///
/// ```
/// use carespace::WorkspaceName;
///
/// let name: WorkspaceName = "  Maternity  -   Ward 2 ".parse()?;
/// assert_eq!(name.as_str(), "Maternity - Ward 2");
/// assert_eq!(name.key(), "maternity - ward 2");
/// assert!("Ward\n2".parse::<WorkspaceName>().is_err());
/// # Ok::<(), carespace::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspaceName(String);
text_type!(WorkspaceName);

impl WorkspaceName {
    /// The longest workspace name, in characters.
    pub const MAX_LEN: usize = 50;

    /// Parses and normalises a workspace name.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        single_line(input, "workspace name", Self::MAX_LEN).map(Self)
    }

    /// The case-insensitive key two names are compared on (R6).
    pub fn key(&self) -> String {
        key_of(&self.0)
    }
}

/// The name of an organisation (R1): a single line of 1–120 characters, folded as
/// workspace names are.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganisationName(String);
text_type!(OrganisationName);

impl OrganisationName {
    /// The longest organisation name, in characters.
    pub const MAX_LEN: usize = 120;

    /// Parses and normalises an organisation name.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        single_line(input, "organisation name", Self::MAX_LEN).map(Self)
    }

    /// The case-insensitive comparison key, as for workspace names.
    pub fn key(&self) -> String {
        key_of(&self.0)
    }
}

/// A person's display name, shown to requesters as "who will approve" (R11): a single
/// line of 1–100 characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);
text_type!(PersonName);

impl PersonName {
    /// The longest person name, in characters.
    pub const MAX_LEN: usize = 100;

    /// Parses and normalises a person's name.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        single_line(input, "person name", Self::MAX_LEN).map(Self)
    }

    /// The key lists sort people by, ignoring case (R22): the name in lower case. The
    /// SQL backends store it beside each membership and compare it byte by byte.
    pub fn sort_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A workspace description (R5): 0–500 characters after trimming. Line breaks are kept
/// (normalised to `\n`); other control and invisible formatting characters are refused.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);
text_type!(Description);

impl Description {
    /// The longest description, in characters.
    pub const MAX_LEN: usize = 500;

    /// Parses and normalises a description.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let field = "description";
        let text = input.replace("\r\n", "\n");
        let text = text.trim();
        if let Some(c) = text.chars().find(|&c| (c.is_control() && c != '\n') || is_invisible_format(c)) {
            return Err(TextError::ForbiddenCharacter { field, code: u32::from(c) });
        }
        let len = text.chars().count();
        if len > Self::MAX_LEN {
            return Err(TextError::TooLong { field, len, max: Self::MAX_LEN });
        }
        Ok(Self(text.to_owned()))
    }

    /// Whether the description is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An NHS Organisation Data Service code (R1): 3–6 ASCII letters or digits, stored
/// upper-case, unique across organisations.
///
/// ```
/// use carespace::OdsCode;
/// assert_eq!("rwk".parse::<OdsCode>()?.as_str(), "RWK");
/// # Ok::<(), carespace::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OdsCode(String);
text_type!(OdsCode);

impl OdsCode {
    /// Parses an ODS code, upper-casing it.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let field = "ODS code";
        let code = input.trim();
        if code.is_empty() {
            return Err(TextError::Empty { field });
        }
        if let Some(found) = code.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(TextError::NotAlphanumeric { field, found });
        }
        let len = code.len();
        if len < 3 {
            return Err(TextError::TooShort { field, len, min: 3 });
        }
        if len > 6 {
            return Err(TextError::TooLong { field, len, max: 6 });
        }
        Ok(Self(code.to_ascii_uppercase()))
    }
}

/// The name of an event consumer (R42), as a host chooses it: "emails", "audit-export".
/// 1 to 64 ASCII letters, digits, `-`, `_` and `.`; kept as given (names are compared
/// exactly), so that it reads the same in a log line, a table and a command line.
///
/// ```
/// use carespace::ConsumerName;
/// assert_eq!("emails".parse::<ConsumerName>()?.as_str(), "emails");
/// assert!("two words".parse::<ConsumerName>().is_err());
/// # Ok::<(), carespace::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConsumerName(String);
text_type!(ConsumerName);

impl ConsumerName {
    /// The longest name, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a consumer name; surrounding whitespace is an error like any other space.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        let field = "consumer name";
        if input.is_empty() {
            return Err(TextError::Empty { field });
        }
        if let Some(found) = input.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            return Err(TextError::NotAnIdentifier { field, found });
        }
        // ASCII only from here: bytes are characters.
        let len = input.len();
        if len > Self::MAX_LEN {
            return Err(TextError::TooLong { field, len, max: Self::MAX_LEN });
        }
        Ok(Self(input.to_owned()))
    }
}

// A day as `YYYY-MM-DD` in JSON (an organisation's closing day, R40).
time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r6_workspace_names_are_trimmed_and_folded() {
        let name = WorkspaceName::parse("\u{a0} Maternity \u{3000}-  Ward 2  ").unwrap();
        assert_eq!(name.as_str(), "Maternity - Ward 2");
        assert_eq!(name.key(), WorkspaceName::parse("MATERNITY - WARD 2").unwrap().key());
    }

    #[test]
    fn r6_the_key_folds_case_fully() {
        let key = |s: &str| WorkspaceName::parse(s).unwrap().key();
        assert_eq!(key("Straße Ward"), key("STRASSE WARD"));
        // Found by the workspace_name fuzz target: U+0345 upper-cases to Ι, whose lower
        // case is ι; `to_lowercase` alone kept U+0345 and missed the match.
        let found = "3  k z d d 33 33z d 33 \u{345}\u{7db}";
        assert_eq!(key(found), key(&found.to_uppercase()));
        assert_eq!(key("Maternity - Ward 2"), "maternity - ward 2");
    }

    #[test]
    fn r6_workspace_name_length_is_1_to_50_characters() {
        assert!(WorkspaceName::parse(&"é".repeat(50)).is_ok());
        assert_eq!(
            WorkspaceName::parse(&"é".repeat(51)),
            Err(TextError::TooLong { field: "workspace name", len: 51, max: 50 })
        );
        assert_eq!(WorkspaceName::parse("   "), Err(TextError::Empty { field: "workspace name" }));
        assert_eq!(WorkspaceName::parse(""), Err(TextError::Empty { field: "workspace name" }));
    }

    #[test]
    fn r6_workspace_names_refuse_line_breaks_and_control_characters() {
        for (input, code) in [
            ("Ward\n2", 0x0a),
            ("Ward\r2", 0x0d),
            ("Ward\t2", 0x09),
            ("Ward\u{0}2", 0x00),
            ("Ward\u{2028}2", 0x2028),
            ("Ward \u{202e}2", 0x202e),
            ("Ward\u{200b}2", 0x200b),
        ] {
            assert_eq!(
                WorkspaceName::parse(input),
                Err(TextError::ForbiddenCharacter { field: "workspace name", code }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn r1_organisation_names_are_1_to_120_characters() {
        assert!(OrganisationName::parse(&"x".repeat(120)).is_ok());
        assert!(matches!(OrganisationName::parse(&"x".repeat(121)), Err(TextError::TooLong { .. })));
        assert!(matches!(OrganisationName::parse(" "), Err(TextError::Empty { .. })));
        assert_eq!(
            OrganisationName::parse("  East London   NHS Foundation Trust ").unwrap().as_str(),
            "East London NHS Foundation Trust"
        );
    }

    #[test]
    fn r1_ods_codes_are_3_to_6_ascii_alphanumerics_upper_cased() {
        assert_eq!(OdsCode::parse(" rwk ").unwrap().as_str(), "RWK");
        assert_eq!(OdsCode::parse("a1b2c3").unwrap().as_str(), "A1B2C3");
        assert!(matches!(OdsCode::parse("ab"), Err(TextError::TooShort { len: 2, .. })));
        assert!(matches!(OdsCode::parse("abcdefg"), Err(TextError::TooLong { len: 7, .. })));
        assert!(matches!(OdsCode::parse("RW-K"), Err(TextError::NotAlphanumeric { found: '-', .. })));
        assert!(matches!(OdsCode::parse("RWÉ"), Err(TextError::NotAlphanumeric { found: 'É', .. })));
        assert!(matches!(OdsCode::parse(""), Err(TextError::Empty { .. })));
    }

    #[test]
    fn r5_descriptions_are_0_to_500_characters_and_keep_line_breaks() {
        assert!(Description::parse("").unwrap().is_empty());
        assert_eq!(Description::parse(" a\r\nb ").unwrap().as_str(), "a\nb");
        assert!(Description::parse(&"d".repeat(500)).is_ok());
        assert!(matches!(Description::parse(&"d".repeat(501)), Err(TextError::TooLong { .. })));
        assert!(matches!(Description::parse("a\u{7}b"), Err(TextError::ForbiddenCharacter { code: 7, .. })));
    }

    #[test]
    fn serde_revalidates() {
        assert!(serde_json::from_str::<WorkspaceName>("\"a\\nb\"").is_err());
        let name: WorkspaceName = serde_json::from_str("\" Ward  2 \"").unwrap();
        assert_eq!(name.as_str(), "Ward 2");
    }

    proptest::proptest! {
        #[test]
        fn r5_folding_in_one_pass_equals_the_plain_fold(input in "[ a-zA-Z\u{a0}\u{2003}ßſ-]{0,12}") {
            let plain = input.split_whitespace().collect::<Vec<_>>().join(" ");
            match single_line(&input, "name", 50) {
                Ok(folded) => proptest::prop_assert_eq!(folded, plain),
                Err(TextError::Empty { .. }) => proptest::prop_assert!(plain.is_empty()),
                Err(other) => proptest::prop_assert!(false, "{other}"),
            }
        }
    }
}
