#!/usr/bin/env bash
# Makes the Python example subscriber runnable: a venv with the pinned packages, and the event
# classes generated from the protos (never committed: they are built from the .proto files, so they
# cannot drift from them). Idempotent and quick when nothing changed: each step keeps a hash of
# its inputs and is skipped while they are the same.
#
#   SUBSCRIBER_VENV  where the venv goes [<repo>/var/subscribers/python-venv]
#   PROTO_DIR        root of the .proto files [<repo>/proto]
#   PROTOC           protoc to use [protoc on the PATH; Debian 12: 3.21.12]
#   PYTHON           python to make the venv with [python3; 3.8 or later, with venv]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
VENV="${SUBSCRIBER_VENV:-$REPO/var/subscribers/python-venv}"
PROTO_DIR="${PROTO_DIR:-$REPO/proto}"
PROTOC="${PROTOC:-protoc}"
PYTHON="${PYTHON:-python3}"
# The event catalogue: the envelope and every payload, and the messages they share.
PROTOS=(backorder/v1/common.proto backorder/v1/events.proto)

say() { echo "subscribers/python: $*"; }

command -v "$PROTOC" >/dev/null || { echo "subscribers/python: no $PROTOC (apt-get install protobuf-compiler)" >&2; exit 1; }

# A venv whose python no longer runs (the interpreter it was made from moved) is made anew.
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  say "venv created at $VENV ($("$VENV/bin/python" --version))"
fi

# pip install only when requirements.txt changed.
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" >"$VENV/.requirements.sha256"
  say "packages installed"
fi

# Generate backorder/v1/*_pb2.py into $VENV/gen when a proto (or protoc) changed, and put that
# folder on the venv's import path with a .pth file, so `$VENV/bin/python subscriber.py` just works.
want="$( (cd "$PROTO_DIR" && sha256sum "${PROTOS[@]}"; "$PROTOC" --version) | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$VENV/.protos.sha256" 2>/dev/null)" != "$want" ]; then
  rm -rf "$VENV/gen"
  mkdir -p "$VENV/gen"
  (cd "$PROTO_DIR" && "$PROTOC" -I . --python_out="$VENV/gen" "${PROTOS[@]}")
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$VENV/gen" >"$site/backorders-events.pth"
  echo "$want" >"$VENV/.protos.sha256"
  say "event classes generated from $PROTO_DIR ($("$PROTOC" --version))"
fi

say "ok: run $VENV/bin/python $HERE/subscriber.py --help"
