"""An HTTP server of certificate revocation lists, for tests.

Usage: crl_server.py PORT DIR
Prints "READY" once listening on 127.0.0.1:PORT, then "GET PATH"
(flushed) for each request. GET /ANY/PATH/NAME answers the file DIR/NAME
(a DER CRL, as application/pkix-crl), or 404 when there is none. A path
that starts with /silent/ is never answered: the connection stays open
without a response, as with a network that drops the request.
"""
import http.server
import os
import sys
import threading

port, root = int(sys.argv[1]), sys.argv[2]
never = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        print("GET %s" % self.path, flush=True)
        if self.path.startswith("/silent/"):
            never.wait()
            return
        try:
            with open(os.path.join(root, os.path.basename(self.path)), "rb") as f:
                body = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
print("READY", flush=True)
server.serve_forever()
