#!/usr/bin/env python3
"""The metrics test's checks (tests/ops/metrics_test.sh runs them on a stack that ran the
walkthrough):

1. every service's /healthz, /readyz and /api/v1/status answer;
2. every service's /metrics parses (prometheus_client's parser, and `promtool check metrics`) and
   has every family of deploy/prometheus/metric-families.txt meant for it, with its type and
   exactly its labels; the pipeline figures say the stack is idle and caught up;
3. debtor-query's business figures equal what its gRPC API (boctl --json) lists: ready to invoice
   and open back orders by branch and state, quantities, fill rate, average days to fill and to
   invoice; lost sales equal the LostSaleRecorded events on Kafka (boctl events tail);
4. a real Prometheus (the rules of deploy/prometheus, file_sd targets with a `job` label each, as
   deploy/prometheus/prometheus.yml reads them) scrapes the stack: every job is up, the recording
   rules have series, no critical alert is pending, and every query of the Grafana dashboard
   returns data.

Exit 1 with every problem listed.
"""
import argparse
import collections
import datetime
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

SERVICES = ["invoicing", "purchasing", "receiving", "debtor-query"]
OPEN_STATES = ["OPEN", "ON_ORDER", "PARTLY_FILLED", "FILLED"]
# promtool's lint findings accepted on purpose: the lead times are averages in days, as the
# dashboard page and the parts managers read them (named so in metric-families.txt).
ACCEPTED_LINT = {
    'bo_backorder_days_to_fill_average use base unit "seconds" instead of "days"',
    'bo_backorder_days_to_invoice_average use base unit "seconds" instead of "days"',
}
# Dashboard panels that may rightly have no data on a fresh stack.
MAY_BE_EMPTY = {"RPC errors per second"}

problems = []


def problem(msg):
    problems.append(msg)
    print(f"  PROBLEM: {msg}", flush=True)


def say(msg):
    print(f"metrics test: {msg}", flush=True)


def prefix(name):
    return name.upper().replace("-", "_")


# The stack's HTTPS side is read as Prometheus reads it: its CA and the prometheus certificate
# (set by main from stack.env; None for a plain-HTTP stack).
TLS = {"ca": None, "reader": None, "anonymous": None}


def tls_contexts(env):
    ca = env.get("BO_CA")
    if not ca:
        return
    pki = os.path.dirname(ca)
    TLS["ca"] = ca
    TLS["reader"] = ssl.create_default_context(cafile=ca)
    TLS["reader"].load_cert_chain(os.path.join(pki, "prometheus.crt"), os.path.join(pki, "prometheus.key"))
    TLS["anonymous"] = ssl.create_default_context(cafile=ca)


def http_get(url, timeout=10, who="reader"):
    """(status, content type, body) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=TLS[who]) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        return 0, "", str(e)


def load_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


def load_families(path):
    families = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, kind, labels, svc = line.split()
                families[name] = (kind, set() if labels == "-" else set(labels.split(",")), svc)
    return families


def parsed_name(name, kind):
    """The family name prometheus_client's parser gives (it drops a counter's _total)."""
    return name[:-len("_total")] if kind == "counter" and name.endswith("_total") else name


def scrape(url):
    """{family name as exposed: Family} of one /metrics, or None (with a problem) if unreadable."""
    status, ctype, body = http_get(url + "/metrics")
    if status != 200:
        problem(f"{url}/metrics answered {status}: {body[:200]}")
        return None, ""
    if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
        problem(f"{url}/metrics has Content-Type {ctype!r}, not text/plain; version=0.0.4")
    try:
        fams = list(text_string_to_metric_families(body))
    except Exception as e:  # the parser raises ValueError and friends on malformed text
        problem(f"{url}/metrics does not parse: {e}")
        return None, body
    return {f.name: f for f in fams}, body


def values(fam, sample_name=None):
    """{labels tuple (sorted items): value} of a family's samples (of one sample name)."""
    out = {}
    for s in fam.samples:
        if sample_name is None or s.name == sample_name:
            out[tuple(sorted(s.labels.items()))] = s.value
    return out


# ---- 1. probes -----------------------------------------------------------------------------

