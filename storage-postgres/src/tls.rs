//! TLS to PostgreSQL as libpq's `sslmode` and `sslrootcert` describe it: the two
//! settings taken out of a connection string (tokio-postgres knows neither
//! `verify-ca`, `verify-full` nor `sslrootcert`), and the rustls configuration each
//! mode asks for.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as WireMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`: whether to use TLS, and what to check of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS if the server offers it, else plain; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked (unless `sslrootcert` is
    /// given, when it is checked as under `verify-ca`, as libpq does).
    Require,
    /// TLS, with a certificate signed by a trusted CA.
    VerifyCa,
    /// TLS, with a certificate signed by a trusted CA that names the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            // libpq's `allow` tries plain first: a downgrade Carespace does not offer.
            other => {
                return Err(format!(
                    "sslmode “{other}” is not one Carespace supports (disable, prefer, require, verify-ca, verify-full)"
                ));
            }
        })
    }

    /// The mode's name in a connection string.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: whether to ask the server for TLS and whether to
    /// give up without it (the checks are the connector's).
    pub(crate) fn wire(self) -> WireMode {
        match self {
            Self::Disable => WireMode::Disable,
            Self::Prefer => WireMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => WireMode::Require,
        }
    }
}

/// The TLS settings of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// `sslmode`; libpq's default, `prefer`, when absent.
    pub(crate) mode: SslMode,
    /// `sslrootcert`: a PEM file of CA certificates trusted beside the system's.
    pub(crate) root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of `conninfo` (a `postgresql://` URL or
/// `key=value` pairs), returning the rest unchanged and the settings.
pub(crate) fn split(conninfo: &str) -> Result<(String, TlsSettings), String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        match key {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://") {
        split_url(conninfo, &mut take)?
    } else {
        split_pairs(conninfo, &mut take)?
    };
    Ok((rest, TlsSettings { mode: mode.unwrap_or(SslMode::Prefer), root_cert }))
}

/// A URL's query parameters, each offered to `take` (decoded), those it keeps removed.
fn split_url(url: &str, take: &mut dyn FnMut(&str, String) -> Result<bool, String>) -> Result<String, String> {
    let Some((base, query)) = url.split_once('?') else { return Ok(url.to_owned()) };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !take(&percent_decode(key)?, percent_decode(value)?)? {
            kept.push(pair);
        }
    }
    Ok(if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) })
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(byte.ok_or("a parameter of the URL has a malformed %-escape")?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a parameter of the URL does not decode to UTF-8".to_owned())
}

/// libpq's `key = value` pairs (a value in single quotes may hold spaces; a backslash
/// escapes the next character), each offered to `take`, those it keeps cut out.
fn split_pairs(s: &str, take: &mut dyn FnMut(&str, String) -> Result<bool, String>) -> Result<String, String> {
    let mut rest = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    let mut copied = 0;
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else { break };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            // Neither this nor the next message quotes the text: it may be a password.
            return Err("a setting in the connection string has no “=”".to_owned());
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
        loop {
            match chars.peek().copied() {
                None if quoted => return Err("a quoted value in the connection string has no closing quote".to_owned()),
                None => break,
                Some((_, '\'')) if quoted => {
                    chars.next();
                    break;
                }
                Some((_, c)) if c.is_whitespace() && !quoted => break,
                Some((_, '\\')) => {
                    chars.next();
                    if let Some((_, c)) = chars.next() {
                        value.push(c);
                    }
                }
                Some((_, c)) => {
                    chars.next();
                    value.push(c);
                }
            }
        }
        if take(&key, value)? {
            // Cut the pair and the space after it.
            rest.push_str(s.get(copied..start).unwrap_or_default());
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            copied = chars.peek().map_or(s.len(), |&(i, _)| i);
        }
    }
    rest.push_str(s.get(copied..).unwrap_or_default());
    Ok(rest.trim().to_owned())
}

/// The connector for `settings`: rustls with ring, trusting the system's roots and the
/// `sslrootcert` file, checking as much of the server's certificate as the mode asks.
pub(crate) fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let checks_chain = match settings.mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => settings.root_cert.is_some(),
        SslMode::VerifyCa | SslMode::VerifyFull => true,
    };
    let config = if !checks_chain {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider.signature_verification_algorithms)))
            .with_no_client_auth()
    } else {
        let roots = Arc::new(roots(settings)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("TLS: the trusted certificates cannot be used: {e}"))?;
        if settings.mode == SslMode::VerifyFull {
            builder.with_webpki_verifier(webpki).with_no_client_auth()
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyHostName(webpki))).with_no_client_auth()
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The system's trusted roots and those of `sslrootcert`.
fn roots(settings: &TlsSettings) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    // A system store that cannot be read leaves only `sslrootcert`, refused below if
    // that leaves nothing.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = &settings.root_cert {
        let shown = path.display();
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("sslrootcert {shown} cannot be read as PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err(format!("sslrootcert {shown} holds no certificate"));
        }
        let (_, unusable) = roots.add_parsable_certificates(certs);
        if unusable > 0 {
            return Err(format!("sslrootcert {shown}: {unusable} of its certificates cannot be used as a CA"));
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "sslmode={} needs trusted CA certificates: the system has none; name a file with sslrootcert",
            settings.mode.name()
        ));
    }
    Ok(roots)
}

