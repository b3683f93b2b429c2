//! Load harness for Sallyport: drives `tools/call` and `tools/list` at a fixed rate (open
//! loop) and at saturation (closed loop) against fast in-process upstreams, directly and
//! through the release `sallyport` binary, for both protocol eras and any number of
//! federated upstreams. Run it with `cargo run --release -p sallyport-bench --bin load`;
//! `docs/BENCHMARKS.md` has the commands and the results.
//!
//! Layout: `upstream` is the fast MCP server, `wire` builds requests, `client` sends them
//! and defines one operation, `load` shapes the load, `gateway` runs the sallyport process, `procfs` reads memory and CPU time,
//! `run` walks the scenario matrix and `report` prints Markdown.

pub mod authn_authz;
pub mod authn_mode;
pub mod client;
pub mod gateway;
pub mod load;
pub mod procfs;
pub mod report;
pub mod run;
pub mod upstream;
pub mod wire;
