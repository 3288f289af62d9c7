"""A TLS server (Python's ssl module) that sends data, then ends the
connection in a chosen way. For EOF tests.

Usage: tls_sender.py MODE PORT CERT KEY COUNT
Prints "READY" once listening. For one connection: sends COUNT lines
"line N\\n", then:
  notify_keepopen  sends close_notify in the same write as the last line
                   and keeps the TCP connection open until the peer closes
  tcpclose         closes the TCP connection without close_notify
  reset            waits for a line from the peer (so the peer's handshake
                   is over), then aborts the TCP connection (RST) without
                   close_notify
  records_keepopen sends each line as its own TLS record, all in one TCP
                   segment, then keeps the connection open (no close_notify)
                   until the peer closes
"""
import socket
import ssl
import struct
import sys

mode, port, cert, key, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.maximum_version = ssl.TLSVersion.TLSv1_2
listener = socket.create_server(("127.0.0.1", port))
print("READY", flush=True)
raw, _ = listener.accept()   # wrap_socket takes over its descriptor
tls = context.wrap_socket(raw, server_side=True)
data = b"".join(b"line %d\n" % i for i in range(count))
if mode == "notify_keepopen":
    # Cork, so the data and the close_notify leave in one TCP segment.
    tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    tls.sendall(data)
    plain = tls.unwrap()
    plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    print("NOTIFIED", flush=True)
    plain.recv(1)          # keep TCP open until the peer closes
elif mode == "records_keepopen":
    tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    for i in range(count):
        tls.sendall(b"line %d\n" % i)
    tls.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    print("SENT", flush=True)
    tls.recv(1)            # keep TCP open until the peer closes
elif mode == "tcpclose":
    tls.sendall(data)
    tls.shutdown(socket.SHUT_RDWR)   # TCP shutdown; no close_notify
    tls.close()
elif mode == "reset":
    tls.recv(100)
    tls.sendall(data)
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
print("DONE", flush=True)
