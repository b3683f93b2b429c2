//! Reputation files: formats, bad lines, reload.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sallyport_network::reputation::{LineError, MAX_REPORTED_LINES};
use sallyport_network::{
    BuildError, NetworkConfig, NetworkGate, ReputationConfig, ReputationError, ReputationList,
};

use crate::support::verdict;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn load(files: Vec<PathBuf>) -> (ReputationList, sallyport_network::ReloadReport) {
    ReputationList::load(ReputationConfig::with_files(files)).unwrap()
}

fn listed(list: &ReputationList, ip: &str) -> bool {
    list.contains(ip.parse().unwrap())
}

const DROP: &str = "; Spamhaus DROP List 2026/11/05 - (c) 2026 The Spamhaus Project\n\
; Last-Modified: Thu, 05 Nov 2026 10:00:00 GMT\n\
1.10.16.0/20 ; SBL256894\n\
2.56.192.0/22 ; SBL459831\n";

const FIREHOL: &str = "#\n# firehol_level1\n#\n# Source: firehol\n0.0.0.0/8\n\
5.8.37.0/24\n2001:db8:dead::/48\n";

const MIXED: &str = "\u{feff}192.0.2.7\r\n\
198.51.100.10-198.51.100.20\r\n\
203.0.113.0 - 203.0.113.3 # inline range\n\
0.0.0.0 192.0.2.99\n\
127.0.0.1 tracker.example.com\n\
100.64.0.0\t100.64.0.255\t24\t500\tDShield\n\
192.0.2.44\t7\n\
this is not an ip\n\
192.0.2.300\n\
10.0.0.0/40\n\
0.0.0.0/0\n\
::/0\n";

#[test]
fn spamhaus_drop() {
    let dir = tempfile::tempdir().unwrap();
    let (list, report) = load(vec![write(dir.path(), "drop.txt", DROP)]);
    assert!(listed(&list, "1.10.16.1") && listed(&list, "1.10.31.255"));
    assert!(!listed(&list, "1.10.32.0"));
    assert!(listed(&list, "2.56.195.255"));
    assert_eq!(report.entries_total(), 2);
    assert_eq!(report.invalid_total(), 0);
}

#[test]
fn firehol_netset() {
    let dir = tempfile::tempdir().unwrap();
    let (list, report) = load(vec![write(dir.path(), "level1.netset", FIREHOL)]);
    assert!(listed(&list, "0.1.2.3") && listed(&list, "5.8.37.200"));
    assert!(listed(&list, "2001:db8:dead:1::1"));
    assert!(!listed(&list, "5.8.38.1"));
    assert_eq!(report.entries_total(), 3);
}

#[test]
fn mixed_formats_and_bad_lines_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "mixed.txt", MIXED);
    let (list, report) = load(vec![path.clone()]);
    for ip in [
        "192.0.2.7",
        "198.51.100.15",
        "203.0.113.3",
        "192.0.2.99",
        "100.64.0.128",
        "192.0.2.44",
    ] {
        assert!(listed(&list, ip), "{ip}");
    }
    for ip in [
        "127.0.0.1",
        "0.0.0.0",
        "198.51.100.21",
        "203.0.113.4",
        "192.0.2.8",
        "8.8.8.8",
    ] {
        assert!(!listed(&list, ip), "{ip}");
    }
    let file = &report.files[0];
    assert_eq!((file.entries, file.invalid, file.skipped), (6, 5, 1));
    let lines: Vec<String> = report
        .invalid_lines
        .iter()
        .map(ToString::to_string)
        .collect();
    let p = path.display();
    assert_eq!(
        lines,
        [
            format!("{p}:8: not an IP address, CIDR block or range"),
            format!("{p}:9: not an IP address, CIDR block or range"),
            format!("{p}:10: prefix length 40 is out of range"),
            format!("{p}:11: entry covers more than a /8"),
            format!("{p}:12: entry covers more than a /16"),
        ]
    );
}

#[test]
fn non_utf8_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bin.txt");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"192.0.2.1\n\xff\xfe\n192.0.2.2")
        .unwrap();
    let (list, report) = load(vec![path]);
    assert!(listed(&list, "192.0.2.2"), "last line without newline");
    assert_eq!(report.invalid_lines[0].line, 2);
    assert_eq!(report.invalid_lines[0].reason, LineError::NotUtf8);
}

