"""A TLS 1.2 server (Python's ssl module for the handshake) that sends a
warning alert other than close_notify among its application data.

Usage: tls_alert.py PORT CERT KEY ALERT LEVEL THEN
Prints "READY" once listening. For one connection: completes the handshake
with AES128-GCM, then writes by itself (from the session's key material,
learnt through the key log) the records "before\\n" and an alert of LEVEL
(1 warning, 2 fatal) with description ALERT (e.g. 90 user_canceled, 100
no_renegotiation, 40 handshake_failure), then with THEN "data": the records
"after\\n" and close_notify, and waits for the peer to close; with THEN
"close": closes the TCP connection. Python's ssl module cannot
send an arbitrary alert, hence the hand-made records.
"""
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import tempfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
alert, level, then = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
keylog = os.path.join(tempfile.mkdtemp(), "keys.log")
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
context.keylog_filename = keylog
listener = socket.create_server(("127.0.0.1", port))
print("READY", flush=True)
sock, _ = listener.accept()

# Handshake over memory BIOs, so the ServerHello (server random) is seen.
inbio, outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = context.wrap_bio(inbio, outbio, server_side=True)
sent = b""
while True:
    try:
        tls.do_handshake()
        done = True
    except ssl.SSLWantReadError:
        done = False
    out = outbio.read()
    if out:
        sent += out
        sock.sendall(out)
    if done:
        break
    data = sock.recv(65536)
    if not data:
        sys.exit("peer closed during the handshake")
    inbio.write(data)

# Server random: first record is the ServerHello (5 header, 4 handshake
# header, 2 version, then 32 random bytes).
assert sent[0] == 22 and sent[5] == 2
server_random = sent[11:43]
client_random = master = None
for line in open(keylog):
    parts = line.split()
    if len(parts) == 3 and parts[0] == "CLIENT_RANDOM":
        client_random, master = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
assert master is not None


def p_sha256(secret, seed, n):
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:n]


block = p_sha256(master, b"key expansion" + server_random + client_random, 40)
server_key, server_salt = block[16:32], block[36:40]
aead = AESGCM(server_key)
seq = 1   # The server's Finished was record 0 under these keys.


def record(ctype, payload):
    global seq
    explicit = struct.pack(">Q", seq)
    aad = explicit + struct.pack(">BHH", ctype, 0x0303, len(payload))
    body = explicit + aead.encrypt(server_salt + explicit, payload, aad)
    seq += 1
    return struct.pack(">BHH", ctype, 0x0303, len(body)) + body


out = record(23, b"before\n") + record(21, bytes([level, alert]))
if then == "data":
    out += record(23, b"after\n") + record(21, bytes([1, 0]))
sock.sendall(out)
print("SENT", flush=True)
if then == "close":
    sock.close()
    print("DONE", flush=True)
    sys.exit(0)
try:
    while sock.recv(65536):
        pass
except OSError:
    pass
print("DONE", flush=True)
