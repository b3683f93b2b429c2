//! Header value decoding/encoding and the modern header-vs-body check.
//! The body, with its invariants, is `sallyport_mcp::fuzzing::headers`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sallyport_mcp::fuzzing::headers(data));
