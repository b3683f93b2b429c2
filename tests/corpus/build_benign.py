"""Benign tool results of the shapes real tools return most often, which the hand-written
outputs in build_results.py lack: short results (a status word, a one-line outcome, an id, a
config line, a small JSON object with short string fields, in both protocol eras' result
shapes), and excerpts of real files as a file-reading tool returns them (this repository's own
source and documentation at a fixed commit, so the corpus rebuilds identically)."""
import json, random, subprocess, uuid
from common import case, split_of, h, ME, LIC

R = random.Random(20261122)

# The commit whose files are excerpted (Sallyport's own tree, Apache-2.0).
REPO_COMMIT = "0b6d306"
REPO_EXTS = (".rs", ".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".ts", ".js", ".html", ".css", ".txt")
# Files that quote attacks on purpose (the detectors, their tests, attack fixtures, the corpus,
# the threat documentation) are not benign examples of file contents.
REPO_SKIP_DIRS = ("tests/corpus/", "crates/detect/", "crates/guards/", "tests/fixtures/", "fuzz/")
REPO_SKIP_WORDS = ("poison", "inject", "rug", "attack", "threat", "detect", "SECURITY")
ATTACK_MARKERS = (
    "ignore previous", "ignore all", "ignore the above", "ignore your", "disregard", "system prompt",
    "<important>", "do not tell", "don't tell", "jailbreak", "developer mode", "you are now",
    "pwned", "exfiltrat", "new instructions", "[inst]", "<|im_start|>", "note to the ai",
    "ai agent", "ai assistant", "hidden instruction", "prompt injection",
)

STATUS = ["ok", "OK", "done", "complete", "success", "created", "updated", "deleted", "not found",
          "pending", "running", "queued", "failed", "cancelled", "active", "inactive", "enabled",
          "disabled", "true", "false", "none", "null", "N/A", "unknown", "healthy", "degraded",
          "up to date", "no changes", "merged", "closed", "open", "draft", "approved", "rejected",
          "in progress", "archived", "Saved.", "Task complete.", "Cache cleared.", "Accepted"]
NAMES = ["Alice Martin", "Bob Chen", "Carla Diaz", "Dmitri Ivanov", "Emma Schulz", "Farid Haddad",
         "Grace Okafor", "Hiro Tanaka", "Ines Moreau", "Jonas Berg"]
CITIES = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Denver", "Krakow", "Auckland", "Lyon", "Austin", "Seoul"]
TZ = ["Europe/Lisbon", "America/Toronto", "Africa/Nairobi", "Asia/Tokyo", "America/Denver", "UTC"]
WORDS = ["invoice", "deploy", "report", "backup", "sprint", "release", "budget", "onboarding",
         "migration", "newsletter", "roadmap", "inventory", "checkout", "search", "billing"]
TITLES = ["Fix login redirect", "Update README", "Bump serde to 1.0.228", "Add retry to uploader",
          "Quarterly planning", "Refactor the cache layer", "Remove unused imports", "Weekly sync",
          "Draft: pricing page copy", "Improve error message for missing config", "Release 2.4.1",
          "Customer feedback summary", "Team offsite agenda", "Investigate slow queries"]
PKGS = ["serde", "tokio", "requests", "numpy", "react", "express", "lodash", "axum", "pydantic"]
KEYS = ["region", "timeout", "port", "log_level", "max_connections", "replicas", "image", "retries",
        "bucket", "endpoint", "cache_ttl", "workers", "theme", "locale", "batch_size"]
VALUES = ["us-east-1", "30s", "8080", "debug", "100", "3", "nginx:1.27", "5", "assets-prod",
          "https://api.example.com/v2", "3600", "4", "dark", "en-GB", "256"]


def path():
    return "/" + "/".join(R.sample(["home", "srv", "app", "data", "tmp", "var", "projects", "docs", "src", "logs"], R.randint(2, 4))) + "/" + R.choice(["notes.md", "main.rs", "report.csv", "config.yaml", "index.html", "app.log", "photo.jpg", "todo.txt"])


def ident():
    return R.choice([
        str(uuid.UUID(int=R.getrandbits(128), version=4)),
        "%040x" % R.getrandbits(160),
        "%07x" % R.getrandbits(28),
        str(R.randint(1, 10**9)),
        "%s-%d" % (R.choice(["INV", "PROJ", "OPS", "TCK", "ORD"]), R.randint(1, 99999)),
    ])


def when():
    return "2026-%02d-%02dT%02d:%02d:%02dZ" % (R.randint(1, 12), R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59))


def config_line():
    k, v = R.randrange(len(KEYS)), R.randrange(len(VALUES))
    return R.choice(["%s = %s", "%s: %s", "%s=%s", '"%s": "%s"']) % (KEYS[k].upper() if R.random() < 0.2 else KEYS[k], VALUES[v])


