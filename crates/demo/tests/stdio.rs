//! The demo server over stdio framing (in-process, through a duplex pipe) with a real rmcp
//! client, in both protocol eras.

mod common;

use common::{Era, TestClient, connect_stdio};

async fn basics(era: Era) -> anyhow::Result<()> {
    let (handler, mut events) = TestClient::capable();
    let client = connect_stdio(handler, era).await?;
    common::check_basics(&client).await?;
    common::check_errors(&client).await?;
    common::check_progress(&client, &mut events).await?;
    client.cancel().await?;
    Ok(())
}

async fn client_requests(era: Era) -> anyhow::Result<()> {
    let (handler, _events) = TestClient::capable();
    let client = connect_stdio(handler, era).await?;
    common::check_client_requests(&client).await?;
    client.cancel().await?;

    let (bare, _events) = TestClient::bare();
    let client = connect_stdio(bare, era).await?;
    common::check_undeclared_capabilities(&client).await?;
    client.cancel().await?;
    Ok(())
}

async fn list_changed(era: Era) -> anyhow::Result<()> {
    let (handler, mut events) = TestClient::capable();
    let client = connect_stdio(handler, era).await?;
    common::check_list_changed(&client, &mut events, era).await?;
    client.cancel().await?;
    Ok(())
}

async fn cancellation(era: Era) -> anyhow::Result<()> {
    let (handler, mut events) = TestClient::capable();
    let client = connect_stdio(handler, era).await?;
    common::check_cancellation(&client, &mut events).await?;
    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn legacy_basics() -> anyhow::Result<()> {
    basics(Era::Legacy).await
}

#[tokio::test]
async fn modern_basics() -> anyhow::Result<()> {
    basics(Era::Modern).await
}

#[tokio::test]
async fn legacy_server_to_client_requests() -> anyhow::Result<()> {
    client_requests(Era::Legacy).await
}

#[tokio::test]
async fn modern_input_required_rounds() -> anyhow::Result<()> {
    client_requests(Era::Modern).await
}

#[tokio::test]
async fn legacy_list_changed() -> anyhow::Result<()> {
    list_changed(Era::Legacy).await
}

#[tokio::test]
async fn modern_list_changed_on_listen_stream() -> anyhow::Result<()> {
    list_changed(Era::Modern).await
}

#[tokio::test]
async fn legacy_cancellation_stops_the_count() -> anyhow::Result<()> {
    cancellation(Era::Legacy).await
}

#[tokio::test]
async fn modern_cancellation_stops_the_count() -> anyhow::Result<()> {
    cancellation(Era::Modern).await
}

#[tokio::test]
async fn eof_before_any_request_is_a_clean_exit() -> anyhow::Result<()> {
    let (server_end, client_end) = tokio::io::duplex(1024);
    drop(client_end);
    let outcome =
        tokio::time::timeout(common::PATIENCE, sallyport_demo::serve_io(server_end)).await?;
    anyhow::ensure!(outcome.is_ok(), "serve_io failed: {outcome:?}");
    Ok(())
}
