"""A TLS server (Python's ssl module, over memory buffers) that cuts the
connection in the middle of a record, for truncation tests.

Usage: tls_truncator.py PORT CERT KEY
Prints "READY" once listening. For one connection: completes the
handshake, sends one whole record holding "whole line\\n", then half of a
second record, and closes the TCP connection (no close_notify).
"""
import socket
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.maximum_version = ssl.TLSVersion.TLSv1_2
listener = socket.create_server(("127.0.0.1", port))
print("READY", flush=True)
raw, _ = listener.accept()
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = context.wrap_bio(incoming, outgoing, server_side=True)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        raw.sendall(outgoing.read())
        data = raw.recv(65536)
        if not data:
            sys.exit("peer closed during the handshake")
        incoming.write(data)
raw.sendall(outgoing.read())
tls.write(b"whole line\n")
whole = outgoing.read()
tls.write(b"this record is cut in the middle\n")
cut = outgoing.read()
raw.sendall(whole + cut[: len(cut) // 2])
raw.shutdown(socket.SHUT_WR)
print("CUT", flush=True)
raw.recv(1)
raw.close()
