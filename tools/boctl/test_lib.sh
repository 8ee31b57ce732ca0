# Shared by boctl's script tests (cli_test.sh, events_tail_test.sh); sourced after they set
# BOCTL (the binary) and WORK (a scratch directory). Failures are counted, not fatal, so one run
# reports every broken case; the test ends with `exit $((failures > 0))` or the like.
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run EXPECTED_EXIT ARGS...: runs boctl, keeps stdout in $out and stderr in $err.
run() {
  local expected="$1"
  shift
  "$BOCTL" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  out="$(cat "$WORK/out")"
  err="$(cat "$WORK/err")"
  [ "$rc" = "$expected" ] || fail "boctl $* exited $rc, expected $expected; stderr: $err"
}

has() { # has TEXT PATTERN WHAT
  grep -qF -- "$2" <<<"$1" || fail "$3: expected to find '$2' in: $1"
}
