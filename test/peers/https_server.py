"""An HTTPS/1.1 test server (Python's http.server and ssl), for tests.

Usage: https_server.py PORT CERT KEY ROOT
Prints "READY" once listening and "CONNECTION N" (flushed) each time it
accepts a TLS connection, so a test can count the connections a series
of requests used. Keeps connections alive between requests.
  GET/HEAD /files/NAME   the file ROOT/NAME, with Content-Length
  POST /echo             the request body back, with its Content-Type
  GET /redirect          302 to /files/small.bin
  GET /slow              waits 60 s before answering (for client timeouts)
"""
import http.server
import os
import ssl
import sys
import threading
import time

port, cert, key, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()
connections = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        """Counts the TLS connections (one handler per connection)."""
        global connections
        super().setup()
        with lock:
            connections += 1
            print("CONNECTION %d" % connections, flush=True)

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="application/octet-stream", extra=()):
        """Sends one complete response; HEAD gets the headers only."""
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/files/"):
            name = os.path.basename(self.path[len("/files/"):])
            try:
                with open(os.path.join(root, name), "rb") as f:
                    self.reply(200, f.read())
            except OSError:
                self.reply(404, b"not found\n", "text/plain")
        elif self.path == "/redirect":
            self.reply(302, b"moved\n", "text/plain",
                       [("Location", "/files/small.bin")])
        elif self.path == "/slow":
            time.sleep(60)
            self.reply(200, b"late\n", "text/plain")
        else:
            self.reply(404, b"not found\n", "text/plain")

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/echo":
            self.reply(200, body, self.headers.get("Content-Type", ""))
        else:
            self.reply(404, b"not found\n", "text/plain")


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
server.socket = context.wrap_socket(server.socket, server_side=True)
print("READY", flush=True)
server.serve_forever()
