//! Fuzz target: `WorkspaceName::parse` never panics, and what it accepts is one trimmed,
//! folded line of 1–50 characters without control or invisible characters that parses
//! to itself again (R6).
#![no_main]

use carespace::WorkspaceName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(name) = WorkspaceName::parse(input) else { return };
    let s = name.as_str();
    let len = s.chars().count();
    assert!((1..=WorkspaceName::MAX_LEN).contains(&len), "{s:?}");
    assert_eq!(s, s.trim());
    assert!(!s.chars().any(char::is_control), "{s:?}");
    assert!(!s.contains("  "), "{s:?}");
    assert!(!s.chars().any(|c| c.is_whitespace() && c != ' '), "{s:?}");
    assert_eq!(WorkspaceName::parse(s).as_ref(), Ok(&name));
    assert_eq!(name.key(), WorkspaceName::parse(&s.to_uppercase()).map(|n| n.key()).unwrap_or_else(|_| name.key()));
});
