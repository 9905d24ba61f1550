#!/usr/bin/env bash
# Mints a dev CA, a server cert (localhost, 127.0.0.1) and a client cert (CN = $2) with openssl.
set -euo pipefail
dir=${1:-certs/dev}; cn=${2:-dev-client}
mkdir -p "$dir"; cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=switchyard dev CA" \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out server.crt \
  -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth') 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" -keyout client.key -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out client.crt \
  -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=clientAuth' "$cn") 2>/dev/null
rm -f server.csr client.csr ca.srl
echo "minted in $dir: ca.crt server.crt server.key client.crt client.key (client CN=$cn)"
