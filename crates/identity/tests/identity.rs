//! Integration tests of sallyport-identity, one binary (faster to link on small
//! machines), split by feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod identity {
    mod api_key;
    mod authenticator;
    mod credential;
    mod jwks;
    mod jwt;
    mod mtls;
    mod oauth;
    mod support;
    mod verified;
}
