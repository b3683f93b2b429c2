//! The JSON-RPC envelope parser under small limits: parse, re-serialise, re-parse.
//! The body, with its invariants, is `sallyport_mcp::fuzzing::envelope`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sallyport_mcp::fuzzing::envelope(data));
