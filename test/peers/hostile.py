"""Hostile and broken TLS peers, for hostile.test.

Usage: hostile.py server MODE PORT ?SECONDS?  (prints "READY", serves one client)
       hostile.py client MODE PORT ?SECONDS?  (connects to 127.0.0.1:PORT)
Prints "DONE" when its part is over; then waits for the other side to
close (never closes first unless the mode says so).

Modes (what the peer does after the connection is made; a server first
reads the client's first flight, a client first sends a real ClientHello
where the mode needs one):
  http        answers like a plain HTTP server / sends an HTTP request
  random      sends 4 KiB of random bytes
  bigrecord   sends a TLS record header announcing 65535 bytes (more than
              the 16384 + 2048 a TLS record may hold), then 1 KiB
  hangup      closes the connection right after the ClientHello
  alert       sends a fatal handshake_failure alert
  silent      stays silent (until the other side closes, or SECONDS
              have passed: then it closes)
"""
import os
import socket
import ssl
import sys

HTTP_REPLY = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
              b"Content-Length: 11\r\nConnection: close\r\n\r\nbad request")
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
# Fatal (2) handshake_failure (40) alert in a TLS 1.2 record.
FATAL_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40])
BIG_RECORD = bytes([0x16, 0x03, 0x03, 0xff, 0xff]) + os.urandom(1024)


def client_hello():
    """A real ClientHello, from Python's ssl module in memory."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def act(conn, mode, role):
    if role == "server":
        conn.recv(65536)          # the ClientHello (or whatever came)
    elif mode in ("hangup", "silent", "bigrecord", "random", "alert"):
        conn.sendall(client_hello())
        if mode == "hangup":
            conn.close()
            return False
    if mode == "http":
        conn.sendall(HTTP_REPLY if role == "server" else HTTP_REQUEST)
    elif mode == "random":
        conn.sendall(os.urandom(4096))
    elif mode == "bigrecord":
        conn.sendall(BIG_RECORD)
    elif mode == "hangup":
        conn.close()
        return False
    elif mode == "alert":
        conn.sendall(FATAL_ALERT)
    return True


def main():
    role, mode, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if role == "server":
        listener = socket.create_server(("127.0.0.1", port))
        print("READY", flush=True)
        conn, _ = listener.accept()
    else:
        conn = socket.create_connection(("127.0.0.1", port))
    open_ = act(conn, mode, role)
    print("DONE", flush=True)
    if open_ and mode == "silent" and len(sys.argv) > 4:
        conn.settimeout(float(sys.argv[4]))
    if open_:
        # Keep the connection until the other side closes it.
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        conn.close()
    print("CLOSED", flush=True)


if __name__ == "__main__":
    main()
