"""A minimal SMTP server with STARTTLS (Python's ssl module), for tests.

Usage: smtp_server.py PORT CERT KEY
Prints "READY" once listening. Serves one connection: greeting, EHLO
(offering STARTTLS only before TLS), STARTTLS, QUIT; prints "TLS VERSION"
after the upgrade and "QUIT" when the client quits. Accepts no mail.
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
sock, tls = conn, False
sock.sendall(b"220 smtp.test ESMTP ready\r\n")
reader = sock.makefile("rb")
while True:
    line = reader.readline()
    if not line:
        break
    command = line.strip().upper()
    if command.startswith(b"EHLO"):
        offer = b"" if tls else b"250-STARTTLS\r\n"
        sock.sendall(b"250-smtp.test\r\n" + offer + b"250 8BITMIME\r\n")
    elif command == b"STARTTLS" and not tls:
        sock.sendall(b"220 go ahead\r\n")
        sock = context.wrap_socket(conn, server_side=True)
        tls = True
        reader = sock.makefile("rb")
        print("TLS " + sock.version(), flush=True)
    elif command == b"QUIT":
        sock.sendall(b"221 bye\r\n")
        print("QUIT", flush=True)
        break
    else:
        sock.sendall(b"502 not implemented\r\n")
sock.close()
