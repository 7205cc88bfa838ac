//! [`NhsEmail`]: an NHS.net or NHS.uk email address, parsed once (R2).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest address accepted, in octets (RFC 5321 path limit less the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest local part accepted, in octets (RFC 5321).
pub const MAX_LOCAL_PART_LEN: usize = 64;

/// An email address at `nhs.net`, or at `nhs.uk` or any subdomain of it: the only
/// addresses Carespace users and invitees may have (R2).
///
/// Parsing trims surrounding ASCII whitespace (a no-break or other Unicode space is
/// refused as non-ASCII, like any other) and lower-cases the address, so two
/// `NhsEmail`s are equal exactly when the addresses are equal case-insensitively (R3).
///
/// ```
/// use carespace::NhsEmail;
///
/// let email: NhsEmail = "  Jane.Doe@ELFT.nhs.uk ".parse()?;
/// assert_eq!(email.as_str(), "jane.doe@elft.nhs.uk");
/// assert!("jane@nhs.net.example.com".parse::<NhsEmail>().is_err());
/// # Ok::<(), carespace::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NhsEmail(String);

/// Why a string is not an [`NhsEmail`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Nothing but whitespace was given.
    #[error("the email address is empty")]
    Empty,
    /// A character outside ASCII (internationalised addresses are not NHS addresses).
    #[error("the email address contains a character that is not plain ASCII")]
    NonAscii,
    /// No `@` separates the local part from the domain.
    #[error("the email address has no “@”")]
    MissingAt,
    /// Nothing before the `@`.
    #[error("the part before “@” is empty")]
    EmptyLocalPart,
    /// Nothing after the `@`.
    #[error("the part after “@” is empty")]
    EmptyDomain,
    /// The local part is longer than 64 octets.
    #[error("the part before “@” is longer than {MAX_LOCAL_PART_LEN} characters")]
    LocalPartTooLong,
    /// The whole address is longer than 254 octets.
    #[error("the email address is longer than {MAX_EMAIL_LEN} characters")]
    TooLong,
    /// A character RFC 5321 does not allow in an unquoted local part (quotes included).
    #[error("the part before “@” may not contain “{0}”")]
    InvalidLocalPartCharacter(char),
    /// A dot at the start or end of the local part, or two dots in a row.
    #[error("the part before “@” may not start or end with a dot, or have two dots in a row")]
    MisplacedDot,
    /// The domain is malformed (empty labels, bad characters, an IP literal).
    #[error("“{0}” is not a valid domain")]
    InvalidDomain(String),
    /// A well-formed domain that is not `nhs.net`, `nhs.uk` or a subdomain of `nhs.uk`.
    #[error("“{0}” is not an NHS.net or NHS.uk domain")]
    NotNhsDomain(String),
}

impl NhsEmail {
    /// Parses and normalises an address; see the type's documentation.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        // ASCII only: `str::trim` would also drop a no-break space and its kin.
        let trimmed = input.trim_ascii();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if !trimmed.is_ascii() {
            return Err(EmailError::NonAscii);
        }
        let address = trimmed.to_ascii_lowercase();
        let (local, domain) = address.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        check_local_part(local)?;
        check_domain(domain)?;
        if address.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address))
    }

    /// The normalised address (lower-case, trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

/// RFC 5321 `atext`: the characters a dot-atom may hold besides dots.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if local.len() > MAX_LOCAL_PART_LEN {
        return Err(EmailError::LocalPartTooLong);
    }
    if let Some(bad) = local.chars().find(|&c| c != '.' && !is_atext(c)) {
        return Err(EmailError::InvalidLocalPartCharacter(bad));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::MisplacedDot);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain);
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(label_ok) {
        return Err(EmailError::InvalidDomain(domain.to_owned()));
    }
    let nhs = domain == "nhs.net" || domain == "nhs.uk" || domain.ends_with(".nhs.uk");
    if nhs { Ok(()) } else { Err(EmailError::NotNhsDomain(domain.to_owned())) }
}

impl fmt::Display for NhsEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NhsEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NhsEmail({:?})", self.0)
    }
}

impl FromStr for NhsEmail {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s)?)
    }
}