def check_probes(urls):
    for svc, url in urls.items():
        if url.startswith("https:"):
            # Without a reader's certificate or a token only the probes answer.
            status, _, body = http_get(url + "/metrics", who="anonymous")
            if status != 401:
                problem(f"{svc} {url}/metrics without a certificate or token answered {status}, want 401")
        status, _, body = http_get(url + "/healthz")
        if status != 200 or body.strip() != "ok":
            problem(f"{svc} {url}/healthz answered {status} {body.strip()[:80]!r}, want 200 'ok'")
        deadline = time.time() + 30
        while True:
            status, _, body = http_get(url + "/readyz")
            if status == 200 or time.time() > deadline:
                break
            time.sleep(0.5)
        if status != 200:
            problem(f"{svc} {url}/readyz answered {status} {body.strip()[:80]!r} 30 s after the walkthrough, want 200")
        status, ctype, body = http_get(url + "/api/v1/status")
        if status != 200:
            problem(f"{svc} {url}/api/v1/status answered {status}")
            continue
        try:
            doc = json.loads(body)
        except ValueError as e:
            problem(f"{svc} {url}/api/v1/status is not JSON: {e}")
            continue
        if not isinstance(doc, dict):
            problem(f"{svc} {url}/api/v1/status is not a JSON object")
        elif doc.get("service") not in (None, svc):
            problem(f"{svc} {url}/api/v1/status says it is {doc.get('service')!r}")
        if "json" not in ctype:
            problem(f"{svc} {url}/api/v1/status has Content-Type {ctype!r}")
        say(f"{svc}: /healthz, /readyz, /api/v1/status ok ({url})")


# ---- 2. the families -----------------------------------------------------------------------

