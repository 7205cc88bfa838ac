//! Runnable examples of Carespace live beside this file; see `quickstart.rs`.
