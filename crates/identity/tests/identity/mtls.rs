//! mTLS: identities from rcgen certificates, the service registry, and a real TLS 1.3
//! handshake with the generated server configuration.

use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sallyport_identity::mtls::{
    MtlsAuthenticator, PeerCertificate, PeerName, ServiceAccount, ServiceRegistry,
};
use sallyport_identity::{AuthError, AuthMethod, IdentityKind, server_config};

use super::support::{Leaf, TestCa};

fn service(name: &str) -> ServiceAccount {
    ServiceAccount {
        name: name.into(),
        spiffe_ids: Vec::new(),
        dns_names: Vec::new(),
        common_names: Vec::new(),
        roles: Vec::new(),
        permissions: Vec::new(),
        tenant: None,
    }
}

fn registry() -> MtlsAuthenticator {
    let docker = ServiceAccount {
        dns_names: vec!["docker-server.mcp.local".into()],
        permissions: vec![
            "mcp.docker:*".into(),
            "infrastructure:execute".into(),
            "monitoring:write".into(),
        ],
        ..service("docker-server")
    };
    let k8s = ServiceAccount {
        spiffe_ids: vec!["spiffe://example.org/ns/prod/sa/k8s".into()],
        roles: vec!["mcp_operator".into()],
        tenant: Some("platform".into()),
        ..service("k8s-agent")
    };
    let legacy = ServiceAccount {
        common_names: vec!["legacy-batch".into()],
        ..service("legacy-batch")
    };
    let spoofed = ServiceAccount {
        common_names: vec!["cn-service".into()],
        spiffe_ids: vec!["spiffe://example.org/cn-lookalike".into()],
        ..service("cn-service")
    };
    MtlsAuthenticator::new(ServiceRegistry::new(vec![docker, k8s, legacy, spoofed]).unwrap())
}

fn authenticate(leaf: &Leaf) -> Result<sallyport_identity::Identity, AuthError> {
    registry().authenticate(
        &[&leaf.der],
        Some("10.0.0.5".parse().unwrap()),
        SystemTime::now(),
    )
}

#[test]
fn a_spiffe_uri_san_names_the_service() {
    let ca = TestCa::new("Test CA");
    let leaf = ca.client(&["spiffe://example.org/ns/prod/sa/k8s"], Some("ignored-cn"));
    let identity = authenticate(&leaf).unwrap();
    assert_eq!(identity.id, "k8s-agent");
    assert_eq!(identity.kind, IdentityKind::Service);
    assert_eq!(identity.roles, ["mcp_operator"]);
    assert_eq!(identity.tenant.as_deref(), Some("platform"));
    assert_eq!(identity.attributes.auth_method, AuthMethod::Mtls);
    assert_eq!(
        identity.attributes.issuer.as_deref(),
        Some("spiffe://example.org")
    );
    assert!(identity.attributes.credential_id.is_some());
}

#[test]
fn a_dns_san_names_the_service_with_seed_permissions() {
    let ca = TestCa::new("Test CA");
    let leaf = ca.client(
        &["unregistered.example", "Docker-Server.MCP.local"],
        Some("docker-server"),
    );
    let identity = authenticate(&leaf).unwrap();
    assert_eq!(identity.id, "docker-server");
    assert_eq!(identity.roles, ["mcp_service_account"]);
    assert_eq!(
        identity.permissions,
        ["mcp.docker:*", "infrastructure:execute", "monitoring:write"]
    );
}

#[test]
fn a_cn_only_certificate_names_the_service() {
    let ca = TestCa::new("Test CA");
    let leaf = ca.client(&[], Some("legacy-batch"));
    assert_eq!(
        PeerCertificate::from_der(&leaf.der).unwrap().name,
        PeerName::CommonName("legacy-batch".into())
    );
    assert_eq!(authenticate(&leaf).unwrap().id, "legacy-batch");
}

#[test]
fn unregistered_identities_are_refused() {
    let ca = TestCa::new("Test CA");
    for leaf in [
        ca.client(&["spiffe://example.org/ns/prod/sa/unknown"], None),
        ca.client(&["stranger.example"], Some("docker-server")),
        ca.client(&[], Some("nobody")),
        // A CN spelled like a registered SPIFFE id is still only a CN.
        ca.client(&[], Some("spiffe://example.org/ns/prod/sa/k8s")),
    ] {
        let error = authenticate(&leaf).unwrap_err();
        assert_eq!(error, AuthError::UnknownService);
        assert_eq!(error.http_status(), 403);
    }
}

#[test]
fn the_cn_is_ignored_when_sans_exist() {
    let ca = TestCa::new("Test CA");
    let leaf = ca.client(&["https://not-spiffe.example/x"], Some("legacy-batch"));
    assert_eq!(
        authenticate(&leaf).unwrap_err(),
        AuthError::InvalidClientCertificate
    );
}