def check_families(svc, fams, text, families, promtool, out_dir):
    with open(os.path.join(out_dir, f"{svc}.metrics.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    lint = [l for l in (r.stdout + r.stderr).splitlines() if l.strip() and l.strip() not in ACCEPTED_LINT]
    if lint or (r.returncode != 0 and not (r.stdout + r.stderr).strip()):
        problem(f"{svc}: promtool check metrics: " + "; ".join(lint or [f"exit {r.returncode}"]))
    for name, (kind, labels, where) in families.items():
        pname = parsed_name(name, kind)
        fam = fams.get(pname)
        if where not in ("all", svc):
            if fam is not None:
                problem(f"{svc} exposes {name}, a figure only {where} should have")
            continue
        if fam is None:
            problem(f"{svc} has no {name} ({kind})")
            continue
        if fam.type != kind:
            problem(f"{svc}: {name} is a {fam.type}, want {kind}")
            continue
        if not fam.samples:
            problem(f"{svc}: {name} has no samples")
        for s in fam.samples:
            have = set(s.labels) - ({"le"} if s.name.endswith("_bucket") else set())
            if have != labels:
                problem(f"{svc}: {s.name}{s.labels} has labels {sorted(have)}, want {sorted(labels)}")
                break
        if kind == "histogram":
            by_series = collections.defaultdict(list)
            counts = {}
            for s in fam.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
                if s.name == name + "_bucket":
                    le = float("inf") if s.labels["le"] == "+Inf" else float(s.labels["le"])
                    by_series[key].append((le, s.value))
                elif s.name == name + "_count":
                    counts[key] = s.value
            for key, buckets in by_series.items():
                buckets.sort()
                if buckets[-1][0] != float("inf") or any(b[1] > a[1] for b, a in zip(buckets, buckets[1:])):
                    problem(f"{svc}: {name}{dict(key)} buckets are not cumulative up to +Inf")
                elif counts.get(key) != buckets[-1][1]:
                    problem(f"{svc}: {name}{dict(key)} count {counts.get(key)} != +Inf bucket {buckets[-1][1]}")


def gauge(fams, name):
    fam = fams.get(name)
    return values(fam) if fam else {}


def check_pipeline(svc, fams):
    """What a stack that finished the walkthrough must say, as sentences (empty when it does)."""
    issues = []
    info = gauge(fams, "bo_build_info")
    if not any(dict(k).get("service") == svc and v == 1 for k, v in info.items()):
        issues.append(f"bo_build_info has no series with service={svc!r} and value 1: {info}")
    if gauge(fams, "bo_ready") != {(): 1.0}:
        issues.append(f"bo_ready is {gauge(fams, 'bo_ready')}, want 1")
    behind = {dict(k).get("consumer"): v for k, v in gauge(fams, "bo_consumer_caught_up").items() if v != 1}
    if behind:
        issues.append(f"bo_consumer_caught_up is not 1 for {behind}")
    lag = {tuple(v for _, v in k): v for k, v in gauge(fams, "bo_consumer_lag").items() if v != 0}
    if lag:
        issues.append(f"bo_consumer_lag is not 0 for {lag}")
    if any(v != 0 for v in gauge(fams, "bo_outbox_depth").values()):
        issues.append(f"bo_outbox_depth is {gauge(fams, 'bo_outbox_depth')}, want 0")
    return issues


def check_activity(svc, fams):
    topic = f"backorder.{svc}.v1"
    pub = {dict(k).get("topic"): v for k, v in values(fams["bo_events_published"]).items()} \
        if "bo_events_published" in fams else {}
    if pub.get(topic, 0) <= 0:
        problem(f"{svc}: bo_events_published_total{{topic={topic!r}}} is {pub.get(topic)}, but the walkthrough made it publish")
    if "bo_events_consumed" in fams and sum(values(fams["bo_events_consumed"]).values()) <= 0:
        problem(f"{svc}: bo_events_consumed_total is 0 after the walkthrough")
    if "grpc_server_handled" in fams:
        handled = values(fams["grpc_server_handled"])
        if sum(handled.values()) <= 0:
            problem(f"{svc}: grpc_server_handled_total counted no RPC during the walkthrough")
        if not any(re.fullmatch(r"(?i)ok", dict(k).get("grpc_code", "")) for k in handled):
            problem(f"{svc}: grpc_server_handled_total has no grpc_code OK: {sorted(handled)[:3]}")
    rss = gauge(fams, "process_resident_memory_bytes").get((), 0)
    start = gauge(fams, "process_start_time_seconds").get((), 0)
    fds = gauge(fams, "process_open_fds").get((), 0)
    if rss < 1e6:
        problem(f"{svc}: process_resident_memory_bytes {rss} is not a process's memory")
    if not time.time() - 3600 < start <= time.time() + 5:
        problem(f"{svc}: process_start_time_seconds {start} is not within the last hour")
    if fds < 3:
        problem(f"{svc}: process_open_fds {fds}")
    if gauge(fams, "bo_rocksdb_live_sst_bytes").get((), -1) < 0 or gauge(fams, "bo_rocksdb_memtable_bytes").get((), -1) <= 0:
        problem(f"{svc}: RocksDB sizes missing or zero memtables")


# ---- 3. the business figures against the API -----------------------------------------------

def boctl_json(boctl, *args):
    r = subprocess.run([boctl, "--json", *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"boctl {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def state_name(s):
    return (s or "").upper().removeprefix("BACKORDER_STATE_")


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def api_figures(boctl):
    """The figures debtor-query's gRPC API implies, by branch."""
    bos, token = [], ""
    while True:
        page = boctl_json(boctl, "backorder", "list", "--page-size", "1000",
                          *(["--page-token", token] if token else []))
        bos += page.get("backorders", [])
        token = page.get("nextPageToken", "")
        if not token:
            break
    figs = collections.defaultdict(lambda: {
        "open": collections.Counter(), "ordered": 0, "filled": 0, "invoiced": 0,
        "fill_s": [], "invoice_s": []})
    for b in bos:
        f = figs[b["context"]["branchId"]]
        st = state_name(b["state"])
        q = {k: int(v) for k, v in b.get("quantities", {}).items()}
        if st in OPEN_STATES:
            f["open"][st] += 1
        if st == "CANCELLED":
            continue
        f["ordered"] += q.get("backOrdered", 0)
        f["filled"] += q.get("filled", 0)
        f["invoiced"] += q.get("invoiced", 0)
        created = ts(b.get("createdAt"))
        if q.get("filled", 0) >= q.get("backOrdered", 0) > 0 and b.get("filledAt"):
            f["fill_s"].append(max(0, int((ts(b["filledAt"]) - created).total_seconds())))
        if st == "INVOICED" and b.get("invoicedAt"):
            f["invoice_s"].append(max(0, int((ts(b["invoicedAt"]) - created).total_seconds())))
    ready = collections.Counter()
    for inv in boctl_json(boctl, "backorder", "ready").get("invoices", []):
        ready[inv["branchId"]] += len(inv.get("lines", []))
    return figs, ready, len(bos)


def metric_figures(fams):
    """The same figures from debtor-query's /metrics, by branch."""
    def by(name, *labels):
        fam = fams.get(name)
        out = {}
        for k, v in (values(fam) if fam else {}).items():
            d = dict(k)
            out[tuple(d.get(l) for l in labels)] = v
        return out
    return {
        "open": by("bo_backorders_open", "branch", "state"),
        "ready": by("bo_backorders_ready_to_invoice", "branch"),
        "quantity": by("bo_backorder_quantity", "branch", "kind"),
        "fill_rate": by("bo_fill_rate", "branch"),
        "days_to_fill": by("bo_backorder_days_to_fill_average", "branch"),
        "days_to_invoice": by("bo_backorder_days_to_invoice_average", "branch"),
        "lost": by("bo_lost_sales", "branch"),
        "lost_qty": by("bo_lost_sales_quantity", "branch"),
    }


def compare_business(m, api, ready, lost):
    """Differences between the metrics and the API, as sentences (empty when they agree)."""
    diffs = []

    def nz(d):
        return {k: v for k, v in d.items() if v}
    open_m = nz({(b, state_name(s)): v for (b, s), v in m["open"].items()})
    open_a = nz({(b, s): n for b, f in api.items() for s, n in f["open"].items()})
    if open_m != open_a:
        diffs.append(f"open back orders by branch and state: metrics {sorted(set(open_m.items()) - set(open_a.items()))[:6]} "
                     f"but the API {sorted(set(open_a.items()) - set(open_m.items()))[:6]}")
    ready_m = nz({b: v for (b,), v in m["ready"].items()})
    if ready_m != nz(dict(ready)):
        diffs.append(f"ready to invoice by branch: metrics {ready_m} but the API {dict(ready)}")
    for kind, key in (("ordered", "ordered"), ("filled", "filled"), ("invoiced", "invoiced")):
        q_m = nz({b: v for (b, k), v in m["quantity"].items() if k == kind})
        q_a = nz({b: f[key] for b, f in api.items()})
        if q_m != q_a:
            diffs.append(f"bo_backorder_quantity{{kind={kind!r}}}: metrics {q_m} but the API {q_a}")
    for b, f in api.items():
        if f["ordered"]:
            want = f["filled"] / f["ordered"]
            have = m["fill_rate"].get((b,))
            if have is None or abs(have - want) > 1e-9:
                diffs.append(f"bo_fill_rate{{branch={b!r}}} is {have}, the API's quantities give {want}")
        for fig, key in (("days_to_fill", "fill_s"), ("days_to_invoice", "invoice_s")):
            if f[key]:
                want = sum(f[key]) / len(f[key]) / 86400
                have = m[fig].get((b,))
                # Whole seconds per back order on both sides; allow one second each for rounding.
                if have is None or abs(have - want) > (1.0 / 86400) + 1e-9:
                    diffs.append(f"bo_backorder_{fig}_average{{branch={b!r}}} is {have}, the API's times give {want:.6f}")
    lost_m = nz({b: v for (b,), v in m["lost"].items()})
    lost_q = nz({b: v for (b,), v in m["lost_qty"].items()})
    if lost is not None:
        if lost_m != nz({b: n for b, (n, _) in lost.items()}):
            diffs.append(f"bo_lost_sales_total: metrics {lost_m} but Kafka has LostSaleRecorded {dict((b, n) for b, (n, _) in lost.items())}")
        if lost_q != nz({b: q for b, (_, q) in lost.items()}):
            diffs.append(f"bo_lost_sales_quantity_total: metrics {lost_q} but Kafka has {dict((b, q) for b, (_, q) in lost.items())}")
    return diffs


def lost_sales_on_kafka(boctl):
    r = subprocess.run([boctl, "--json", "events", "tail", "--from-beginning", "--idle-exit", "3",
                        "--type", "LostSaleRecorded"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"boctl events tail: {r.stderr.strip()}")
    lost = {}
    for line in r.stdout.splitlines():
        ev = json.loads(line)["event"]
        payload = ev.get("lostSaleRecorded") or {}
        n, q = lost.get(payload.get("branchId") or ev.get("branchId"), (0, 0))
        lost[payload.get("branchId") or ev.get("branchId")] = (n + 1, q + int(payload.get("quantity", 0)))
    return lost


# ---- 4. a real Prometheus -------------------------------------------------------------------

def prometheus_phase(args, urls, dashboard, families):
    work = os.path.join(args.out, "prometheus")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "targets"))
    shutil.copytree(os.path.join(args.deploy, "prometheus", "rules"), os.path.join(work, "rules"))
    with open(os.path.join(args.deploy, "prometheus", "prometheus.yml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    # The repo's configuration with this stack's ports: the four static jobs left out, the
    # file_sd job given a target file naming each service in its `job` label.
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["global"]["scrape_timeout"] = "1s"
    config["scrape_configs"] = [c for c in config["scrape_configs"] if "file_sd_configs" in c]
    if len(config["scrape_configs"]) != 1:
        problem("deploy/prometheus/prometheus.yml has no file_sd job for other machines")
        return
    job = config["scrape_configs"][0]
    if job.get("scheme") != "https" or "tls_config" not in job:
        problem("deploy/prometheus/prometheus.yml: the file_sd job does not scrape over HTTPS with a certificate")
    if not TLS["ca"]:
        problem(f"{args.env} has no BO_CA: the stack does not serve HTTPS")
        return
    # This stack's certificates instead of var/stack/pki.
    pki = os.path.dirname(TLS["ca"])
    job["tls_config"] = {"ca_file": os.path.join(pki, "ca.crt"),
                         "cert_file": os.path.join(pki, "prometheus.crt"),
                         "key_file": os.path.join(pki, "prometheus.key")}
    with open(os.path.join(work, "prometheus.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f)
    with open(os.path.join(work, "targets", "stack.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump([{"targets": [urllib.parse.urlparse(u).netloc], "labels": {"job": s}}
                        for s, u in urls.items()], f)
    listen = f"127.0.0.1:{args.prometheus_port}"
    log = open(os.path.join(work, "prometheus.log"), "w")
    proc = subprocess.Popen([args.prometheus, f"--config.file={work}/prometheus.yml",
                             f"--storage.tsdb.path={work}/data", f"--web.listen-address={listen}"],
                            stdout=log, stderr=subprocess.STDOUT)
    api = f"http://{listen}/api/v1"

    def query(expr):
        status, _, body = http_get(f"{api}/query?" + urllib.parse.urlencode({"query": expr}))
        if status != 200:
            return None, f"{status} {body[:300]}"
        return json.loads(body)["data"]["result"], None

    try:
        exprs = []
        for p in dashboard["panels"]:
            for t in p.get("targets", []):
                e = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "30s", t["expr"])
                e = re.sub(r"\$\{?(branch|job)\}?", ".*", e)
                exprs.append((p["title"], t["refId"], e))
        with open(os.path.join(args.deploy, "prometheus", "rules", "backorders.rules.yml"), encoding="utf-8") as f:
            records = [r["record"] for g in yaml.safe_load(f)["groups"] for r in g["rules"] if "record" in r]
        deadline = time.time() + 45
        while True:
            missing = []
            with_data = 0
            up, err = query("up")
            jobs = {r["metric"]["job"]: r["value"][1] for r in (up or [])}
            if err or any(jobs.get(s) != "1" for s in SERVICES):
                missing.append(f"up by job: {jobs or err}")
            for title, ref, e in exprs:
                res, err = query(e)
                if err:
                    missing.append(f"dashboard panel {title!r} query {ref}: {err}")
                elif res:
                    with_data += 1
                elif title not in MAY_BE_EMPTY:
                    missing.append(f"dashboard panel {title!r} query {ref} has no data: {e}")
            for rec in records:
                res, err = query(rec)
                if err or not res:
                    missing.append(f"recording rule {rec} has no series")
            if proc.poll() is not None:
                log.flush()
                with open(log.name, encoding="utf-8", errors="replace") as f:
                    missing = [f"exited with {proc.returncode}: " + "".join(f.readlines()[-5:])]
                break
            if not missing or time.time() > deadline:
                break
            time.sleep(1)
        for m in missing:
            problem(f"Prometheus: {m}")
        crit, err = query('ALERTS{severity="critical"}')
        if err or crit:
            problem(f"Prometheus: critical alerts on an idle stack: {err or [c['metric'] for c in crit]}")
        if not missing:
            say(f"Prometheus {listen} scraped the four jobs (file_sd job labels), "
                f"{len(records)} recording rules have series, {with_data} of the {len(exprs)} dashboard "
                f"queries have data (may be empty: {', '.join(sorted(MAY_BE_EMPTY))})")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--env", required=True, help="the stack's stack.env")
    ap.add_argument("--deploy", required=True, help="the repo's deploy/ folder")
    ap.add_argument("--boctl", required=True)
    ap.add_argument("--out", required=True, help="where scraped texts and Prometheus go")
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--prometheus-port", type=int, default=22189)
    ap.add_argument("--settle", type=float, default=60, help="seconds to wait for the figures to settle")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    families = load_families(os.path.join(args.deploy, "prometheus", "metric-families.txt"))
    env = load_env(args.env)
    tls_contexts(env)
    urls = {}
    for svc in SERVICES:
        url = env.get(prefix(svc) + "_HTTP")
        if not url:
            problem(f"{args.env} has no {prefix(svc)}_HTTP")
        else:
            urls[svc] = url.rstrip("/")
    if len(urls) != len(SERVICES):
        return finish()

    check_probes(urls)

    # Scrape until the pipeline is idle and the business figures agree with the API (events may
    # still be on their way into the read model right after the walkthrough).
    lost = None
    try:
        lost = lost_sales_on_kafka(args.boctl)
    except Exception as e:  # report, and compare the rest
        problem(f"reading LostSaleRecorded from Kafka: {e}")
    deadline = time.time() + args.settle
    attempt = 0
    while True:
        attempt += 1
        scraped = {svc: scrape(url) for svc, url in urls.items()}
        try:
            api, ready, n_bos = api_figures(args.boctl)
        except Exception as e:
            problem(f"the debtor-query API: {e}")
            return finish()
        settled = all(f is not None and not check_pipeline(svc, f) for svc, (f, _) in scraped.items())
        dq = scraped["debtor-query"][0]
        diffs = compare_business(metric_figures(dq), api, ready, lost) if dq else ["no debtor-query metrics"]
        if (settled and not diffs) or time.time() > deadline:
            break
        time.sleep(1)

    for svc, (fams, text) in scraped.items():
        if fams is None:
            continue
        check_families(svc, fams, text, families, args.promtool, args.out)
        for issue in check_pipeline(svc, fams):
            problem(f"{svc}, {args.settle:.0f} s after the walkthrough: {issue}")
        check_activity(svc, fams)
        say(f"{svc}: {len(fams)} families parsed, promtool check metrics ok ({args.out}/{svc}.metrics.txt)")
    for d in diffs:
        problem(f"debtor-query's figures disagree with its API: {d}")
    if not diffs:
        m = metric_figures(dq)
        say(f"debtor-query's figures agree with its API over {len(api)} branches and {n_bos} back orders "
            f"(ready {int(sum(m['ready'].values()))}, open {int(sum(m['open'].values()))}, "
            f"lost sales {int(sum(m['lost'].values()))}; settled after {attempt} scrapes)")

    with open(os.path.join(args.deploy, "grafana", "backorders.json"), encoding="utf-8") as f:
        dashboard = json.load(f)
    prometheus_phase(args, urls, dashboard, families)
    return finish()


def finish():
    if problems:
        print(f"metrics test: FAILED ({len(problems)} problems)")
        for p in problems:
            print(f"  - {p}")
        sys.exit(1)
    say("ok")


if __name__ == "__main__":
    main()
