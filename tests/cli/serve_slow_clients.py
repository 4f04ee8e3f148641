"""Clients that trickle bytes do not hold `powertune serve`'s connections: starts it with
--connection-timeout 1 (a request must arrive within 2 s plus 1 s per 16 KiB of body) and
--max-connections 8, fills every connection with clients sending their headers or their body a
byte every 0.3 s (each byte restarts the idle timeout, so that alone never ends them) beside an
invocation running 8 s, and checks that a new client is served while that invocation runs (the
trickling clients' connections were cut), and that the invocation, longer than the deadline, is
not. Usage: serve_slow_clients.py POWERTUNE STATE_DIR; exit 0 if so."""
import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile

pt, state = sys.argv[1], sys.argv[2]
os.makedirs(state, exist_ok=True)
os.chmod(state, 0o755)  # sandboxed functions run as an unprivileged user
log_path = os.path.join(state, "serve-slow-clients.err")
with open(log_path, "w") as log:
    server = subprocess.Popen([pt, "serve", "--port", "0", "--state-dir", state,
                               "--connection-timeout", "1", "--max-connections", "8",
                               "--update-window-ms", "0"], stdout=log, stderr=log)
failures = []
stop = threading.Event()


def trickle(sock, data):
    for i in range(len(data)):
        if stop.is_set():
            return
        try:
            sock.send(data[i:i + 1])
        except OSError:
            return  # cut by the server
        time.sleep(0.3)


def request(url, body=None, timeout=10):
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


try:
    port = None
    for _ in range(100):
        m = re.search(r"listening on http://[^:]+:(\d+)", open(log_path).read())
        if m or server.poll() is not None:
            break
        time.sleep(0.1)
    if not m:
        sys.exit("serve did not start: %s" % open(log_path).read()[-300:])
    port = int(m.group(1))
    base = "http://127.0.0.1:%d/2015-03-31/functions" % port

    # A function that sleeps 8 s: longer than the 2 s deadline, which serving does not count.
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("lambda_function.py",
                   "import time\ndef lambda_handler(event, context):\n"
                   "    time.sleep(8)\n    return 'slept'\n")
    create = {"FunctionName": "sleeper", "Runtime": "python3.12", "Timeout": 10,
              "Role": "arn:aws:iam::123456789012:role/r",
              "Handler": "lambda_function.lambda_handler",
              "Code": {"ZipFile": base64.b64encode(zbuf.getvalue()).decode()}}
    request(base, json.dumps(create).encode())
    result = {}

    def invoke_sleeper():
        try:
            result["answer"] = request(base + "/sleeper/invocations", b"{}", timeout=30)
        except Exception as e:
            result["answer"] = repr(e)
    invoker = threading.Thread(target=invoke_sleeper)
    invoker.start()
    time.sleep(0.5)

    # The other 7 connections: headers, or a body, a byte at a time.
    slow = []
    for i in range(7):
        s = socket.create_connection(("127.0.0.1", port))
        if i % 2:
            data = b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200
        else:
            s.sendall(b"POST /2015-03-31/functions/sleeper/invocations HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 200\r\n\r\n")
            data = b"{" + b" " * 198 + b"}"
        t = threading.Thread(target=trickle, args=(s, data), daemon=True)
        t.start()
        slow.append(s)
    time.sleep(0.5)

    served = None
    while invoker.is_alive():
        try:
            served = request(base, timeout=2)[0]
            break
        except Exception as e:
            served = repr(e)
            time.sleep(0.2)
    if served != 200 or "answer" in result:
        failures.append("with 7 trickling clients and an invocation running, a new client was "
                        "not served before the invocation ended: %s" % served)
    invoker.join()
    if result.get("answer") != (200, b'"slept"'):
        failures.append("the 8 s invocation was not answered: %r" % (result.get("answer"),))
    stop.set()
    for s in slow:
        s.close()
finally:
    server.terminate()
    server.wait(timeout=30)
if re.search(r"runtime error|AddressSanitizer|LeakSanitizer", open(log_path).read()):
    failures.append("a sanitizer report")
if failures:
    print("; ".join(failures) + "; the server's log: " + open(log_path).read()[-600:])
    sys.exit(1)
