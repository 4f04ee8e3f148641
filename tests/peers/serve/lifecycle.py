#!/usr/bin/python3
"""boto3 checks around a `powertune serve` process's life, for tests/cli/test_serve.sh.

  lifecycle.py setup ENDPOINT FILE    create state (versions, alias, concurrency, new code),
                                      record what the server acknowledged in FILE
  lifecycle.py verify ENDPOINT FILE   after kill -9 and a restart: the same state, and it runs
  lifecycle.py robust ENDPOINT        idle half-sent requests and garbage do not stall others;
                                      a slow invocation does not block a second client

Credentials from the environment. Prints TAP lines "ok N - ..." / "not ok N - ...".
"""
import io
import json
import socket
import sys
import threading
import time
import zipfile
from urllib.parse import urlparse

import boto3
from botocore.config import Config

MODE, ENDPOINT = sys.argv[1], sys.argv[2]
N = 0


def check(ok, what):
    global N
    N += 1
    print("%s %d - %s: %s" % ("ok" if ok else "not ok", N, MODE, what), flush=True)


def make_zip(source):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("lambda_function.py", source)
    return b.getvalue()


CODE = '''
import os, time
def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("sleep"):
        time.sleep(event["sleep"])
    return {"code": %d, "A": os.environ.get("AA"), "version": context.function_version}
'''

lam = boto3.client("lambda", endpoint_url=ENDPOINT, region_name="us-east-1",
                   config=Config(retries={"max_attempts": 0}, read_timeout=60))
name = "persisted"


def wait_updated():
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})


def invoke(qualifier=None, payload=b"{}"):
    kw = {"FunctionName": name, "Payload": payload}
    if qualifier:
        kw["Qualifier"] = qualifier
    r = lam.invoke(**kw)
    return r["ExecutedVersion"], json.loads(r["Payload"].read())


if MODE == "setup":
    lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/r",
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": make_zip(CODE % 1)},
                        Timeout=10)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    lam.update_function_configuration(FunctionName=name, MemorySize=256, Environment={"Variables": {"AA": "v1"}})
    wait_updated()
    v1 = lam.publish_version(FunctionName=name, Description="first")
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(CODE % 2))
    wait_updated()
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"AA": "latest"}})
    wait_updated()
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="pinned")
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    latest = lam.get_function_configuration(FunctionName=name)
    check(invoke("live") == ("1", {"code": 1, "A": "v1", "version": "1"}), "alias live runs version 1")
    check(invoke() == ("$LATEST", {"code": 2, "A": "latest", "version": "$LATEST"}), "$LATEST runs the new code")
    state = {"latest": latest, "v1": v1}
    with open(sys.argv[3], "w") as f:
        json.dump(state, f)
elif MODE == "verify":
    with open(sys.argv[3]) as f:
        state = json.load(f)
    latest = lam.get_function_configuration(FunctionName=name)
    keys = ["CodeSha256", "CodeSize", "RevisionId", "LastModified", "MemorySize", "Environment", "Timeout"]
    check(all(latest[k] == state["latest"][k] for k in keys),
          "$LATEST configuration and code identity survive kill -9")
    v1 = lam.get_function_configuration(FunctionName=name, Qualifier="1")
    check(all(v1[k] == state["v1"][k] for k in keys + ["Description"]), "version 1 survives, frozen")
    alias = lam.get_alias(FunctionName=name, Name="live")
    check(alias["FunctionVersion"] == "1" and alias["Description"] == "pinned", "alias survives")
    check(lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") == 5,
          "reserved concurrency survives")
    check(invoke("live") == ("1", {"code": 1, "A": "v1", "version": "1"}), "alias live still runs version 1's code")
    check(invoke() == ("$LATEST", {"code": 2, "A": "latest", "version": "$LATEST"}), "$LATEST still runs the new code")
    v2 = lam.publish_version(FunctionName=name)
    check(v2["Version"] == "2", "version numbering continues after the restart")
    lam.delete_alias(FunctionName=name, Name="live")
    lam.delete_function(FunctionName=name)
    check(name not in [f["FunctionName"] for f in lam.list_functions()["Functions"]], "cleanup")
elif MODE == "robust":
    u = urlparse(ENDPOINT)
    idle = []
    for _ in range(8):  # half-sent requests that then go silent
        s = socket.create_connection((u.hostname, u.port))
        s.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        idle.append(s)
    g = socket.create_connection((u.hostname, u.port))
    g.sendall(b"\x00\x01garbage \r\n\r\n")
    g.settimeout(5)
    try:
        reply = g.recv(100)
    except OSError:
        reply = b""
    check(reply == b"" or reply.startswith(b"HTTP/1.1 4"), "a garbage request line is refused (%r)" % reply[:20])
    big = socket.create_connection((u.hostname, u.port))
    big.sendall(b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
    big.settimeout(5)
    try:
        first = big.recv(100)
        closed = first == b"" or first.startswith(b"HTTP/1.1 4")
    except socket.timeout:
        closed = False
    except OSError:
        closed = True  # reset
    check(closed, "a body declared far over the limit is not read")
    # A client that waits for "100 Continue" (curl does above 1 MB) is answered 413 at once,
    # without sending its 7 MB (it was told to go on, then answered once all had come).
    waiting = socket.create_connection((u.hostname, u.port))
    waiting.sendall(b"POST /2015-03-31/functions/any/invocations HTTP/1.1\r\nHost: x\r\n"
                    b"Expect: 100-continue\r\nContent-Length: 7000000\r\n\r\n")
    waiting.settimeout(5)
    try:
        first = waiting.recv(4096)
    except OSError as e:
        first = repr(e).encode()
    waiting.close()
    check(first.startswith(b"HTTP/1.1 413") and b"RequestEntityTooLargeException" in first,
          "Expect: 100-continue with a body over the limit: 413 before the body (%r)" % first[:30])
    lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/r",
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": make_zip(CODE % 3)},
                        Timeout=10)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    slow = {}

    def slow_invoke():
        t0 = time.monotonic()
        slow["result"] = invoke(payload=b'{"sleep": 2}')
        slow["seconds"] = time.monotonic() - t0
    t = threading.Thread(target=slow_invoke)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    other = lam.list_functions()
    fast = time.monotonic() - t0
    check(fast < 1.0 and any(f["FunctionName"] == name for f in other["Functions"]),
          "ListFunctions answers in %.2f s while an invocation sleeps and 8 clients idle" % fast)
    t.join()
    check(slow.get("result", ("", {}))[1].get("code") == 3 and slow["seconds"] >= 2,
          "the slow invocation completes")
    # Clients' pools keep connections open between requests, and each synchronous invocation
    # holds one while it runs: with 80 connections held, a new client is still served (the
    # limit was 64 connections, under the account's 1000 concurrent invocations).
    for _ in range(72):
        idle.append(socket.create_connection((u.hostname, u.port)))
    fresh = boto3.client("lambda", endpoint_url=ENDPOINT, region_name="us-east-1",
                         config=Config(retries={"max_attempts": 0}, read_timeout=60))
    try:  # a new client: lam's pool has a connection already
        served = json.loads(fresh.invoke(FunctionName=name)["Payload"].read()).get("code") == 3
    except Exception as e:  # a connection reset at the limit
        served = repr(e)
    check(served is True, "an invocation is served while 80 other connections are open (%s)" % served)
    for s in idle:
        s.close()
    lam.delete_function(FunctionName=name)
