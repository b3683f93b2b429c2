//! Certificates generated at test time (rcgen): a CA, a server certificate for
//! `127.0.0.1`/`localhost`, and client certificates named by a SPIFFE URI SAN.

/// A test certificate authority.
pub struct Ca {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

/// A certificate and its private key, both PEM.
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// Its PKCS#8 private key.
    pub key_pem: String,
}

impl Issued {
    /// Certificate then key, as `reqwest::Identity::from_pem` wants them.
    pub fn identity_pem(&self) -> Vec<u8> {
        format!("{}{}", self.cert_pem, self.key_pem).into_bytes()
    }
}

impl Ca {
    /// A new self-signed CA called `name`.
    pub fn new(name: &str) -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A server certificate for `127.0.0.1` and `localhost`.
    pub fn server(&self) -> Issued {
        let sans = vec![
            rcgen::SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
            rcgen::SanType::DnsName("localhost".try_into().unwrap()),
        ];
        self.issue(sans, rcgen::ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate whose URI SAN is `spiffe_id`.
    pub fn client(&self, spiffe_id: &str) -> Issued {
        let sans = vec![rcgen::SanType::URI(spiffe_id.try_into().unwrap())];
        self.issue(sans, rcgen::ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, sans: Vec<rcgen::SanType>, usage: rcgen::ExtendedKeyUsagePurpose) -> Issued {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
