#!/usr/bin/env bash
# Builds the Java example subscriber: `mvn -q package` generates the event classes from the protos
# (never committed), compiles, and makes target/backorders-subscriber.jar. Idempotent and quick
# when nothing changed: the build is skipped while the pom, the sources, the protos and protoc are
# the same as for the jar there.
#
#   PROTO_DIR  root of the .proto files [<repo>/proto]
#   PROTOC     protoc to use [protoc on the PATH; Debian 12: 3.21.12, matching protobuf-java]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
PROTO_DIR="${PROTO_DIR:-$REPO/proto}"
PROTOC="${PROTOC:-protoc}"
JAR="$HERE/target/backorders-subscriber.jar"
STAMP="$HERE/target/.inputs.sha256"

say() { echo "subscribers/java: $*"; }

command -v "$PROTOC" >/dev/null || { echo "subscribers/java: no $PROTOC (apt-get install protobuf-compiler)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "subscribers/java: no mvn (apt-get install maven openjdk-17-jdk-headless)" >&2; exit 1; }

want="$( (cd "$HERE" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum
          cd "$PROTO_DIR" && sha256sum backorder/v1/common.proto backorder/v1/events.proto
          "$PROTOC" --version) | sha256sum | cut -d' ' -f1)"
if [ -f "$JAR" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  say "ok (up to date): java -jar $JAR --help"
  exit 0
fi
# Quiet unless it fails (Debian's Maven 3.8 also prints stray colour codes even with -q).
if ! log="$(cd "$HERE" && mvn -B -q package "-Dproto.dir=$PROTO_DIR" "-Dprotoc=$PROTOC" 2>&1)"; then
  echo "$log" >&2
  echo "subscribers/java: ERROR: mvn package failed" >&2
  exit 1
fi
echo "$want" >"$STAMP"
say "ok: java -jar $JAR --help"