#[test]
fn reported_lines_are_capped_but_counted() {
    let dir = tempfile::tempdir().unwrap();
    let junk = "junk\n".repeat(250);
    let (_list, report) = load(vec![write(dir.path(), "junk.txt", &junk)]);
    assert_eq!(report.invalid_total(), 250);
    assert_eq!(report.invalid_lines.len(), MAX_REPORTED_LINES);
}

#[test]
fn oversized_and_missing_files_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.txt", &"192.0.2.1\n".repeat(10));
    let mut config = ReputationConfig::with_files(vec![path]);
    config.max_file_bytes = 50;
    assert!(matches!(
        ReputationList::load(config),
        Err(ReputationError::TooLarge { max: 50, .. })
    ));
    let config = ReputationConfig::with_files(vec![dir.path().join("missing.txt")]);
    assert!(matches!(
        ReputationList::load(config),
        Err(ReputationError::Read { .. })
    ));
    let network = NetworkConfig {
        reputation: Some(ReputationConfig::with_files(vec![
            dir.path().join("missing.txt"),
        ])),
        ..NetworkConfig::default()
    };
    assert!(matches!(
        NetworkGate::build(&network),
        Err(BuildError::Reputation(_))
    ));
}

#[test]
fn reload_swaps_atomically_and_keeps_old_list_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "list.txt", "192.0.2.1\n");
    let (list, _) = load(vec![path.clone()]);
    let before = list.snapshot();
    assert!(listed(&list, "192.0.2.1"));

    write(dir.path(), "list.txt", "192.0.2.2\n");
    let report = list.reload().unwrap();
    assert_eq!(report.entries_total(), 1);
    assert!(!listed(&list, "192.0.2.1") && listed(&list, "192.0.2.2"));
    // A reader holding the old snapshot keeps a consistent view.
    assert!(before.contains("192.0.2.1".parse().unwrap()));
    assert!(!before.contains("192.0.2.2".parse().unwrap()));

    std::fs::remove_file(&path).unwrap();
    assert!(list.reload().is_err());
    assert!(listed(&list, "192.0.2.2"), "previous list kept");
}

#[test]
fn reload_if_changed_skips_unchanged_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "list.txt", "192.0.2.1\n");
    let (list, _) = load(vec![path.clone()]);
    assert_eq!(list.reload_if_changed().unwrap(), None);
    write(dir.path(), "list.txt", "192.0.2.1\n192.0.2.3\n");
    let report = list.reload_if_changed().unwrap().expect("changed length");
    assert_eq!(report.entries_total(), 2);
    assert!(listed(&list, "192.0.2.3"));
}

#[test]
fn concurrent_readers_see_whole_lists() {
    let dir = tempfile::tempdir().unwrap();
    let a: String = (0..=255).map(|i| format!("10.0.0.{i}\n")).collect();
    let b: String = (0..=255).map(|i| format!("10.0.1.{i}\n")).collect();
    let path = write(dir.path(), "list.txt", &a);
    let (list, _) = load(vec![path.clone()]);
    let list = Arc::new(list);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (list, stop) = (Arc::clone(&list), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let set = list.snapshot();
                let in_a = set.contains("10.0.0.7".parse().unwrap());
                let in_b = set.contains("10.0.1.7".parse().unwrap());
                assert!(in_a != in_b, "a snapshot is exactly one of the lists");
            }
        })
    };
    for round in 0..50 {
        write(dir.path(), "list.txt", if round % 2 == 0 { &b } else { &a });
        list.reload().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
}

#[test]
fn gate_refuses_listed_clients() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "drop.txt", DROP);
    let network = NetworkConfig {
        reputation: Some(ReputationConfig::with_files(vec![path])),
        ..NetworkConfig::default()
    };
    let gate = NetworkGate::build(&network).unwrap();
    assert_eq!(verdict(&gate, "1.10.16.5"), "ip_reputation");
    assert_eq!(verdict(&gate, "192.0.2.1"), "allow");
    assert_eq!(gate.load_report().unwrap().entries_total(), 2);
    let r = gate.connect("1.10.16.5".parse().unwrap()).unwrap_err();
    assert_eq!(
        (r.reason.as_str(), r.status.as_u16()),
        ("ip_reputation", 403)
    );
}