OUTCOMES = [
    lambda: "File written successfully to %s" % path(),
    lambda: "Successfully wrote %d bytes to %s" % (R.randint(10, 99999), path()),
    lambda: "Created directory %s" % path().rsplit("/", 1)[0],
    lambda: "%d rows affected" % R.randint(0, 500),
    lambda: "No results found for '%s'" % R.choice(WORDS),
    lambda: "Deleted %d files" % R.randint(1, 40),
    lambda: "Already up to date.",
    lambda: "Moved %s to %s" % (path(), path()),
    lambda: "Meeting scheduled for %s" % when(),
    lambda: "Current time in %s: %02d:%02d" % (R.choice(TZ), R.randint(0, 23), R.randint(0, 59)),
    lambda: "%s: %d °C, humidity %d%%, wind %d km/h" % (R.choice(CITIES), R.randint(-10, 38), R.randint(10, 99), R.randint(0, 60)),
    lambda: "Build #%d passed in %ds" % (R.randint(100, 9999), R.randint(20, 900)),
    lambda: "Ticket %s assigned to %s" % (ident(), R.choice(NAMES)),
    lambda: "Payment of $%d.%02d received" % (R.randint(1, 5000), R.randint(0, 99)),
    lambda: "Uploaded %s (%d KB)" % (path().rsplit("/", 1)[1], R.randint(1, 9000)),
    lambda: "Permission denied: %s" % path(),
    lambda: "Error: connection refused (127.0.0.1:%d)" % R.randint(1024, 65000),
    lambda: "Timeout after %d ms" % R.randint(100, 30000),
    lambda: "Invalid argument: '%s' must be a positive integer" % R.choice(KEYS),
    lambda: "Rate limit exceeded; retry after %d seconds" % R.randint(1, 120),
    lambda: "Page %d of %d" % (R.randint(1, 9), R.randint(10, 40)),
    lambda: "Process exited with code %d" % R.choice([0, 0, 1, 2, 127]),
    lambda: "Installed %s@%d.%d.%d" % (R.choice(PKGS), R.randint(0, 9), R.randint(0, 40), R.randint(0, 20)),
    lambda: "Container %s started" % ("%012x" % R.getrandbits(48)),
    lambda: "Pod %s-%05x is Running" % (R.choice(WORDS), R.getrandbits(20)),
    lambda: "Done in %.1fs" % (R.random() * 60),
    lambda: "Found %d matches in %d files" % (R.randint(0, 300), R.randint(1, 40)),
    lambda: "Branch '%s' set up to track 'origin/%s'." % ((R.choice(WORDS),) * 2),
    lambda: "Opened pull request #%d: %s" % (R.randint(1, 4000), R.choice(TITLES)),
    lambda: "%s commented: looks good to me" % R.choice(NAMES),
    lambda: "Last login: %s from 10.0.%d.%d" % (when(), R.randint(0, 255), R.randint(1, 254)),
    lambda: "Temperature set to %d degrees" % R.randint(16, 26),
    lambda: "Reminder added: %s on %s" % (R.choice(TITLES), when()[:10]),
    lambda: "The file is empty.",
    lambda: "Exchange rate EUR/USD: 1.%04d" % R.randint(0, 9999),
    lambda: "Your order %s has shipped" % ident(),
    lambda: "%s, %s" % (R.choice(NAMES), R.choice(CITIES)),
]


def short_text():
    r = R.random()
    if r < 0.2:
        return R.choice(STATUS)
    if r < 0.3:
        return ident()
    if r < 0.35:
        return when()
    if r < 0.42:
        return path()
    if r < 0.52:
        return config_line() if R.random() < 0.6 else "\n".join(config_line() for _ in range(R.randint(2, 5)))
    if r < 0.57:
        return R.choice(TITLES)
    if r < 0.6:
        return str(R.choice([R.randint(0, 10**6), round(R.random() * 1000, 2)]))
    return R.choice(OUTCOMES)()


def small_object():
    obj = {"id": ident(), "status": R.choice(STATUS)}
    for k in R.sample(["title", "owner", "city", "updated_at", "path", "count", "tags", "message"], R.randint(1, 4)):
        obj[k] = {"title": R.choice(TITLES), "owner": R.choice(NAMES), "city": R.choice(CITIES),
                  "updated_at": when(), "path": path(), "count": R.randint(0, 999),
                  "tags": R.sample(WORDS, 2), "message": R.choice(OUTCOMES)()}[k]
    return obj


def short_result():
    """One short result in one of the shapes servers send: text content, text plus
    structuredContent, with or without isError, and the 2026-07-28 `resultType`."""
    if R.random() < 0.3:
        obj = small_object()
        result = {"content": [{"type": "text", "text": json.dumps(obj)}], "structuredContent": obj}
    else:
        result = {"content": [{"type": "text", "text": short_text()}]}
    if R.random() < 0.5:
        result["isError"] = False
    if R.random() < 0.4:
        result["resultType"] = "complete"
    return result


def short_outputs(n=800):
    return [case(f"own-short-result-{i}", "benign", "prompt_injection", "result", ME, LIC,
                 short_result(), split=split_of(f"short-result-{i}"))
            for i in range(n)]


def _git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def _repo_files():
    for p in sorted(_git("ls-tree", "-r", "--name-only", REPO_COMMIT).splitlines()):
        if not p.endswith(REPO_EXTS) or p.startswith(REPO_SKIP_DIRS):
            continue
        if any(w.lower() in p.lower() for w in REPO_SKIP_WORDS):
            continue
        yield p


def _chunk_len():
    r = R.random()
    return 1 if r < 0.2 else R.randint(2, 5) if r < 0.5 else R.randint(6, 20) if r < 0.85 else R.randint(21, 40)


def repo_snippets(limit=2000, max_chars=2000):
    """Excerpts of this repository's files (1–40 lines), as a file-reading tool returns them.
    Excerpts quoting attack phrasings (ATTACK_MARKERS) are left out. Split by file."""
    out = []
    for p in _repo_files():
        lines = _git("show", f"{REPO_COMMIT}:{p}").splitlines()
        for k in range(min(6, max(1, len(lines) // 40))):
            start = R.randrange(max(1, len(lines)))
            text = "\n".join(lines[start:start + _chunk_len()])[:max_chars]
            if len(text.strip()) < 2 or any(m in text.lower() for m in ATTACK_MARKERS):
                continue
            result = {"content": [{"type": "text", "text": text}]}
            out.append(case(f"own-repo-{h(p):08x}-{k}", "benign", "prompt_injection", "result", ME, LIC,
                            result, split=split_of(f"repo:{p}")))
    R.shuffle(out)
    return sorted(out[:limit], key=lambda c: c["id"])
