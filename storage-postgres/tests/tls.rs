//! TLS to PostgreSQL (issue 15): each `sslmode` against the throwaway cluster, whose
//! certificate for `localhost` is signed by a CA made for the run. What should connect
//! does, encrypted as the server sees it; what should not fails at once with a storage
//! error of kind `Unavailable` that says which check failed, and writes nothing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use carespace::{Carespace, Error, OrganisationKind, StorageErrorKind};
use carespace_postgres::{PostgresOptions, PostgresStore};

fn options(schema: &str) -> PostgresOptions {
    PostgresOptions { pool_size: 2, schema: Some(schema.to_owned()), ..PostgresOptions::default() }
}

/// A service on `url` in `schema`, used once; its pool keeps the connection for the
/// caller to ask the server about.
fn connect_and_use(url: &str, schema: &str) -> Carespace {
    let service = Carespace::new(PostgresStore::connect_with(url, options(schema)).unwrap());
    service.register_organisation("Trust".parse().unwrap(), OrganisationKind::NhsTrust, None).unwrap();
    assert_eq!(service.events_since(0, 10).unwrap().len(), 1);
    service
}

/// The refusal connecting to `url` gives, checked to be `Unavailable`, quick (not the
/// pool's timeout), and to leave no schema behind; its message.
fn refusal(url: &str, schema: &str) -> String {
    let started = Instant::now();
    let err = PostgresStore::connect_with(url, options(schema)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "refused only after {:?}", started.elapsed());
    let Error::Storage(storage) = &err else { panic!("not a storage error: {err:?}") };
    assert_eq!(storage.kind(), StorageErrorKind::Unavailable, "{err}");
    assert_eq!(err.code(), "storage_unavailable");
    assert!(!common::schema_exists(schema), "a refused connection wrote the schema {schema}");
    err.to_string()
}

/// A schema named after `name`, dropped when the test is done with it.
fn schema(name: &str) -> common::Dropped {
    common::Dropped(format!("tls_{name}_{}", std::process::id()))
}

#[test]
fn require_connects_encrypted_without_checking_the_certificate() {
    let name = schema("require");
    // Not even the other CA's certificate is asked for: `require` only encrypts.
    let _service = connect_and_use(&common::tcp_url("127.0.0.1", &name, "sslmode=require"), &name);
    assert_eq!(common::encrypted(&name), Some(true));
}

#[test]
fn verify_full_with_the_right_ca_connects_encrypted() {
    let name = schema("verify_full");
    let ca = format!("{}/ca.crt", common::tls_dir());
    let _service =
        connect_and_use(&common::tcp_url("localhost", &name, &format!("sslmode=verify-full sslrootcert={ca}")), &name);
    assert_eq!(common::encrypted(&name), Some(true));
}

#[test]
fn verify_full_in_a_url_with_the_right_ca_connects() {
    let name = schema("verify_full_url");
    let port = std::env::var("CARESPACE_PG_TLS_PORT").unwrap();
    let ca = format!("{}/ca.crt", common::tls_dir()).replace('/', "%2F");
    let url = format!(
        "postgresql://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}&application_name={name}"
    );
    let _service = connect_and_use(&url, &name);
    assert_eq!(common::encrypted(&name), Some(true));
}

#[test]
fn verify_ca_accepts_the_right_ca_under_another_host_name() {
    let name = schema("verify_ca");
    let ca = format!("{}/ca.crt", common::tls_dir());
    let _service =
        connect_and_use(&common::tcp_url("127.0.0.1", &name, &format!("sslmode=verify-ca sslrootcert={ca}")), &name);
    assert_eq!(common::encrypted(&name), Some(true));
}

#[test]
fn disable_connects_in_plain_text() {
    let name = schema("disable");
    let _service = connect_and_use(&common::tcp_url("localhost", &name, "sslmode=disable"), &name);
    assert_eq!(common::encrypted(&name), Some(false));
}

#[test]
fn a_certificate_from_another_ca_is_refused_saying_so() {
    let name = schema("wrong_ca");
    let other = format!("{}/other-ca.crt", common::tls_dir());
    for mode in ["verify-full", "verify-ca", "require"] {
        // `require` with a root certificate checks the chain, as libpq does.
        let url = common::tcp_url("localhost", &name, &format!("sslmode={mode} sslrootcert={other}"));
        let message = refusal(&url, &name);
        assert!(message.contains("not signed by a trusted CA"), "{mode}: {message}");
        assert!(message.contains(&format!("sslmode={mode}")), "{message}");
    }
}

#[test]
fn a_certificate_for_another_host_name_is_refused_saying_so() {
    let name = schema("wrong_host");
    let ca = format!("{}/ca.crt", common::tls_dir());
    let url = common::tcp_url("127.0.0.1", &name, &format!("sslmode=verify-full sslrootcert={ca}"));
    let message = refusal(&url, &name);
    assert!(message.contains("does not name the host"), "{message}");
}

#[test]
fn a_server_without_tls_is_refused_under_require_and_verify_full() {
    // A stand-in for a server with `ssl = off`: it answers the TLS request with 'N',
    // as PostgreSQL does, and then hears nothing more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = [0u8; 8];
            socket.read_exact(&mut request).unwrap();
            assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], "PostgreSQL's SSLRequest");
            socket.write_all(b"N").unwrap();
        }
    });
    let ca = format!("{}/ca.crt", common::tls_dir());
    for tls in ["sslmode=require".to_owned(), format!("sslmode=verify-full sslrootcert={ca}")] {
        let url = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres {tls}");
        let err = PostgresStore::connect_with(&url, options("unused")).unwrap_err();
        assert_eq!(err.code(), "storage_unavailable", "{err}");
        assert!(err.to_string().contains("does not support TLS"), "{err}");
    }
    server.join().unwrap();
}

#[test]
fn bad_tls_settings_are_refused_before_connecting() {
    for (tls, says) in
        [("sslmode=allow", "allow"), ("sslmode=verify-full sslrootcert=/nonexistent/ca.crt", "/nonexistent/ca.crt")]
    {
        let url = common::tcp_url("localhost", "unused", tls);
        let err = PostgresStore::connect_with(&url, options("unused")).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}
