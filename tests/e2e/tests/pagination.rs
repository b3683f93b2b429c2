//! Pagination across federated upstreams: two upstreams that page their tools/list (7 tools
//! in pages of 3, 5 in pages of 2) and one that does not. The client pages through the
//! gateway's own signed cursors and sees every tool of every server exactly once; a cursor the
//! gateway did not mint (tampered, or an upstream's raw cursor) is refused with -32602.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Era, TestClient, call, connect, python_stdio_server, rpc_code, text};
use rmcp::model::PaginatedRequestParams;
use sallyport_e2e::{GatewayProc, demo_stdio_server};
use serde_json::json;

fn expected_paged() -> BTreeSet<String> {
    let a = (0..7).map(|i| format!("pa__a{i:02}"));
    let b = (0..5).map(|i| format!("pb__b{i:02}"));
    a.chain(b).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_page_through_all_tools_of_all_servers_in_both_eras() {
    let servers = format!(
        "servers:\n{}{}{}",
        python_stdio_server(
            "pa",
            "paged_server.py",
            &["--tools", "7", "--page-size", "3", "--prefix", "a"]
        ),
        python_stdio_server(
            "pb",
            "paged_server.py",
            &["--tools", "5", "--page-size", "2", "--prefix", "b"]
        ),
        demo_stdio_server("tools")
    );
    let gw = GatewayProc::start(&servers).await;
    for era in Era::BOTH {
        let (handler, _events) = TestClient::bare();
        let client = connect(handler, &gw.mcp_url(), era).await;

        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = PaginatedRequestParams::default().with_cursor(cursor.clone());
            let page = client
                .list_tools(Some(params))
                .await
                .unwrap_or_else(|e| panic!("{era:?}: tools/list page {}: {e}", pages.len() + 1));
            let names: Vec<String> = page.tools.iter().map(|t| t.name.to_string()).collect();
            pages.push(names);
            match page.next_cursor {
                Some(next) => {
                    assert!(
                        pages.len() < 10,
                        "{era:?}: the cursor never ends: {pages:?}"
                    );
                    cursor = Some(next);
                }
                None => break,
            }
        }
        // The upstreams' pages really were walked through the gateway's cursors.
        assert!(
            pages.len() >= 2,
            "{era:?}: the upstreams page, so the gateway must too: {pages:?}"
        );
        let all: Vec<&String> = pages.iter().flatten().collect();
        let unique: BTreeSet<String> = all.iter().map(|s| (*s).clone()).collect();
        assert_eq!(
            all.len(),
            unique.len(),
            "{era:?}: a tool was listed twice: {pages:?}"
        );
        let paged: BTreeSet<String> = unique
            .iter()
            .filter(|n| n.starts_with('p'))
            .cloned()
            .collect();
        assert_eq!(paged, expected_paged(), "{era:?}: {pages:?}");
        assert!(
            unique.contains("tools__add") && unique.contains("tools__slow_count"),
            "{era:?}: the unpaged server is listed too: {pages:?}"
        );

        // A listed tool on a later page is callable.
        let result = call(&client, "pa__a06", json!({})).await;
        assert_eq!(text(&result), "a06 called", "{era:?}");

        // rmcp's own pager agrees.
        let all = client.list_all_tools().await.unwrap();
        let names: BTreeSet<String> = all.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names, unique, "{era:?}");

        // A cursor the gateway did not mint is an invalid parameter.
        let first = client.list_tools(None).await.unwrap();
        let good = first.next_cursor.expect("a first page with more to come");
        let mut tampered = good.clone().into_bytes();
        let mid = tampered.len() / 2;
        tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        // The upstream's own cursor (its `page:3`) must not be accepted raw either.
        let raw_upstream = "cGFnZToz".to_owned();
        for bad in [tampered, raw_upstream, "not-a-cursor".to_owned()] {
            let params = PaginatedRequestParams::default().with_cursor(Some(bad.clone()));
            let err = client
                .list_tools(Some(params))
                .await
                .map(|r| r.tools.len())
                .map_err(anyhow::Error::from)
                .expect_err(&format!("{era:?}: cursor {bad:?} was accepted"));
            assert_eq!(
                rpc_code(&err),
                Some(-32602),
                "{era:?}: cursor {bad:?}: {err:#}"
            );
        }
        client.cancel().await.unwrap();
    }
}
