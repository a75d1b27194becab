"""N concurrent FTP sessions, all logged in at once, each moving 1 MiB (half download, half
upload), every byte checked. Prints one JSON line with the figures."""
import ftplib
import hashlib
import io
import json
import os
import sys
import threading
import time

port, root, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
size = 1024 * 1024
barrier = threading.Barrier(n + 1)
errors = []
payloads = [hashlib.sha256(b"%d" % i).digest() * (size // 32) for i in range(n)]
for i in range(0, n, 2):
    with open(os.path.join(root, "c%03d.bin" % i), "wb") as f:
        f.write(payloads[i])


def session(i):
    try:
        c = ftplib.FTP(timeout=60)
        c.connect("127.0.0.1", port)
        c.login("u", "p")
        c.voidcmd("TYPE I")
        barrier.wait(timeout=60)  # every session is open before any byte moves
        if i % 2 == 0:
            buf = io.BytesIO()
            c.retrbinary("RETR c%03d.bin" % i, buf.write, blocksize=65536)
            if buf.getvalue() != payloads[i]:
                errors.append("session %d: downloaded bytes differ" % i)
        else:
            c.storbinary("STOR u%03d.bin" % i, io.BytesIO(payloads[i]), blocksize=65536)
        c.quit()
    except Exception as e:  # noqa: BLE001 - counted and reported
        errors.append("session %d: %r" % (i, e))
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass


threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
try:
    barrier.wait(timeout=60)
except threading.BrokenBarrierError:
    pass
t0 = time.monotonic()
for t in threads:
    t.join(120)
elapsed = time.monotonic() - t0
for i in range(1, n, 2):
    p = os.path.join(root, "u%03d.bin" % i)
    if not os.path.exists(p) or open(p, "rb").read() != payloads[i]:
        errors.append("session %d: uploaded file differs" % i)
print(json.dumps({"sessions": n, "ok": n - len({e.split(':')[0] for e in errors}),
                  "seconds": round(elapsed, 3),
                  "mib_per_s": round(n * size / elapsed / 1048576, 1),
                  "errors": errors[:5]}))
