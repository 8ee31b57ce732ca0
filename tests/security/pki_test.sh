#!/usr/bin/env bash
# deploy/local/pki: makes a CA, service and client certificates that verify, with the right uses
# and names, keys only the owner can read; a second run changes nothing; a lost CA remakes all.
set -euo pipefail
repo="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

pki="$repo/deploy/local/pki"
[ "$("$pki" "$dir/pki")" = "$dir/pki" ] || fail "pki does not print its directory"
cd "$dir/pki"

for svc in invoicing purchasing receiving debtor-query; do
  openssl verify -CAfile ca.crt "$svc.crt" >/dev/null || fail "$svc.crt does not verify"
  openssl x509 -in "$svc.crt" -noout -ext extendedKeyUsage | grep -q "Server Authentication" ||
    fail "$svc.crt cannot serve TLS"
  openssl x509 -in "$svc.crt" -noout -ext extendedKeyUsage | grep -q "Client Authentication" ||
    fail "$svc.crt cannot be a client of its peers"
  openssl x509 -in "$svc.crt" -noout -ext subjectAltName | grep -q "DNS:localhost, DNS:$svc, IP Address:127.0.0.1" ||
    fail "$svc.crt lacks its names"
  openssl x509 -in "$svc.crt" -noout -subject | grep -q "CN = $svc" || fail "$svc.crt is not CN=$svc"
  # The certificate and its key belong together.
  [ "$(openssl x509 -in "$svc.crt" -noout -pubkey)" = "$(openssl pkey -in "$svc.key" -pubout)" ] ||
    fail "$svc.key is not the key of $svc.crt"
done
for client in boctl tests prometheus; do
  openssl verify -CAfile ca.crt -purpose sslclient "$client.crt" >/dev/null || fail "$client.crt is no client"
  if openssl verify -CAfile ca.crt -purpose sslserver "$client.crt" >/dev/null 2>&1; then
    fail "$client.crt may serve TLS"
  fi
done
for key in *.key; do
  [ "$(stat -c %a "$key")" = 600 ] || fail "$key is readable by others"
done
openssl pkey -pubin -in jwt.pub -noout -text | grep -q "Public-Key: (2048 bit)" || fail "jwt.pub is not RSA 2048"

before="$(sha256sum ./* | sort)"
"$pki" "$dir/pki" >/dev/null
[ "$(sha256sum ./* | sort)" = "$before" ] || fail "a second run changed files"

rm ca.key
"$pki" "$dir/pki" >/dev/null 2>&1
openssl verify -CAfile ca.crt invoicing.crt boctl.crt >/dev/null || fail "certificates not remade for a new CA"
[ "$(sha256sum ca.crt)" != "$(grep ' ./ca.crt$' <<<"$before")" ] || fail "the CA was not remade"
echo "PKI ok"
