#!/usr/bin/env bash
# The event contract's schema checks (issue 6), as CI runs them:
#   1. tools/contract/setup.sh          the pinned tools (quick when installed)
#   2. gen_asyncapi.py --check           docs/asyncapi.yaml is what the protos give, and the topic
#                                        table agrees with the event catalogue
#   3. asyncapi validate                 the document is valid AsyncAPI (warnings fail too)
#   4. buf lint                          proto/backorder (rules and exceptions: proto/buf.yaml)
#   5. buf breaking                      no breaking change against the previous commit (HEAD~1),
#                                        or against BO_BREAKING_AGAINST (a git ref) when set
#   tests/contract/schema_test.sh [REPO] [BUILD_DIR]
# BUILD_DIR is unused (everything here runs from the source tree); it keeps the ctest signature.
set -uo pipefail

REPO="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)"
TOOLS="$REPO/tools/contract"
BUF="$TOOLS/node_modules/.bin/buf"

failures=0
passes=0
step() { echo; echo "=== $*"; }
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
finish() {
  echo
  echo "schema: $passes passed, $failures failed"
  [ "$failures" -eq 0 ]
  exit $?
}

step "setup (tools/contract/setup.sh)"
if ! "$TOOLS/setup.sh"; then
  fail "tools/contract/setup.sh"
  finish
fi

step "docs/asyncapi.yaml against the protos (gen_asyncapi.py --check)"
if "$REPO/var/contract-venv/bin/python" "$TOOLS/gen_asyncapi.py" --check; then
  pass "docs/asyncapi.yaml is generated from the protos and up to date"
else
  fail "docs/asyncapi.yaml: see above (regenerate with tools/contract/gen_asyncapi.py)"
fi

step "asyncapi validate docs/asyncapi.yaml"
if (cd "$REPO" && "$TOOLS/asyncapi" validate docs/asyncapi.yaml --fail-severity=warn); then
  pass "asyncapi validate"
else
  fail "asyncapi validate docs/asyncapi.yaml"
fi

step "buf lint proto"
if (cd "$REPO" && "$BUF" lint proto); then
  pass "buf lint"
else
  fail "buf lint proto (rules in proto/buf.yaml)"
fi

step "buf breaking proto against the previous commit"
against_ref="${BO_BREAKING_AGAINST:-HEAD~1}"
if ! git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "SKIP: $REPO is not a git work tree: nothing to compare with"
elif ! git -C "$REPO" rev-parse --verify --quiet "$against_ref^{commit}" >/dev/null; then
  echo "SKIP: $against_ref does not exist (first commit, or a shallow clone): nothing to compare with"
elif ! git -C "$REPO" cat-file -e "$against_ref:proto" 2>/dev/null; then
  echo "SKIP: $against_ref has no proto/: nothing published to break"
else
  # The proto/ tree of that commit, exported with git archive (works in any clone or worktree),
  # under var/ (not /tmp: buf looks for a buf.yaml in the folders above its input). A commit
  # before proto/buf.yaml existed is read with buf's defaults, which build the same files; the
  # rules that judge the change are always the current proto/buf.yaml's.
  work="$REPO/var/contract/breaking-against"
  rm -rf "$work" && mkdir -p "$work"
  git -C "$REPO" archive "$against_ref" proto | tar -x -C "$work"
  note=""
  [ -f "$work/proto/buf.yaml" ] || note=" (it has no proto/buf.yaml: built with buf's defaults)"
  echo "against $against_ref = $(git -C "$REPO" rev-parse --short "$against_ref")$note"
  if (cd "$REPO" && "$BUF" breaking proto --against "$work/proto"); then
    pass "buf breaking against $against_ref"
  else
    fail "buf breaking: a published message changed incompatibly (additive changes only; a" \
      "breaking change is a new version, package backorder.v2 on topics *.v2)"
  fi
  rm -rf "$work"
fi

finish
