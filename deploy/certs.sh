#!/usr/bin/env bash
# A private CA and a server certificate for the platform's API, for a fresh install without a real certificate.
# Usage: deploy/certs.sh DIR [IP or DNS name ...]   (default names: 127.0.0.1, ::1, localhost)
# Writes DIR/ca.pem (give it to clients: --ca / $HOHHOT_CA), DIR/ca.key, DIR/server.pem and DIR/server.key
# (Platform__TlsCertificateFile / Platform__TlsKeyFile). Keys are 0600; an existing CA and certificate are kept.
# A real certificate replaces these by configuration alone: point the two Platform settings at it.
set -euo pipefail
dir="${1:?usage: deploy/certs.sh DIR [IP or DNS name ...]}"; shift || true
names=("$@"); (( ${#names[@]} )) || names=(127.0.0.1 ::1 localhost)
command -v openssl >/dev/null || { apt-get install -y -qq openssl >/dev/null; }
mkdir -p "$dir"; chmod 0700 "$dir"
cd "$dir"

if [[ ! -s ca.pem || ! -s ca.key ]]; then
    (umask 077; openssl genrsa -out ca.key 3072 2>/dev/null)
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=HohhotCluster.Telemetry/CN=HohhotCluster.Telemetry private CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
fi

if [[ ! -s server.pem || ! -s server.key ]]; then
    san=""
    for name in "${names[@]}"; do
        if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+="${san:+,}IP:$name"; else san+="${san:+,}DNS:$name"; fi
    done
    (umask 077; openssl genrsa -out server.key 2048 2>/dev/null)
    openssl req -new -key server.key -subj "/O=HohhotCluster.Telemetry/CN=${names[0]}" -out server.csr
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 825 -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr server.ext
fi
echo "$dir: ca.pem, server.pem, server.key"
