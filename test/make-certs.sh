#!/usr/bin/env bash
# test/make-certs.sh DIR: generates the test PKI with openssl into DIR
# (idempotent: each group is made once, marked by DIR/done, DIR/done-interop).
#   ca.pem/ca.key         test CA (trusted by the tests in the Wine prefix)
#   server.pem/.key/.pfx  server cert for localhost and 127.0.0.1 (RSA)
#   client.pem/.key/.pfx  client cert (clientAuth)
#   other-ca.pem          a CA that is never trusted
#   untrusted.pem/.key    server cert for localhost signed by other-ca
# Interop and certificate-failure set (server certs for localhost and
# 127.0.0.1 unless noted):
#   server-ec.pem/.key/.pfx  ECDSA P-256 server cert signed by ca
#   expired.pem/.key      signed by ca, valid 2020-01-01 .. 2021-01-01
#   notyet.pem/.key       signed by ca, valid from 2090-01-01
#   cnonly.pem/.key       signed by ca, CN=localhost, no subjectAltName
#   selfsigned.pem/.key   self-signed leaf (not a CA), never trusted
#   wrongusage.pem/.key   signed by ca, extendedKeyUsage clientAuth only
#   inter.pem/.key        intermediate CA signed by ca
#   leaf-inter.pem/.key   signed by inter (served with or without inter.pem)
# Name-check set:
#   longname.pem/.key/.pfx  signed by ca, its only dNSName is 511 characters
#                         long (8 labels of 60 "a", then 23 "b")
# Extra set:
#   client-pw.pfx         client.pem/.key with the password "s3cret pass"
#   badsig.pem/.key       server.pem with one byte of its signature changed
# PFX files have an empty password unless noted.
#
# test/make-certs.sh DIR revocation SUB CRLURL OFFLINEURL SILENTURL: the
# revocation set, made by a test at run time (the URLs hold the port of
# its CRL server) into DIR/SUB, from ca (DIR must hold the set above):
#   revoked.pem           server cert whose CRL distribution point is
#                         CRLURL, revoked (keyCompromise) in ca.crl
#   good.pem              the same, not revoked
#   offline.pem           its CRL distribution point is OFFLINEURL
#   silent.pem            its CRL distribution point is SILENTURL
#   leaf.key              the key of all four
#   ca.crl                ca's CRL (DER) listing revoked.pem, 30 days
set -eu
dir=${1:?usage: make-certs.sh DIR ?revocation SUB CRLURL OFFLINEURL SILENTURL?}
mkdir -p "$dir"
cd "$dir"
days=3650
subj() { echo "/CN=$1/O=schannel tests"; }
san="DNS:localhost,IP:127.0.0.1"

make_ca() {  # name cn
    openssl req -x509 -newkey rsa:2048 -nodes -days $days -subj "$(subj "$2")" \
        -keyout "$1.key" -out "$1.pem" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# write_ext name eku san: the extension file of a leaf.
write_ext() {
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$2" > "$1.ext"
    if [ -n "$3" ]; then printf 'subjectAltName=%s\n' "$3" >> "$1.ext"; fi
}

# rsa_key file: a 2048-bit RSA key whose private exponent and CRT values
# have their full length. Wine 10 cannot sign with a key from a PFX when
# one of them is shorter (a leading zero byte, about 2% of keys): the
# handshake then fails with "Public key signing has failed".
rsa_key() {
    while :; do
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
        # INTEGERs of RSAPrivateKey: version n e d p q dp dq qinv.
        short=$(openssl rsa -in "$1" -outform DER -traditional 2>/dev/null \
            | openssl asn1parse -inform DER \
            | sed -n 's/.*l= *\([0-9]*\) prim: INTEGER.*/\1/p' \
            | awk 'NR == 4 && $1 < 256 || NR >= 5 && $1 < 128' | wc -l)
        [ "$short" -eq 0 ] && return
    done
}

# make_leaf name ca cn eku san ?keyalg?
make_leaf() {
    if [ "${6:-rsa}" = ec ]; then
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    else
        rsa_key "$1.key"
    fi
    openssl req -new -key "$1.key" -subj "$(subj "$3")" -out "$1.csr" 2>/dev/null
    write_ext "$1" "$4" "$5"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
        -days $days -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    openssl pkcs12 -export -in "$1.pem" -inkey "$1.key" -out "$1.pfx" \
        -passout pass: -name "$1" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

# write_ca_config DBDIR: the `openssl ca` configuration DBDIR/ca.cnf for
# the test CA, its database and serials (and CRL numbers) kept in DBDIR.
write_ca_config() {
    cat > "$1/ca.cnf" <<CNF
[ca]
default_ca = testca
[testca]
database = $1/index.txt
new_certs_dir = $1
serial = $1/serial
crlnumber = $1/crlnumber
default_md = sha256
default_days = $days
default_crl_days = 30
policy = anything
unique_subject = no
[anything]
commonName = supplied
organizationName = optional
CNF
}

# make_dated name startdate enddate: a server leaf signed by ca with the
# given validity (YYYYMMDDHHMMSSZ). `openssl ca` sets any dates on every
# OpenSSL 3 (x509 -not_before only exists from 3.4 on).
make_dated() {
    rsa_key "$1.key"
    openssl req -new -key "$1.key" -subj "$(subj localhost)" -out "$1.csr" 2>/dev/null
    write_ext "$1" serverAuth "$san"
    mkdir -p ca-db
    : > ca-db/index.txt
    [ -f ca-db/serial ] || echo 1000 > ca-db/serial
    write_ca_config ca-db
    openssl ca -batch -notext -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key \
        -in "$1.csr" -out "$1.pem" -startdate "$2" -enddate "$3" \
        -extfile "$1.ext" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

# make_revocation SUB CRLURL OFFLINEURL SILENTURL: the revocation set.
make_revocation() {
    rm -rf "$1"
    mkdir -p "$1/db"
    cd "$1"
    : > db/index.txt
    echo 2000 > db/serial
    echo 2000 > db/crlnumber
    write_ca_config db
    local ca="-config db/ca.cnf -cert ../ca.pem -keyfile ../ca.key"
    rsa_key leaf.key
    openssl req -new -key leaf.key -subj "$(subj localhost)" -out leaf.csr 2>/dev/null
    local name url
    for name in revoked good offline silent; do
        case $name in
            offline) url=$3 ;;
            silent) url=$4 ;;
            *) url=$2 ;;
        esac
        write_ext "$name" serverAuth "$san"
        echo "crlDistributionPoints=URI:$url" >> "$name.ext"
        openssl ca -batch -notext $ca -in leaf.csr -out "$name.pem" \
            -extfile "$name.ext" 2>/dev/null
        rm -f "$name.ext"
    done
    openssl ca $ca -revoke revoked.pem -crl_reason keyCompromise 2>/dev/null
    openssl ca -gencrl $ca -out ca-crl.pem 2>/dev/null
    openssl crl -in ca-crl.pem -outform DER -out ca.crl
    rm -f leaf.csr ca-crl.pem
}

