#!/usr/bin/env bash
# Regenerates the certificate fixtures of the registry unit tests (OpenSSL 3).
# The keys here are throw-away test keys; the private keys exist only to test that the
# contract refuses them.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# EC private key, SEC1 ("EC PRIVATE KEY") and PKCS#8 ("PRIVATE KEY").
openssl ecparam -name prime256v1 -genkey -noout -out ec-key.pem
openssl pkcs8 -topk8 -nocrypt -in ec-key.pem -out ec-key-pkcs8.pem

# Root CA (EC P-256): basicConstraints critical, CA:TRUE.
openssl req -x509 -new -key ec-key.pem -sha256 -days 36500 -subj "/CN=Test Provider Root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem

# A second root CA (RSA 2048, pathlen 1), for certificate rotation tests.
openssl genrsa -out "$tmp/ca2-key.pem" 2048 2>/dev/null
openssl req -x509 -new -key "$tmp/ca2-key.pem" -sha256 -days 36500 \
  -subj "/CN=Test Provider Root CA 2" -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
  -out ca2.pem

# Leaf certificate signed by the first CA: CA:FALSE.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/leaf-key.pem"
openssl req -new -key "$tmp/leaf-key.pem" -subj "/CN=provider.example.com" -out "$tmp/leaf.csr"
printf 'basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:provider.example.com\n' > "$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA ca.pem -CAkey ec-key.pem -CAcreateserial \
  -CAserial "$tmp/ca.srl" -days 36500 -sha256 -extfile "$tmp/leaf.ext" -out leaf.pem 2>/dev/null

# Self-signed certificate without any basicConstraints extension.
cat > "$tmp/nobc.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = No Basic Constraints
[ext]
subjectKeyIdentifier = hash
CNF
openssl req -x509 -new -key "$tmp/leaf-key.pem" -sha256 -days 36500 -config "$tmp/nobc.cnf" \
  -out no-basic-constraints.pem
