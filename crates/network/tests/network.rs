//! Integration tests of the network gate, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub, dead_code)]

#[path = "network/client_ip.rs"]
mod client_ip;
#[path = "network/limits.rs"]
mod limits;
#[path = "network/lists.rs"]
mod lists;
#[path = "network/props.rs"]
mod props;
#[path = "network/reputation.rs"]
mod reputation;
#[path = "network/request_line.rs"]
mod request_line;
#[path = "network/support.rs"]
mod support;
