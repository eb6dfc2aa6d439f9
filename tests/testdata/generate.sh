#!/usr/bin/env bash
# Regenerates the provider root certificate used by the integration tests (OpenSSL 3).
# The private key is thrown away: the tests only need a valid CA certificate to register.
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj /CN=provider-root -days 36500 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout /dev/null -out ca.pem
