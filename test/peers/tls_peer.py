"""A TLS echo server or client built on Python's ssl module: the Python
peer of the interop matrix and the certificate-failure tests.

Usage:
  tls_peer.py server PORT CERT KEY [options]
      Prints "READY" once listening, then serves connections one after
      the other: prints "TLS VERSION ?CLIENTCERT? SNI=NAME" after each
      handshake (NAME is the client's server_name extension, "-" when it
      sent none), or
      "HANDSHAKE-ERROR TEXT"), sends --send DATA at once if given, then
      echoes everything until the client closes, and prints "CLOSED".
  tls_peer.py client PORT CAFILE PAYLOAD [options]
      Connects to localhost:PORT, verifying the server with CAFILE, sends
      the file PAYLOAD while reading the echo back, and prints
      "OK LENGTH CRC32" when the echo equals the file, else "MISMATCH ...".
Options:
  --tls 1.2|1.3        pin the protocol version
  --chain FILE         server: certificates sent after CERT
  --cafile FILE        server: ask for a client certificate, verify with FILE
  --require            server: with --cafile, refuse clients without one
  --send DATA          server: send DATA right after the handshake
  --cert FILE --key F  client: client certificate
"""
import argparse
import os
import socket
import ssl
import sys
import tempfile
import threading
import zlib

VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def pin(context, version):
    if version:
        context.minimum_version = VERSIONS[version]
        context.maximum_version = VERSIONS[version]


def serve(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pin(context, args.tls)
    certfile = args.cert
    if args.chain:
        # load_cert_chain wants the leaf and its chain in one file.
        fd, certfile = tempfile.mkstemp(suffix=".pem")
        with os.fdopen(fd, "wb") as out:
            for name in (args.cert, args.chain):
                with open(name, "rb") as f:
                    out.write(f.read())
    context.load_cert_chain(certfile, args.key)
    if args.chain:
        os.unlink(certfile)
    if args.cafile:
        context.load_verify_locations(args.cafile)
        context.verify_mode = ssl.CERT_REQUIRED if args.require else ssl.CERT_OPTIONAL
    sni = {}

    def note_sni(sock, name, ctx):
        sni["name"] = name
    context.sni_callback = note_sni
    listener = socket.create_server(("127.0.0.1", args.port))
    print("READY", flush=True)
    while True:
        raw, _ = listener.accept()
        sni.clear()
        try:
            tls = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("HANDSHAKE-ERROR %s" % e, flush=True)
            raw.close()
            continue
        peer = tls.getpeercert()
        print("TLS %s%s SNI=%s" % (tls.version(),
              " CLIENTCERT" if peer else "", sni.get("name") or "-"),
              flush=True)
        try:
            if args.send:
                tls.sendall(args.send.encode())
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                tls.sendall(data)
        except (ssl.SSLError, OSError) as e:
            print("ERROR %s" % e, flush=True)
        try:
            tls.close()
        except OSError:
            pass
        print("CLOSED", flush=True)


def client(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    pin(context, args.tls)
    context.load_verify_locations(args.cafile)
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    with open(args.payload, "rb") as f:
        payload = f.read()
    raw = socket.create_connection(("127.0.0.1", args.port))
    tls = context.wrap_socket(raw, server_hostname="localhost")
    print("TLS %s" % tls.version(), flush=True)
    # Send from a thread while this one reads the echo: neither side
    # blocks the other whatever the socket buffers hold.
    sender = threading.Thread(target=tls.sendall, args=(payload,))
    sender.start()
    received = bytearray()
    while len(received) < len(payload):
        data = tls.recv(65536)
        if not data:
            break
        received += data
    sender.join()
    tls.close()
    if received == payload:
        print("OK %d %d" % (len(received), zlib.crc32(received)), flush=True)
    else:
        print("MISMATCH %d %d" % (len(received), zlib.crc32(received)), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("port", type=int)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--tls", choices=sorted(VERSIONS))
    parser.add_argument("--chain")
    parser.add_argument("--cafile")
    parser.add_argument("--require", action="store_true")
    parser.add_argument("--send")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    if args.role == "server":
        args.cert, args.key = args.files
        serve(args)
    else:
        args.cafile, args.payload = args.files
        client(args)


if __name__ == "__main__":
    main()
