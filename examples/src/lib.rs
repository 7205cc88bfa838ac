//! Runnable examples of Carespace live beside this file (`quickstart.rs`). This library
//! only carries the README's Rust examples, compiled and run as doctests here because
//! this crate depends on every backend they use.

/// The README's Rust examples.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
