//! The listener's TLS configuration: `listen.tls` (the server certificate) and, with
//! `auth.mtls`, the client CA and whether a client certificate is required.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use sallyport_config::Config;
use tokio_rustls::TlsAcceptor;

/// The TLS acceptor for `config`'s listener, or `None` for plain HTTP.
pub(crate) fn acceptor(config: &Config) -> anyhow::Result<Option<TlsAcceptor>> {
    let Some(tls) = &config.listen.tls else {
        return Ok(None);
    };
    let cert = read(&tls.cert_path, "listen.tls.cert_path")?;
    let key = read(&tls.key_path, "listen.tls.key_path")?;
    with_client_ca(config, &cert, &key).map(Some)
}

/// The TLS acceptor of the admin listener (`admin.tls`), or `None` for plain HTTP.
pub(crate) fn admin_acceptor(config: &Config) -> anyhow::Result<Option<TlsAcceptor>> {
    let Some(tls) = config.admin.as_ref().and_then(|a| a.tls.as_ref()) else {
        return Ok(None);
    };
    let cert = read(&tls.cert_path, "admin.tls.cert_path")?;
    let key = read(&tls.key_path, "admin.tls.key_path")?;
    with_client_ca(config, &cert, &key).map(Some)
}

/// A TLS 1.3 server config for `cert` and `key`, asking for client certificates from
/// `auth.mtls`' CA when it is configured.
fn with_client_ca(config: &Config, cert: &[u8], key: &[u8]) -> anyhow::Result<TlsAcceptor> {
    let mtls = config.auth.as_ref().and_then(|a| a.mtls.as_ref());
    let client_ca = match mtls {
        Some(m) => Some(read(&m.client_ca_path, "auth.mtls.client_ca_path")?),
        None => None,
    };
    let require = mtls.is_some_and(|m| m.require_client_cert);
    let server = sallyport_identity::mtls::server_config(cert, key, client_ca.as_deref(), require)
        .context("building a TLS listener (its tls section, auth.mtls)")?;
    Ok(TlsAcceptor::from(Arc::new(server)))
}

fn read(path: &Path, field: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{field}: cannot read {}", path.display()))
}
