//! The backend conformance suite run against [`carespace::MemoryStore`].
#![allow(missing_docs)]

carespace::conformance_suite!(|| carespace::MemoryStore::new());
