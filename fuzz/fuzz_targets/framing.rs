//! The NDJSON line decoder, fed the input whole and split at a point taken from its first byte.
//! The body, with its invariants, is `sallyport_mcp::fuzzing::framing`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sallyport_mcp::fuzzing::framing(data));
