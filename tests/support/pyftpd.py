#!/usr/bin/python3
"""Starts pyftpdlib on 127.0.0.1 (or --address), port 0, for tests, and prints "PORT <n>" once listening.

pyftpdlib's own `-m pyftpdlib -p 0` cannot say which port it got; tests need it.
Run with Debian's /usr/bin/python3 (python3-pyftpdlib is installed for it only).
The server stops when stdin closes (the test process ended) or on SIGTERM.

  pyftpd.py ROOT [--user NAME --password PW] [--idle-timeout SECONDS] [--address ADDR]
"""
import argparse
import os
import signal
import sys
import threading
import warnings

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    parser.add_argument("--idle-timeout", type=float, default=300.0)
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    authorizer = DummyAuthorizer()
    authorizer.add_anonymous(args.root, perm="elradfmwMT")
    if args.user:
        authorizer.add_user(args.user, args.password, args.root, perm="elradfmwMT")

    class handler(FTPHandler):
        pass

    handler.authorizer = authorizer
    handler.timeout = args.idle_timeout
    # A refused login answers at once: tests time replies out in a fraction of a second.
    handler.auth_failed_timeout = 0
    handler.banner = "quecsim test pyftpdlib ready"
    # Active mode connects back to 127.0.0.1: allow the loopback PORT address.
    handler.permit_foreign_addresses = True
    handler.permit_privileged_ports = True

    import logging
    logging.basicConfig(level=logging.CRITICAL)

    server = FTPServer((args.address, 0), handler)
    port = server.socket.getsockname()[1]
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()

    def watch_stdin():
        try:
            while sys.stdin.read(1):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    # Nothing to flush or save: a test server just goes.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # A fixed poll timeout: with the default, a timer due "now" can make poll wait forever
    # (timeout 0 becomes -1), and the idle timeout never fires.
    server.serve_forever(timeout=0.05)


if __name__ == "__main__":
    main()
