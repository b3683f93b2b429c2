//! The rustls server configuration for a TLS 1.3 listener with client certificates.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::error::BuildError;

/// A TLS 1.3-only server configuration (aws-lc-rs provider, ALPN `h2` and `http/1.1`).
///
/// With `client_ca_pem`, client certificates are verified against those CAs: with
/// `require_client_cert` a handshake without one fails; without it ("accept" mode) such
/// connections are let through and must authenticate another way (or be anonymous).
/// Without `client_ca_pem`, no client certificate is requested; asking to require one
/// then is an error.
///
/// After the handshake, pass `tls_connection.peer_certificates()` to
/// [`super::MtlsAuthenticator::authenticate`].
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
    require_client_cert: bool,
) -> Result<ServerConfig, BuildError> {
    let tls = |what: &str, e: &dyn std::fmt::Display| BuildError::Tls(format!("{what}: {e}"));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| tls("server certificate", &e))?;
    if chain.is_empty() {
        return Err(BuildError::Tls(
            "server certificate: no certificate in PEM".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| tls("server key", &e))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| tls("protocol versions", &e))?;
    let builder = match client_ca_pem {
        None if require_client_cert => {
            return Err(BuildError::Tls(
                "client certificates required but no client CA given".to_owned(),
            ));
        }
        None => builder.with_no_client_auth(),
        Some(ca_pem) => {
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(ca_pem) {
                let ca = ca.map_err(|e| tls("client CA", &e))?;
                roots.add(ca).map_err(|e| tls("client CA", &e))?;
            }
            if roots.is_empty() {
                return Err(BuildError::Tls(
                    "client CA: no certificate in PEM".to_owned(),
                ));
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if !require_client_cert {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| tls("client verifier", &e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| tls("server certificate", &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
