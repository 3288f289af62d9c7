#!/usr/bin/env bash
# test/make-certs.sh DIR: generates the test PKI with openssl into DIR
# (idempotent: does nothing when DIR/done exists).
#   ca.pem/ca.key         test CA (trusted by the tests in the Wine prefix)
#   server.pem/.key/.pfx  server cert for localhost and 127.0.0.1 (RSA)
#   client.pem/.key/.pfx  client cert (clientAuth)
#   other-ca.pem          a CA that is never trusted
#   untrusted.pem/.key    server cert for localhost signed by other-ca
# PFX files have an empty password unless noted.
set -eu
dir=${1:?usage: make-certs.sh DIR}
[ -f "$dir/done" ] && exit 0
mkdir -p "$dir"
cd "$dir"
days=3650
subj() { echo "/CN=$1/O=schannel tests"; }

make_ca() {  # name cn
    openssl req -x509 -newkey rsa:2048 -nodes -days $days -subj "$(subj "$2")" \
        -keyout "$1.key" -out "$1.pem" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# make_leaf name ca cn eku san
make_leaf() {
    openssl req -newkey rsa:2048 -nodes -subj "$(subj "$3")" \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$4" > "$1.ext"
    [ -n "$5" ] && printf 'subjectAltName=%s\n' "$5" >> "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
        -days $days -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    openssl pkcs12 -export -in "$1.pem" -inkey "$1.key" -out "$1.pfx" \
        -passout pass: -name "$1" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

make_ca ca "schannel test CA"
make_ca other-ca "schannel untrusted CA"
make_leaf server ca localhost serverAuth "DNS:localhost,IP:127.0.0.1"
make_leaf client ca "schannel test client" clientAuth ""
make_leaf untrusted other-ca localhost serverAuth "DNS:localhost,IP:127.0.0.1"
touch done