/// `verify-ca`: the chain must lead to a trusted root; the name on the certificate is not
/// compared with the host (webpki checks the chain first, so a name mismatch means the
/// chain was good).
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without `sslrootcert`, as in libpq: the connection is
/// encrypted and the server proves it holds its certificate's key, but who signed the
/// certificate is not checked.
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The error of a connection that failed to start: `Unavailable`, saying what failed,
/// with a hint where the cause is a certificate check, and `err` as its source.
pub(crate) fn refused(err: tokio_postgres::Error, mode: SslMode) -> carespace::StorageError {
    carespace::StorageError::new(carespace::StorageErrorKind::Unavailable, explain(&err, mode)).with_source(err)
}

/// What a failed connection says, with a hint where the cause is a certificate check.
fn explain(err: &tokio_postgres::Error, mode: SslMode) -> String {
    let hint = rustls_cause(err).and_then(|cause| match cause {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            Some("the server's certificate is not signed by a trusted CA (check sslrootcert)")
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Some("the server's certificate does not name the host connected to (check the host name)"),
        rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            Some("the server's certificate has expired")
        }
        _ => None,
    });
    // tokio-postgres names only the stage that failed; the causes say what happened.
    let mut said = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        said = format!("{said}: {e}");
        cause = e.source();
    }
    match hint {
        Some(hint) => format!("could not connect to PostgreSQL (sslmode={}): {hint}: {said}", mode.name()),
        None => format!("could not connect to PostgreSQL (sslmode={}): {said}", mode.name()),
    }
}

/// The rustls error at the root of `err`, if there is one (tokio-rustls wraps it in an
/// `io::Error`, whose `source` skips it).
fn rustls_cause(err: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: SslMode, root: Option<&str>) -> TlsSettings {
        TlsSettings { mode, root_cert: root.map(PathBuf::from) }
    }

    #[test]
    fn url_parameters_are_taken_out_and_the_rest_kept() {
        let (rest, tls) =
            split("postgresql://u@db:5432/cs?application_name=a&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&x=1")
                .unwrap();
        assert_eq!(rest, "postgresql://u@db:5432/cs?application_name=a&x=1");
        assert_eq!(tls, settings(SslMode::VerifyFull, Some("/etc/ca.pem")));
        let (rest, tls) = split("postgres://u@db/cs?sslmode=require").unwrap();
        assert_eq!(rest, "postgres://u@db/cs");
        assert_eq!(tls, settings(SslMode::Require, None));
    }

    #[test]
    fn key_value_pairs_are_taken_out_with_quotes_and_escapes() {
        let (rest, tls) =
            split("host=db sslmode = verify-ca  sslrootcert='/my certs/ca\\'s.pem' dbname=cs password=a\\ b").unwrap();
        assert_eq!(rest, "host=db dbname=cs password=a\\ b");
        assert_eq!(tls, settings(SslMode::VerifyCa, Some("/my certs/ca's.pem")));
        let (rest, tls) = split("host=/run/postgresql dbname=cs").unwrap();
        assert_eq!(rest, "host=/run/postgresql dbname=cs");
        assert_eq!(tls, settings(SslMode::Prefer, None), "libpq's default");
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        assert!(split("host=db sslmode=allow").unwrap_err().contains("allow"));
        assert!(split("postgresql://db/cs?sslmode=maybe").unwrap_err().contains("maybe"));
        assert!(split("host=db sslrootcert='/x").unwrap_err().contains("closing quote"));
        assert!(split("host=db sslmode").unwrap_err().contains("no “=”"));
        assert!(split("postgresql://db/cs?sslrootcert=%zz").unwrap_err().contains("%-escape"));
        let missing = connector(&settings(SslMode::VerifyFull, Some("/nonexistent/ca.pem"))).err().unwrap();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
    }

    #[test]
    fn modes_ask_tokio_postgres_for_tls_as_libpq_does() {
        assert_eq!(SslMode::Disable.wire(), WireMode::Disable);
        assert_eq!(SslMode::Prefer.wire(), WireMode::Prefer);
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            assert_eq!(mode.wire(), WireMode::Require, "{mode:?} never falls back to plain text");
        }
    }
}