#[test]
fn malformed_spiffe_ids_and_certificates_are_invalid() {
    let ca = TestCa::new("Test CA");
    for sans in [
        vec!["spiffe://Example.org/ns/a"],
        vec!["spiffe://example.org/ns/../a"],
        vec!["spiffe://example.org/ns//a"],
        vec!["spiffe:///no-trust-domain"],
        vec![
            "spiffe://example.org/ns/prod/sa/k8s",
            "spiffe://example.org/second",
        ],
    ] {
        let leaf = ca.client(&sans, None);
        assert_eq!(
            authenticate(&leaf).unwrap_err(),
            AuthError::InvalidClientCertificate,
            "{sans:?}"
        );
    }
    let garbage = [0x30u8, 0x03, 0x02, 0x01, 0x00];
    assert_eq!(
        registry()
            .authenticate(&[&garbage[..]], None, SystemTime::now())
            .unwrap_err(),
        AuthError::InvalidClientCertificate
    );
    let none: [&[u8]; 0] = [];
    assert_eq!(
        registry()
            .authenticate(&none, None, SystemTime::now())
            .unwrap_err(),
        AuthError::MissingCredentials
    );
}

#[test]
fn expired_certificates_are_invalid() {
    let ca = TestCa::new("Test CA");
    let leaf = ca.leaf(
        &["docker-server.mcp.local"],
        None,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        Some((2001, 1, 1)),
    );
    assert_eq!(
        authenticate(&leaf).unwrap_err(),
        AuthError::InvalidClientCertificate
    );
}

#[test]
fn a_name_claimed_twice_is_a_configuration_error() {
    let a = ServiceAccount {
        dns_names: vec!["svc.local".into()],
        ..service("a")
    };
    let b = ServiceAccount {
        dns_names: vec!["SVC.local".into()],
        ..service("b")
    };
    assert!(ServiceRegistry::new(vec![a, b]).is_err());
}

struct Tls {
    ca: TestCa,
    server: Leaf,
}

fn tls() -> Tls {
    let ca = TestCa::new("Test CA");
    let server = ca.leaf(
        &["localhost"],
        Some("gateway"),
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        None,
    );
    Tls { ca, server }
}

fn client_config(ca_pem: &str, client: Option<&Leaf>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

/// Handshakes once; returns the server's view of the client certificate chain.
async fn handshake(
    server: rustls::ServerConfig,
    client: rustls::ClientConfig,
) -> Result<Option<Vec<Vec<u8>>>, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let stream = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let (_, connection) = stream.get_ref();
        assert_eq!(
            connection.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        Ok::<_, String>(
            connection
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.to_vec()).collect()),
        )
    });
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let client_result = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await;
    let mut client_stream = client_result.map_err(|e| e.to_string())?;
    // TLS 1.3 client auth failures surface on the first read after the handshake.
    let _ = tokio::io::AsyncWriteExt::write_all(&mut client_stream, b"x").await;
    server_task.await.unwrap()
}

#[tokio::test]
async fn require_mode_accepts_a_ca_signed_client_and_yields_its_identity() {
    let tls = tls();
    let config = server_config(
        tls.server.cert_pem.as_bytes(),
        tls.server.key_pem.as_bytes(),
        Some(tls.ca.cert_pem.as_bytes()),
        true,
    )
    .unwrap();
    let client = tls.ca.client(&["docker-server.mcp.local"], None);
    let chain = handshake(config, client_config(&tls.ca.cert_pem, Some(&client)))
        .await
        .unwrap()
        .unwrap();
    let identity = registry()
        .authenticate(&chain, None, SystemTime::now())
        .unwrap();
    assert_eq!(identity.id, "docker-server");
}

#[tokio::test]
async fn require_mode_refuses_clients_without_or_with_foreign_certificates() {
    let tls = tls();
    let make = || {
        server_config(
            tls.server.cert_pem.as_bytes(),
            tls.server.key_pem.as_bytes(),
            Some(tls.ca.cert_pem.as_bytes()),
            true,
        )
        .unwrap()
    };
    assert!(
        handshake(make(), client_config(&tls.ca.cert_pem, None))
            .await
            .is_err()
    );
    let other_ca = TestCa::new("Other CA");
    let foreign = other_ca.client(&["docker-server.mcp.local"], None);
    assert!(
        handshake(make(), client_config(&tls.ca.cert_pem, Some(&foreign)))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn accept_mode_lets_anonymous_connections_through() {
    let tls = tls();
    let config = server_config(
        tls.server.cert_pem.as_bytes(),
        tls.server.key_pem.as_bytes(),
        Some(tls.ca.cert_pem.as_bytes()),
        false,
    )
    .unwrap();
    assert_eq!(
        handshake(config, client_config(&tls.ca.cert_pem, None))
            .await
            .unwrap(),
        None
    );
}

#[test]
fn server_config_rejects_bad_material() {
    let tls = tls();
    let (cert, key) = (
        tls.server.cert_pem.as_bytes(),
        tls.server.key_pem.as_bytes(),
    );
    assert!(
        server_config(cert, key, None, true).is_err(),
        "require without a CA"
    );
    assert!(server_config(b"not pem", key, None, false).is_err());
    assert!(server_config(cert, b"not pem", None, false).is_err());
    assert!(server_config(cert, key, Some(b"not pem"), false).is_err());
    let config = server_config(cert, key, None, false).unwrap();
    assert_eq!(
        config.alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}