if [ "${2:-}" = revocation ]; then
    [ $# -eq 6 ] || { echo "usage: make-certs.sh DIR revocation SUB CRLURL OFFLINEURL SILENTURL" >&2; exit 2; }
    make_revocation "$3" "$4" "$5" "$6"
    exit 0
fi

if [ ! -f done ]; then
    make_ca ca "schannel test CA"
    make_ca other-ca "schannel untrusted CA"
    make_leaf server ca localhost serverAuth "$san"
    make_leaf client ca "schannel test client" clientAuth ""
    make_leaf untrusted other-ca localhost serverAuth "$san"
    touch done
fi

if [ ! -f done-interop ]; then
    make_leaf server-ec ca localhost serverAuth "$san" ec
    make_dated expired 20200101000000Z 20210101000000Z
    make_dated notyet 20900101000000Z 20910101000000Z
    make_leaf cnonly ca localhost serverAuth ""
    make_leaf wrongusage ca localhost clientAuth "$san"
    # A self-signed leaf: CA:FALSE, server usage, right names.
    rsa_key selfsigned.key
    openssl req -x509 -key selfsigned.key -days $days -subj "$(subj localhost)" \
        -out selfsigned.pem \
        -addext basicConstraints=critical,CA:FALSE \
        -addext extendedKeyUsage=serverAuth -addext "subjectAltName=$san" 2>/dev/null
    # An intermediate CA under ca, and a server leaf under it.
    rsa_key inter.key
    openssl req -new -key inter.key -subj "$(subj "schannel test intermediate")" \
        -out inter.csr 2>/dev/null
    printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > inter.ext
    openssl x509 -req -in inter.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
        -days $days -extfile inter.ext -out inter.pem 2>/dev/null
    rm -f inter.csr inter.ext
    make_leaf leaf-inter inter localhost serverAuth "$san"
    touch done-interop
fi

if [ ! -f done-names ]; then
    long=$(printf 'a%.0s' $(seq 60))
    long="$long.$long.$long.$long.$long.$long.$long.$long.$(printf 'b%.0s' $(seq 23))"
    make_leaf longname ca longname serverAuth "DNS:$long"
    touch done-names
fi

if [ ! -f done-extra ]; then
    openssl pkcs12 -export -in client.pem -inkey client.key -out client-pw.pfx \
        -passout 'pass:s3cret pass' -name client 2>/dev/null
    # The signature is the last bytes of the DER certificate.
    openssl x509 -in server.pem -outform DER -out badsig.der
    size=$(stat -c %s badsig.der)
    last=$(od -An -tu1 -j $((size - 1)) -N1 badsig.der | tr -d ' ')
    printf "\\$(printf %03o $(( (last + 1) % 256 )))" |
        dd of=badsig.der bs=1 seek=$((size - 1)) conv=notrunc status=none
    openssl x509 -inform DER -in badsig.der -out badsig.pem
    cp server.key badsig.key
    rm -f badsig.der
    touch done-extra
fi
