"""A tiny SMTP-style STARTTLS server (Python's ssl module), for tests.

Usage: starttls_server.py PORT CERT KEY
Prints "READY" once listening. For one connection: sends a greeting,
answers STARTTLS with "220 go ahead", upgrades to TLS, then echoes each
line as "tls: LINE" until the client closes.
"""
import socket
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
listener = socket.create_server(("127.0.0.1", port))
print("READY", flush=True)
conn, _ = listener.accept()
plain = conn.makefile("rb")
conn.sendall(b"220 starttls test server\r\n")
line = plain.readline().strip()
if line.upper() != b"STARTTLS":
    conn.sendall(b"500 expected STARTTLS\r\n")
    sys.exit(1)
conn.sendall(b"220 go ahead\r\n")
tls = context.wrap_socket(conn, server_side=True)
print("TLS " + tls.version(), flush=True)
reader = tls.makefile("rb")
for line in reader:
    tls.sendall(b"tls: " + line)
    print("got " + line.decode().strip(), flush=True)
print("CLOSED", flush=True)
