//! Fuzz target: `NhsEmail::parse` never panics, and what it accepts is a normalised NHS
//! address that parses to itself again (R2).
#![no_main]

use carespace::NhsEmail;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(email) = NhsEmail::parse(input) else { return };
    let s = email.as_str();
    assert!(s.len() <= carespace::MAX_EMAIL_LEN);
    assert!(s.is_ascii() && s == s.to_ascii_lowercase() && s == s.trim());
    let domain = email.domain();
    assert!(domain == "nhs.net" || domain == "nhs.uk" || domain.ends_with(".nhs.uk"), "{s}");
    let local = email.local_part();
    assert!(!local.is_empty() && local.len() <= carespace::MAX_LOCAL_PART_LEN);
    assert!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
    assert_eq!(NhsEmail::parse(s).as_ref(), Ok(&email), "normalising twice changes nothing");
});
