//! `sallyport scan -c`: the definitions of configured servers, read live.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use sallyport_transport::inventory::{ServerDefinitions, definitions};

use super::Source;

/// How long one server may take to start, answer its handshake and every list.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Servers that could not be read: `(server, why)`.
pub(super) type Unread = Vec<(String, String)>;

/// Reads the servers of `config` (only those named in `only`, when any): the sources read,
/// and those that could not be.
pub(super) fn read(config: &Path, only: &[String]) -> anyhow::Result<(Vec<Source>, Unread)> {
    let config = crate::runtime::load_config(config)?;
    if let Some(unknown) = only
        .iter()
        .find(|n| !config.servers.iter().any(|s| s.name.as_str() == n.as_str()))
    {
        bail!("no server named {unknown} in the config");
    }
    let specs: Vec<_> = sallyport_transport::build::upstream_specs(&config)
        .into_iter()
        .filter(|s| only.is_empty() || only.iter().any(|n| n.as_str() == &*s.name))
        .map(Arc::new)
        .collect();
    let runtime = super::super::tokio_runtime()?;
    let reads = specs.into_iter().map(|spec| async move {
        let name = spec.name.to_string();
        let read = match tokio::time::timeout(READ_TIMEOUT, definitions(spec)).await {
            Ok(Ok(defs)) => Ok(defs),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", READ_TIMEOUT.as_secs())),
        };
        (name, read)
    });
    let results = runtime.block_on(futures::future::join_all(reads));
    let (mut sources, mut failed) = (Vec::new(), Vec::new());
    for (server, read) in results {
        match read {
            Ok(defs) => sources.push(source(server, defs)),
            Err(e) => failed.push((server, e)),
        }
    }
    Ok((sources, failed))
}

fn source(server: String, defs: ServerDefinitions) -> Source {
    let mut items = defs.tools;
    items.extend(defs.prompts);
    items.extend(defs.resources);
    items.extend(defs.resource_templates);
    Source {
        server,
        items,
        instructions: defs.instructions,
    }
}
