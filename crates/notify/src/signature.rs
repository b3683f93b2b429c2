//! Signing generic webhook requests, and the check a receiver runs.
//!
//! The signature is `sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<body>")>`, where
//! `<timestamp>` is the exact `X-Sallyport-Timestamp` header (Unix seconds) and `<body>` the
//! raw request body. Signing the timestamp with the body lets a receiver refuse a captured
//! request replayed later: it checks the signature, then that the timestamp is recent (the
//! scheme of Stripe and Standard Webhooks).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::{constant_time, hmac};

/// Header carrying the notification id (the receiver's de-duplication key).
pub const EVENT_ID_HEADER: &str = "x-sallyport-event-id";
/// Header carrying the Unix time, in seconds, at which the request was signed.
pub const TIMESTAMP_HEADER: &str = "x-sallyport-timestamp";
/// Header carrying `sha256=<hex HMAC-SHA-256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "x-sallyport-signature";
/// Prefix of the signature header value, naming the algorithm.
pub const SIGNATURE_PREFIX: &str = "sha256=";
/// How far a receiver should let a timestamp be from its clock, either way: five minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a request failed [`verify_signature`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The timestamp header is not a decimal number of seconds.
    #[error("timestamp is not a decimal number of seconds")]
    MalformedTimestamp,
    /// The signature header is not `sha256=` followed by 64 hex digits.
    #[error("signature header is not `sha256=<64 hex digits>`")]
    MalformedSignature,
    /// The signature does not match: the body or timestamp was altered, or the sender does
    /// not hold the secret.
    #[error("signature does not match")]
    SignatureMismatch,
    /// The signature is valid but the timestamp is too far from now: a replay, or a clock
    /// that is badly off.
    #[error("timestamp is {age_secs} s from now, more than the {tolerance_secs} s tolerated")]
    OutsideTolerance {
        /// Distance between the timestamp and now, in seconds.
        age_secs: u64,
        /// The tolerance that was exceeded, in seconds.
        tolerance_secs: u64,
    },
}

/// The signature header value for `body` sent at `timestamp` (Unix seconds).
///
/// ```
/// use sallyport_notify::{sign, verify_signature, DEFAULT_TOLERANCE};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let secret = b"a shared secret of 32 bytes or more";
/// let body = br#"{"id":"n-1"}"#;
/// let header = sign(secret, 1_700_000_000, body);
/// assert!(header.starts_with("sha256="));
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_030);
/// assert!(verify_signature(secret, "1700000000", body, &header, now, DEFAULT_TOLERANCE).is_ok());
/// ```
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    sign_with_key(&key, &timestamp.to_string(), body)
}

/// [`sign`] with a prepared key and the timestamp as it goes into the header.
pub(crate) fn sign_with_key(key: &hmac::Key, timestamp: &str, body: &[u8]) -> String {
    format!(
        "{SIGNATURE_PREFIX}{}",
        hex::encode(tag(key, timestamp, body).as_ref())
    )
}

fn tag(key: &hmac::Key, timestamp: &str, body: &[u8]) -> hmac::Tag {
    let mut context = hmac::Context::with_key(key);
    context.update(timestamp.as_bytes());
    context.update(b".");
    context.update(body);
    context.sign()
}

/// Checks a request a Sallyport webhook sink sent: `timestamp` and `signature_header` are the
/// raw `X-Sallyport-Timestamp` and `X-Sallyport-Signature` header values, `body` the raw
/// body, exactly as received (before any JSON parsing).
///
/// The signature is compared in constant time first; only an authentic request is then
/// checked for age, so [`VerifyError::OutsideTolerance`] means "authentic but stale".
/// Receivers should also drop a repeated `X-Sallyport-Event-Id` seen within the tolerance.
pub fn verify_signature(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature_header: &str,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let signed_at = parse_timestamp(timestamp)?;
    let claimed = signature_header
        .strip_prefix(SIGNATURE_PREFIX)
        .and_then(|digits| hex::decode(digits.trim()).ok())
        .filter(|bytes| bytes.len() == 32)
        .ok_or(VerifyError::MalformedSignature)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let expected = tag(&key, timestamp, body);
    constant_time::verify_slices_are_equal(expected.as_ref(), &claimed)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let age_secs = now_secs.abs_diff(signed_at);
    if age_secs > tolerance.as_secs() {
        return Err(VerifyError::OutsideTolerance {
            age_secs,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

fn parse_timestamp(timestamp: &str) -> Result<u64, VerifyError> {
    if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    timestamp
        .parse()
        .map_err(|_| VerifyError::MalformedTimestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_known_vector_matches() {
        // HMAC-SHA-256("key", "1.{}"), as computed by
        // `printf "1.{}" | openssl dgst -sha256 -hmac key`.
        let header = sign(b"key", 1, b"{}");
        assert_eq!(
            header,
            "sha256=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }

    #[test]
    fn the_sender_and_verifier_agree() {
        let header = sign(SECRET, 100, b"body");
        assert_eq!(
            verify_signature(SECRET, "100", b"body", &header, at(100), DEFAULT_TOLERANCE),
            Ok(())
        );
    }

    #[test]
    fn malformed_inputs_are_named() {
        let header = sign(SECRET, 100, b"body");
        let verify = |ts: &str, sig: &str| {
            verify_signature(SECRET, ts, b"body", sig, at(100), DEFAULT_TOLERANCE)
        };
        assert_eq!(
            verify("+100", &header),
            Err(VerifyError::MalformedTimestamp)
        );
        assert_eq!(verify("", &header), Err(VerifyError::MalformedTimestamp));
        assert_eq!(
            verify("100", "sha1=00"),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            verify("100", "sha256=zz"),
            Err(VerifyError::MalformedSignature)
        );
        assert_eq!(
            verify("100", "sha256=abcd"),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn a_changed_timestamp_breaks_the_signature() {
        let header = sign(SECRET, 100, b"body");
        assert_eq!(
            verify_signature(SECRET, "101", b"body", &header, at(100), DEFAULT_TOLERANCE),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let header = sign(SECRET, 1_000, b"body");
        let verify =
            |now| verify_signature(SECRET, "1000", b"body", &header, at(now), DEFAULT_TOLERANCE);
        assert_eq!(verify(1_300), Ok(()));
        assert_eq!(verify(700), Ok(()));
        assert_eq!(
            verify(1_301),
            Err(VerifyError::OutsideTolerance {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(verify(699).is_err());
    }
}
