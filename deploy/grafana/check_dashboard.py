#!/usr/bin/env python3
"""Checks the Grafana dashboard (and the metric names of the Prometheus rules) against what the
services really expose. Run by deploy/check (which makes the venv with jsonschema and PyYAML);
exits 1 listing every problem found.

  * the dashboard JSON has the shape of deploy/grafana/dashboard.schema.json;
  * every panel has a unique id and a gridPos inside the 24 columns, no two panels overlap, and
    every query of a panel has its own refId;
  * every PromQL expression (panel queries and variable queries, with Grafana's $__interval
    variables replaced by a duration) parses: they become recording rules of a temporary rules
    file that `promtool check rules` reads;
  * every $variable they use is a template variable of the dashboard;
  * every metric name in those expressions and in the rules file is a family of
    deploy/prometheus/metric-families.txt (histograms also as _bucket, _sum, _count), and the
    business figures (the families only debtor-query has) are always filtered by $branch;
  * the dashboard shows every figure the ops issue asks for.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.dirname(HERE)

# Series Prometheus makes itself when it scrapes (not exposed by the services).
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added", "ALERTS",
                 "ALERTS_FOR_STATE"}
# The figures the dashboard must show (issue 5 and deploy/README.md): a family each.
REQUIRED_FIGURES = {
    "bo_backorders_ready_to_invoice": "ready to invoice by branch",
    "bo_backorders_open": "open back orders by branch and state",
    "bo_fill_rate": "fill rate",
    "bo_backorder_days_to_fill_average": "average days to fill",
    "bo_backorder_days_to_invoice_average": "average days to invoice",
    "bo_lost_sales_total": "lost sales",
    "bo_consumer_lag": "consumer lag per service, topic and partition",
    "bo_outbox_depth": "outbox depth",
    "grpc_server_handled_total": "RPC rate by method",
    "grpc_server_handling_seconds": "RPC latency by method",
    "bo_rocksdb_live_sst_bytes": "RocksDB size",
}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
                   # aggregations, which may be followed by `by (...)` rather than `(`
                   "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                   "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TOKEN = re.compile(r"""
    (?P<space>\s+) | (?P<comment>\#[^\n]*) |
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`) |
    (?P<number>[0-9][0-9a-zA-Z_.]*|\.[0-9][0-9a-zA-Z_.]*) |
    (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*) |
    (?P<punct>=~|!~|!=|==|<=|>=|[-+*/%^(){}\[\],=<>@:])
""", re.VERBOSE)


def load_families(path):
    """{name: (type, [labels], services)} from metric-families.txt."""
    families = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 4 or parts[1] not in ("counter", "gauge", "histogram"):
                sys.exit(f"{path}:{n}: want NAME TYPE LABELS SERVICES, got {line!r}")
            labels = [] if parts[2] == "-" else parts[2].split(",")
            families[parts[0]] = (parts[1], labels, parts[3])
    return families


def tokens(expr):
    pos = 0
    out = []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot read {expr[pos:pos + 20]!r} at {pos}")
        pos = m.end()
        if m.lastgroup not in ("space", "comment"):
            out.append((m.lastgroup, m.group()))
    return out


def metric_selectors(expr):
    """[(metric name, matcher text)] for every metric a PromQL expression reads. Not a parser
    (promtool checks the syntax): a scan that knows which identifiers are not metric names
    (functions and aggregations before '(', label names in {} and grouping lists, keywords)."""
    toks = tokens(expr)
    found = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "punct" and text in "[{":
            close = "]" if text == "[" else "}"
            j = i
            while j < len(toks) and toks[j][1] != close:
                j += 1
            i = j + 1
            continue
        if kind == "ident":
            if text in GROUPING:
                if nxt == "(":
                    j = i + 1
                    while j < len(toks) and toks[j][1] != ")":
                        j += 1
                    i = j + 1
                    continue
            elif nxt == "(" or text.lower() in PROMQL_KEYWORDS:
                pass  # a function or aggregation, or a keyword
            else:
                matchers = ""
                if nxt == "{":
                    j = i + 2
                    while j < len(toks) and toks[j][1] != "}":
                        matchers += toks[j][1] + " "
                        j += 1
                found.append((text, matchers.strip()))
        i += 1
    return found


GRAFANA_INTERVALS = re.compile(r"\$\{?__(rate_interval|interval|range)\}?")


def to_promql(expr):
    """The expression Prometheus would get, with Grafana's interval variables filled in."""
    return GRAFANA_INTERVALS.sub("5m", expr)


def variable_exprs(var):
    """PromQL inside a query variable: label_values(SELECTOR, label), query_result(EXPR)."""
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    q = (q or "").strip()
    m = re.fullmatch(r"label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)", q, re.S)
    if m:
        return [m.group(1)]
    m = re.fullmatch(r"(?:query_result|metrics)\((.*)\)", q, re.S)
    if m:
        return [m.group(1)]
    return []


def allowed_names(families):
    names = {name: name for name in families}
    for name, (kind, _, _) in families.items():
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                names[name + suffix] = name
    return names


def check(args):
    problems = []
    families = load_families(args.families)
    names = allowed_names(families)
    business = {n for n, (_, _, svc) in families.items() if svc == "debtor-query"}

    with open(args.dashboard, encoding="utf-8") as f:
        dash = json.load(f)
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    for err in sorted(validator.iter_errors(dash), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        problems.append(f"schema: {where}: {err.message}")

    panels = dash.get("panels", [])
    for p in list(panels):
        panels.extend(p.get("panels", []) if p.get("type") == "row" else [])
    ids = {}
    cells = {}
    used = {}   # family -> where
    exprs = []  # (record name, where, PromQL)
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            problems.append(f"{where}: id {p.get('id')} is also the id of panel {ids[p['id']]!r}")
        ids[p.get("id")] = p.get("title")
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in "xywh"):
            problems.append(f"{where}: no gridPos with integer x, y, w, h")
        else:
            if g["x"] + g["w"] > 24:
                problems.append(f"{where}: gridPos x {g['x']} + w {g['w']} is wider than 24 columns")
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in cells:
                        problems.append(f"{where}: overlaps {cells[(x, y)]} at column {x}, row {y}")
                        break
                    cells[(x, y)] = where
                else:
                    continue
                break
        refs = set()
        for t in p.get("targets", []):
            ref = t.get("refId")
            if ref in refs:
                problems.append(f"{where}: two queries with refId {ref}")
            refs.add(ref)
            if t.get("expr"):
                exprs.append((f"bo:dashboard:panel_{p.get('id')}_{ref}", f"{where} query {ref}", t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        for e in variable_exprs(v):
            exprs.append((f"bo:dashboard:variable_{v.get('name')}", f"variable {v.get('name')}", e))

    defined = {v.get("name") for v in dash.get("templating", {}).get("list", [])}
    for _, where, expr in exprs:
        for var in re.findall(r"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)", expr):
            if var not in defined and not var.startswith("__"):
                problems.append(f"{where}: uses ${var}, which is not a variable of the dashboard")
        try:
            sels = metric_selectors(to_promql(expr))
        except ValueError as e:
            problems.append(f"{where}: {e}")
            continue
        if not sels:
            problems.append(f"{where}: reads no metric: {expr}")
        for name, matchers in sels:
            family = names.get(name)
            if family is None:
                problems.append(f"{where}: {name} is not a family of {os.path.relpath(args.families)}")
                continue
            used.setdefault(family, where)
            if family in business and where.startswith("panel") and "$branch" not in matchers:
                problems.append(f"{where}: {name} is not filtered by the branch variable "
                                f"(want {{branch=~\"$branch\"}})")

    for family, figure in REQUIRED_FIGURES.items():
        if family not in used:
            problems.append(f"the dashboard shows no {figure} (no query reads {family})")

    # The expressions parse: one recording rule each, checked by promtool.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard-exprs.rules.yml")
        rules = [{"record": rec, "expr": to_promql(e)} for rec, _, e in exprs]
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, sort_keys=False)
        r = subprocess.run([args.promtool, "check", "rules", path], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("PromQL of the dashboard (promtool check rules):\n" + r.stdout + r.stderr)

    # The rules file reads only known metrics (or the series its own recording rules make).
    if args.rules:
        with open(args.rules, encoding="utf-8") as f:
            groups = yaml.safe_load(f).get("groups", [])
        recorded = {r["record"] for g in groups for r in g.get("rules", []) if "record" in r}
        for g in groups:
            for r in g.get("rules", []):
                where = f"{os.path.relpath(args.rules)}: {r.get('record') or r.get('alert')}"
                for name, _ in metric_selectors(str(r.get("expr", ""))):
                    if name not in names and name not in recorded and name not in SCRAPE_SERIES:
                        problems.append(f"{where}: {name} is not a family of {os.path.relpath(args.families)}")

    return problems, len([p for p in panels if p.get("type") != "row"]), len(exprs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dashboard", default=os.path.join(HERE, "backorders.json"))
    ap.add_argument("--schema", default=os.path.join(HERE, "dashboard.schema.json"))
    ap.add_argument("--families", default=os.path.join(DEPLOY, "prometheus", "metric-families.txt"))
    ap.add_argument("--rules", default=os.path.join(DEPLOY, "prometheus", "rules", "backorders.rules.yml"))
    ap.add_argument("--promtool", default="promtool")
    args = ap.parse_args()
    problems, n_panels, n_exprs = check(args)
    name = os.path.relpath(args.dashboard)
    if problems:
        for p in problems:
            print(f"{name}: {p}")
        print(f"{name}: FAILED ({len(problems)} problems)")
        sys.exit(1)
    print(f"{name}: ok ({n_panels} panels, {n_exprs} PromQL expressions parse and read only "
          f"known metric families; schema {os.path.relpath(args.schema)})")


if __name__ == "__main__":
    main()
