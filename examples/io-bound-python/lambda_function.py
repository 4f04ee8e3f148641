"""I/O-bound example from seeds.md article 1: three HTTP calls to a slow API.

The article called an external HTTPS API; here a slow server with a fixed
latency per call (100 ms) runs in a daemon thread of this same process,
started at INIT on 127.0.0.1 with an ephemeral port. It lives and dies with
the execution environment's process (nothing to leak), and both sides are
plain sockets so that the CPU spent per call stays tiny: the duration is
almost all waiting, and memory (hence CPU share) barely changes it.

Event {"calls": N, "latency_ms": M} overrides (N 0..10, M 0..1000).
"""
import socket
import threading
import time

CALLS = 3
LATENCY_MS = 100
MAX_CALLS = 10
MAX_LATENCY_MS = 1000
SOCKET_TIMEOUT_S = 5.0
REQUEST_MAX = 8192
RESPONSE = b'{"ok": true}'


def _serve(listener):
    """One connection at a time (the handler calls sequentially): read the
    request head (bounded), wait the latency it asks for, answer, close."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            try:
                conn.settimeout(SOCKET_TIMEOUT_S)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < REQUEST_MAX:
                    chunk = conn.recv(1024)
                    if not chunk:
                        break
                    head += chunk
                latency_ms = LATENCY_MS
                line = head.split(b"\r\n", 1)[0].split(b" ")
                if len(line) >= 2 and line[1].startswith(b"/slow/"):
                    try:
                        latency_ms = min(MAX_LATENCY_MS, max(0, int(line[1][6:])))
                    except ValueError:
                        pass
                time.sleep(latency_ms / 1000.0)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (len(RESPONSE), RESPONSE))
            except OSError:
                pass


def _start_server():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    threading.Thread(target=_serve, args=(listener,), name="slow-api", daemon=True).start()
    return listener.getsockname()[1]


PORT = _start_server()  # INIT: once per execution environment


def _get(path):
    """A minimal HTTP/1.0 GET: the body of the response."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=SOCKET_TIMEOUT_S) as s:
        s.sendall(b"GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path.encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError("slow API answered %r" % head[:40])
    return body


def lambda_handler(event, context):
    calls, latency_ms = CALLS, LATENCY_MS
    if isinstance(event, dict):
        calls = min(MAX_CALLS, max(0, int(event.get("calls", calls))))
        latency_ms = min(MAX_LATENCY_MS, max(0, int(event.get("latency_ms", latency_ms))))
    start = time.perf_counter()
    bodies = [_get("/slow/%d" % latency_ms) for _ in range(calls)]
    return {
        "calls": calls,
        "latency_ms": latency_ms,
        "ok": all(b == RESPONSE for b in bodies),
        "elapsed_ms": round((time.perf_counter() - start) * 1000.0, 3),
    }