impl TryFrom<&str> for NhsEmail {
    type Error = EmailError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for NhsEmail {
    type Error = EmailError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<NhsEmail> for String {
    fn from(email: NhsEmail) -> Self {
        email.0
    }
}

impl AsRef<str> for NhsEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r2_accepts_nhs_net_and_nhs_uk_with_subdomains() {
        for (input, stored) in [
            ("jane.doe@nhs.net", "jane.doe@nhs.net"),
            ("jane@nhs.uk", "jane@nhs.uk"),
            ("jane@elft.nhs.uk", "jane@elft.nhs.uk"),
            ("jane@a.b.nhs.uk", "jane@a.b.nhs.uk"),
            ("  Jane.Doe@NHS.NET\t", "jane.doe@nhs.net"),
            ("o'brien+ward2@nhs.net", "o'brien+ward2@nhs.net"),
            ("a!#$%&'*+/=?^_`{|}~-z@nhs.net", "a!#$%&'*+/=?^_`{|}~-z@nhs.net"),
            ("x@my-trust.nhs.uk", "x@my-trust.nhs.uk"),
        ] {
            assert_eq!(NhsEmail::parse(input).unwrap().as_str(), stored, "{input}");
        }
    }

    #[test]
    fn r2_rejects_everything_else_with_a_reason() {
        use EmailError::*;
        let long_local = "a".repeat(65);
        let long_domain = format!("a@{}.nhs.uk", vec!["b".repeat(60); 5].join("."));
        let cases: Vec<(&str, EmailError)> = vec![
            ("", Empty),
            ("   ", Empty),
            ("jané@nhs.net", NonAscii),
            ("jane@nhs.net\u{200b}", NonAscii),
            // Unicode spaces are not trimmed as ASCII whitespace is: refused like any
            // other non-ASCII character (issue 16).
            ("\u{a0}a@nhs.net", NonAscii),
            ("a@nhs.net\u{2003}", NonAscii),
            ("\u{3000}a@nhs.net\u{202f}", NonAscii),
            ("\u{2028}a@nhs.net", NonAscii),
            ("\u{85}a@nhs.net", NonAscii),
            ("jane.nhs.net", MissingAt),
            ("@nhs.net", EmptyLocalPart),
            ("jane@", EmptyDomain),
            (&long_local, MissingAt),
            ("\"jane doe\"@nhs.net", InvalidLocalPartCharacter('"')),
            ("jane doe@nhs.net", InvalidLocalPartCharacter(' ')),
            ("jane@doe@nhs.net", InvalidLocalPartCharacter('@')),
            ("jane(comment)@nhs.net", InvalidLocalPartCharacter('(')),
            (".jane@nhs.net", MisplacedDot),
            ("jane.@nhs.net", MisplacedDot),
            ("ja..ne@nhs.net", MisplacedDot),
            ("jane@[10.0.0.1]", InvalidDomain("[10.0.0.1]".into())),
            ("jane@nhs..net", InvalidDomain("nhs..net".into())),
            ("jane@-x.nhs.uk", InvalidDomain("-x.nhs.uk".into())),
            ("jane@nhs.net.", InvalidDomain("nhs.net.".into())),
            ("jane@nhs_trust.nhs.uk", InvalidDomain("nhs_trust.nhs.uk".into())),
            ("jane@nhs.net.example.com", NotNhsDomain("nhs.net.example.com".into())),
            ("jane@evilnhs.net", NotNhsDomain("evilnhs.net".into())),
            ("jane@nhs.uk.example", NotNhsDomain("nhs.uk.example".into())),
            ("jane@evilnhs.uk", NotNhsDomain("evilnhs.uk".into())),
            ("jane@x.nhs.net", NotNhsDomain("x.nhs.net".into())),
            ("jane@gmail.com", NotNhsDomain("gmail.com".into())),
            ("jane@nhs", NotNhsDomain("nhs".into())),
            (&long_domain, TooLong),
        ];
        for (input, expected) in cases {
            assert_eq!(NhsEmail::parse(input), Err(expected), "{input:?}");
        }
        let long = format!("{long_local}@nhs.net");
        assert_eq!(NhsEmail::parse(&long), Err(LocalPartTooLong));
    }

    #[test]
    fn r2_limits_are_inclusive() {
        let local = "a".repeat(MAX_LOCAL_PART_LEN);
        assert!(NhsEmail::parse(&format!("{local}@nhs.net")).is_ok());
        // 64 + 1 + 189 = 254 octets.
        let domain = format!("{}.{}.{}.nhs.uk", "b".repeat(63), "c".repeat(63), "d".repeat(54));
        let at_limit = format!("{local}@{domain}");
        assert_eq!(at_limit.len(), MAX_EMAIL_LEN);
        assert!(NhsEmail::parse(&at_limit).is_ok());
        let over = format!("{local}@e.{domain}");
        assert_eq!(NhsEmail::parse(&over), Err(EmailError::TooLong));
    }

    #[test]
    fn r3_equality_is_case_insensitive() {
        assert_eq!(NhsEmail::parse("Jane@NHS.net").unwrap(), NhsEmail::parse("jane@nhs.NET").unwrap());
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        let email = NhsEmail::parse("jane@nhs.net").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"jane@nhs.net\"");
        assert!(serde_json::from_str::<NhsEmail>("\"jane@gmail.com\"").is_err());
        assert_eq!(serde_json::from_str::<NhsEmail>("\"JANE@nhs.net\"").unwrap(), email);
    }
}
