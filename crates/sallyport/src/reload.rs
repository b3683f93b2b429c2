//! Hot reload: on a change to the config file or on SIGHUP, load it again and swap it in.
//! A bad file keeps the old config running and says why.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::runtime::{Running, load_config};

/// Watches `path` and reloads `running` on change or SIGHUP.
pub(crate) fn spawn(path: PathBuf, running: Arc<Running>) {
    let (tx, mut rx) = mpsc::channel::<()>(8);
    let watch_tx = tx.clone();
    let file_name = path.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let ours = |e: &notify::Event| {
            e.paths
                .iter()
                .any(|p| p.file_name() == file_name.as_deref())
        };
        if res.is_ok_and(|e| (e.kind.is_modify() || e.kind.is_create()) && ours(&e)) {
            let _ = watch_tx.try_send(());
        }
    });
    // Watch the directory: editors replace files instead of writing in place.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    if let Ok(w) = watcher.as_mut()
        && let Err(e) = w.watch(&dir, RecursiveMode::NonRecursive)
    {
        warn!(error = %e, "Config file watching unavailable; SIGHUP still reloads.");
    }
    tokio::spawn(async move {
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            while hup.recv().await.is_some() {
                let _ = tx.try_send(());
            }
        }
    });
    tokio::spawn(async move {
        let _keep = watcher;
        while rx.recv().await.is_some() {
            // Let a burst of file events settle into one reload.
            tokio::time::sleep(Duration::from_millis(200)).await;
            while rx.try_recv().is_ok() {}
            match load_config(&path).and_then(|c| running.reload(&c)) {
                Ok(()) => info!(path = %path.display(), "Configuration reloaded."),
                Err(e) => {
                    error!(path = %path.display(), error = %format!("{e:#}"), "Configuration not reloaded; the previous one stays in force.")
                }
            }
        }
    });
}
