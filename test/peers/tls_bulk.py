"""A TLS peer (Python's ssl module) for bulk transfers with checksums.

Usage: tls_bulk.py ROLE MODE PORT CERT KEY [COUNT [CHUNK]]
  ROLE  server: listen on 127.0.0.1:PORT, serve one connection
        client: connect to 127.0.0.1:PORT (no verification: the product
                under test is the server)
  MODE  sink:   read until the peer's close_notify (or TCP close), then
                print "RECEIVED <bytes> <crc32>" and how the stream ended:
                "END close_notify", or "END tcp" when the TCP connection
                closed without one
        lazysink: like sink, but after the handshake print "WAITING" and
                read nothing until a line arrives on stdin (so the peer's
                writes back up)
        source: send COUNT bytes in writes of CHUNK bytes (default 64 KiB),
                print "SENT <bytes> <crc32>", then send close_notify and
                close
A server prints "READY" once listening. CRC-32 as zlib computes it (the
same as Tcl's zlib crc32), in decimal.
"""
import os
import socket
import ssl
import sys
import zlib

role, mode, port, cert, key = sys.argv[1:6]
port = int(port)
count = int(sys.argv[6]) if len(sys.argv) > 6 else 0
chunk = int(sys.argv[7]) if len(sys.argv) > 7 else 65536

if role == "server":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", port))
    print("READY", flush=True)
    raw, _ = listener.accept()
    tls = context.wrap_socket(raw, server_side=True,
                              suppress_ragged_eofs=False)
else:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port))
    tls = context.wrap_socket(raw, suppress_ragged_eofs=False)

if mode == "lazysink":
    tls.do_handshake()
    print("WAITING", flush=True)
    sys.stdin.readline()
if mode in ("sink", "lazysink"):
    total, crc, end = 0, 0, "close_notify"
    while True:
        try:
            data = tls.recv(1 << 20)
        except (ssl.SSLEOFError, ConnectionResetError):
            end = "tcp"         # ragged EOF: no close_notify came
            break
        if not data:
            break               # the peer's close_notify
        total += len(data)
        crc = zlib.crc32(data, crc)
    print("RECEIVED %d %d" % (total, crc), flush=True)
    print("END %s" % end, flush=True)
    try:
        tls.unwrap()
    except (ssl.SSLError, OSError):
        pass
else:
    # A pattern that is not periodic at record or chunk boundaries, so a
    # lost, duplicated or reordered block changes the checksum.
    block = os.urandom(1 << 20)
    sent, crc = 0, 0
    while sent < count:
        piece = block[sent % len(block):][:min(chunk, count - sent)]
        tls.sendall(piece)
        crc = zlib.crc32(piece, crc)
        sent += len(piece)
    print("SENT %d %d" % (sent, crc), flush=True)
    try:
        tls.unwrap()
    except (ssl.SSLError, OSError):
        pass
tls.close()
print("DONE", flush=True)
