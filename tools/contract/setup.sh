#!/usr/bin/env bash
# Installs the event-contract tools (issue 6) inside the repo, pinned:
#   * tools/contract/node_modules: the AsyncAPI CLI and buf, from package-lock.json (npm ci);
#   * var/contract-venv: a Python venv with protobuf and PyYAML (requirements.txt), for
#     gen_asyncapi.py.
# Needs node >= 20 with npm, python3 with venv (Debian: python3-venv) and protoc (Debian:
# protobuf-compiler). Idempotent and quick when done: each part is redone only when its pins
# changed (a stamp holds the hash of the pin files).
#   tools/contract/setup.sh
# Environment: BO_CONTRACT_VENV (default $REPO/var/contract-venv), PYTHON (the python3 that makes
# the venv; default the first of /usr/bin/python3 and python3 that has venv and ensurepip).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="${BO_CONTRACT_VENV:-$REPO/var/contract-venv}"

say() { echo "contract setup: $*"; }
die() { echo "contract setup: ERROR: $*" >&2; exit 1; }

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

phase_npm() {
  command -v node >/dev/null 2>&1 || die "node not found (Node.js 20 or later with npm is needed)"
  command -v npm >/dev/null 2>&1 || die "npm not found"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "node $(node --version) is too old: 20 or later is needed"
  local stamp="$HERE/node_modules/.bo-contract-stamp" want
  want="$(hash_of "$HERE/package.json" "$HERE/package-lock.json")"
  if [ -x "$HERE/node_modules/.bin/asyncapi" ] && [ -x "$HERE/node_modules/.bin/buf" ] &&
    [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "npm tools ok"
    return 0
  fi
  say "npm ci (the AsyncAPI CLI and buf; takes a few minutes the first time)"
  # --ignore-scripts: nothing needs its install scripts (buf's only swaps its launcher for the
  # binary; the CLI's sets up shell completion; others report usage to their authors).
  (cd "$HERE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
  say "npm tools ok (asyncapi $(
    node -p "require('$HERE/node_modules/@asyncapi/cli/package.json').version"
  ), buf $("$HERE/node_modules/.bin/buf" --version))"
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return 0; fi
  local p
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import venv, ensurepip' 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no python3 with venv and ensurepip (Debian: apt-get install python3-venv)"
}

phase_venv() {
  local stamp="$VENV/.bo-contract-stamp" want
  want="$(hash_of "$HERE/requirements.txt")"
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
    "$VENV/bin/python" -c 'import google.protobuf, yaml' 2>/dev/null; then
    say "python venv ok ($VENV)"
    return 0
  fi
  local python
  python="$(pick_python)"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$VENV"
    say "creating $VENV with $python"
    "$python" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$HERE/requirements.txt"
  echo "$want" >"$stamp"
  say "python venv ok ($VENV: $("$VENV/bin/python" -c \
    'import google.protobuf, yaml; print("protobuf", google.protobuf.__version__, "PyYAML", yaml.__version__)'))"
}

phase_protoc() {
  command -v "${PROTOC:-protoc}" >/dev/null 2>&1 ||
    die "protoc not found (Debian: apt-get install protobuf-compiler; tools/setup installs it)"
  say "protoc ok ($("${PROTOC:-protoc}" --version))"
}

phase_protoc
phase_venv
phase_npm
