//! Hot reload: on a change to the config file, to a policy file it names (YAML policies, the
//! Cedar files they name, the GeoIP database, the correlation rules file), or on SIGHUP, load the config again and swap it in. A bad file
//! keeps the old config running and says why.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use sallyport_config::Config;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::runtime::{Running, load_config};

/// The files whose change triggers a reload, as absolute paths.
type WatchSet = Arc<RwLock<HashSet<PathBuf>>>;

/// Watches `path` (and the policy files its config names) and reloads `running` on change
/// or SIGHUP.
pub(crate) fn spawn(path: PathBuf, running: Arc<Running>, config: &Config) {
    let (tx, mut rx) = mpsc::channel::<()>(8);
    let files: WatchSet = Arc::default();
    let mut watcher = file_watcher(files.clone(), tx.clone());
    watch(&mut watcher, &files, &path, config);
    spawn_sighup(tx);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let a burst of file events settle into one reload.
            tokio::time::sleep(Duration::from_millis(200)).await;
            while rx.try_recv().is_ok() {}
            let loaded = load_config(&path).and_then(|c| running.reload(&c).map(|()| c));
            match loaded {
                Ok(config) => {
                    watch(&mut watcher, &files, &path, &config);
                    info!(path = %path.display(), "Configuration reloaded.");
                }
                Err(e) => {
                    error!(path = %path.display(), error = %format!("{e:#}"), "Configuration not reloaded; the previous one stays in force.")
                }
            }
        }
    });
}

fn file_watcher(files: WatchSet, tx: mpsc::Sender<()>) -> Option<RecommendedWatcher> {
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if !(event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove()) {
            return;
        }
        let watched = files.read().unwrap_or_else(PoisonError::into_inner);
        if event.paths.iter().any(|p| watched.contains(p)) {
            let _ = tx.try_send(());
        }
    });
    match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(error = %e, "Config file watching unavailable; SIGHUP still reloads.");
            None
        }
    }
}

/// Makes the watch set the config file and the policy files `config` names, and watches
/// their directories (editors replace files instead of writing in place).
fn watch(watcher: &mut Option<RecommendedWatcher>, files: &WatchSet, path: &Path, config: &Config) {
    let wanted: HashSet<PathBuf> = std::iter::once(path.to_owned())
        .chain(policy_files(config))
        .filter_map(|p| std::path::absolute(p).ok())
        .collect();
    let dirs: HashSet<PathBuf> = wanted
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    *files.write().unwrap_or_else(PoisonError::into_inner) = wanted;
    let Some(w) = watcher.as_mut() else { return };
    for dir in dirs {
        // Watching a directory twice is harmless; a missing one is reported once here.
        if let Err(e) = w.watch(&dir, RecursiveMode::NonRecursive) {
            warn!(dir = %dir.display(), error = %e, "Cannot watch this directory for changes; SIGHUP still reloads.");
        }
    }
}

/// `authz.policy_files`, the Cedar files they name, the GeoIP database, and the
/// correlation rules file.
fn policy_files(config: &Config) -> Vec<PathBuf> {
    let rules = config
        .correlation
        .as_ref()
        .and_then(|c| c.rules_file.clone());
    let Some(authz) = &config.authz else {
        return rules.into_iter().collect();
    };
    let mut files = authz.policy_files.clone();
    files.extend(rules);
    files.extend(authz.geoip_database.clone());
    for policy in &authz.policy_files {
        if let Ok(loaded) = sallyport_policy::AuthzConfig::load(std::slice::from_ref(policy))
            && let Some(cedar) = loaded.cedar
        {
            files.extend(cedar.files);
        }
    }
    files
}

fn spawn_sighup(tx: mpsc::Sender<()>) {
    tokio::spawn(async move {
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            while hup.recv().await.is_some() {
                let _ = tx.try_send(());
            }
        }
    });
}
