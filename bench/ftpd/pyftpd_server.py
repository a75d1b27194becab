"""pyftpdlib serving a folder on 127.0.0.1, port 0; prints the port on one line."""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
import logging

logging.basicConfig(level=logging.ERROR)
auth = DummyAuthorizer()
auth.add_anonymous(sys.argv[1], perm="elradfmwMT")
auth.add_user("u", "p", sys.argv[1], perm="elradfmwMT")
FTPHandler.authorizer = auth
server = FTPServer(("127.0.0.1", 0), FTPHandler)
server.max_cons = 1024
print(server.socket.getsockname()[1], flush=True)
server.serve_forever()
