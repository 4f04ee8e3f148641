"""Starts `powertune serve` with descriptors 3..1100 taken, so that every socket it opens is
numbered past FD_SETSIZE (1024), as happens once a few dozen environments are up, and checks
that it still listens and answers. Usage: serve_many_fds.py POWERTUNE STATE_DIR; exit 0 if so."""
import os
import re
import resource
import subprocess
import sys
import time
import urllib.request

pt, state = sys.argv[1], sys.argv[2]
os.makedirs(state, exist_ok=True)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), max(hard, 4096)))
held = []
while not held or held[-1] < 1100:
    fd = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(fd, True)
    held.append(fd)
log_path = os.path.join(state, "serve-many-fds.err")
with open(log_path, "w") as log:
    server = subprocess.Popen([pt, "serve", "--port", "0", "--state-dir", state],
                              close_fds=False, stdout=log, stderr=log)
for fd in held:
    os.close(fd)
answer = None
try:
    for _ in range(100):
        m = re.search(r"listening on http://[^:]+:(\d+)", open(log_path).read())
        if m or server.poll() is not None:
            break
        time.sleep(0.1)
    if m:
        url = "http://127.0.0.1:%s/2015-03-31/functions" % m.group(1)
        with urllib.request.urlopen(url, timeout=10) as r:
            answer = (r.status, r.read())
finally:
    server.terminate()
    server.wait(timeout=10)
if not answer or answer[0] != 200 or b'"Functions"' not in answer[1]:
    print("serve with sockets past FD_SETSIZE: %r; its log: %s" % (answer, open(log_path).read()[-300:]))
    sys.exit(1)
