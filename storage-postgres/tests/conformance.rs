//! The backend conformance suite run against [`carespace_postgres::PostgresStore`],
//! each case in a schema of its own.
#![allow(missing_docs)]

mod common;

carespace::conformance_suite!(common::fresh_store);
