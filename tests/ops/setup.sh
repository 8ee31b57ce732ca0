#!/usr/bin/env bash
# Installs what the ops checks and tests need (issue 5), inside the repo and pinned:
#   python  var/ops-venv: prometheus_client, jsonschema, PyYAML (tests/ops/requirements.txt), for
#           deploy/check and the metrics test;
#   node    tests/ops/dashboard/node_modules: playwright-core from package-lock.json (npm ci), for
#           the browser test. No browser is downloaded: the test drives Debian's chromium.
# With no argument, both. Also checks that the Debian packages are there (tools/setup installs
# them): promtool (package prometheus) and, for node, chromium. Idempotent and quick when done:
# each part is redone only when its pins changed (a stamp holds their hash).
#   tests/ops/setup.sh [python] [node]
# Environment: BO_OPS_VENV (default $REPO/var/ops-venv), PYTHON (the python3 that makes the
# venv; default python3), CHROMIUM (default /usr/bin/chromium).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${BO_OPS_VENV:-$REPO/var/ops-venv}"
NODE_DIR="$HERE/dashboard"

say() { echo "ops setup: $*"; }
die() { echo "ops setup: ERROR: $*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

phase_python() {
  command -v promtool >/dev/null 2>&1 ||
    die "promtool not found (Debian: apt-get install prometheus; tools/setup installs it)"
  local stamp="$VENV/.bo-ops-stamp" want
  want="$(hash_of "$HERE/requirements.txt")"
  if "$VENV/bin/python" -c 'import prometheus_client, jsonschema, yaml' 2>/dev/null &&
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "python venv ok ($VENV)"
    return 0
  fi
  # A venv whose python no longer runs (the interpreter it was made from moved) is made anew.
  if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV" ||
      die "cannot make a venv (Debian: apt-get install python3-venv)"
    say "created $VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" >"$stamp"
  say "python venv ok ($VENV: $("$VENV/bin/python" -c \
    'import importlib.metadata as m; print(", ".join(p + " " + m.version(p) for p in ("prometheus_client", "jsonschema", "PyYAML")))'))"
}

phase_node() {
  local chromium="${CHROMIUM:-/usr/bin/chromium}"
  [ -x "$chromium" ] || die "no $chromium (Debian: apt-get install chromium; tools/setup installs it)"
  command -v node >/dev/null 2>&1 || die "node not found (Node.js 20 or later with npm is needed)"
  command -v npm >/dev/null 2>&1 || die "npm not found"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "node $(node --version) is too old: 20 or later is needed"
  local stamp="$NODE_DIR/node_modules/.bo-ops-stamp" want
  want="$(hash_of "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
  if [ -f "$NODE_DIR/node_modules/playwright-core/package.json" ] &&
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "npm packages ok"
    return 0
  fi
  # --ignore-scripts: playwright-core has no install script worth running (browsers are not ours).
  (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
  say "npm packages ok (playwright-core $(node -p "require('$NODE_DIR/node_modules/playwright-core/package.json').version"))"
}

parts=("$@")
[ "${#parts[@]}" -gt 0 ] || parts=(python node)
for part in "${parts[@]}"; do
  case "$part" in
    python) phase_python ;;
    node) phase_node ;;
    *) die "unknown part $part (python or node)" ;;
  esac
done
