//! The backend conformance suite once more, over TLS: every case's store connects to
//! the throwaway cluster by TCP with `sslmode=verify-full` and its CA.
#![allow(missing_docs)]

mod common;

fn fresh_tls_store() -> common::Scratch {
    let ca = format!("{}/ca.crt", common::tls_dir());
    common::fresh_store_on(&common::tcp_url(
        "localhost",
        "conformance_tls",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    ))
}

carespace::conformance_suite!(fresh_tls_store);
