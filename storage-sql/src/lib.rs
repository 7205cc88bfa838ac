//! `carespace-sql`: the row layer Carespace's SQLite and PostgreSQL backends share.
//!
//! A backend implements [`Row`] for its driver's rows, [`Conn`] over its open
//! transaction (prepared-statement cache, value binding, error mapping), and [`Dialect`]
//! for the few statements it writes its own way; [`SqlTx`] then gives it every
//! [`ReadTx`](carespace::ReadTx) and [`WriteTx`](carespace::WriteTx) method, with one set
//! of column lists, one decoding of each record and one encoding of ids, instants and
//! enums. Connections, transactions, retries and migrations stay in the backend.
#![forbid(unsafe_code)]

mod row;
mod tx;

pub use row::{Row, Value, corrupt};
pub use tx::{
    Conn, Decode, Dialect, MEMBERS_PAGE, ORGANISATIONS_BY_POSTCODE, ORGANISATIONS_BY_PREFIX,
    ORGANISATIONS_BY_PREFIX_PAGE, PUT_WORKSPACE_PREFIX, SqlTx, Statement, event_params,
};
