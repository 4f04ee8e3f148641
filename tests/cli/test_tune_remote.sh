#!/bin/sh
# `powertune tune` against a function behind `powertune serve`, by ARN, through the SigV4 client
# (serve runs with --require-signature): the same recommendation as tuning the local directory,
# RAM aliases and their versions gone afterwards, a user's alias and version untouched (#124),
# MemorySize restored without a leaked version, onlyColdStarts, autoOptimizeAlias, and a
# throttled --parallel run (and a throttled pre-processor) that completes with backoff; a run
# that crashed (or lost serve) is recovered by the next one from its journal, and a second run on
# a function being tuned is refused. Versions not Active yet (a stand-in in front of serve answers
# Pending, or Failed) are waited for before their alias's first invocation, once per alias; a
# Failed one fails its power and the run goes on.
# Prints "ok N - ..." / "not ok N - ..." lines.
cd "$(dirname "$0")/../.."
. tests/cli/lib.sh

aws_test_env us-east-1

if [ ! -x examples/cpu-c/bootstrap ]; then
  echo "# skip: examples/cpu-c/bootstrap not built (make)"; exit 0
fi
if ! { [ -x "$AWS" ] && "$AWS" --version 2>&1 | grep -q '^aws-cli/2'; }; then
  echo "# skip: AWS CLI v2 not at $AWS"; exit 0
fi

if ! serve_start serve --state-dir "$STATE" --require-signature --update-window-ms 300; then
  nok "serve did not start: $(cat "$TMP/serve.err")"; exit 1
fi
A="$AWS lambda --endpoint-url $EP --output text --cli-read-timeout 60"

(cd examples/cpu-c && zip -q "$TMP/cpu.zip" bootstrap)
ARN=$($A create-function --function-name cpu-c --runtime provided.al2023 --handler bootstrap \
  --role arn:aws:iam::123456789012:role/r --memory-size 128 --description "cpu bound" \
  --zip-file "fileb://$TMP/cpu.zip" --query FunctionArn 2>&1)
$A wait function-active --function-name cpu-c >/dev/null 2>&1
# A user's alias on a user's version of the very configuration tuned at 128 MB: PublishVersion
# may hand that version back, and it must survive the cleanup (#124).
V1=$($A publish-version --function-name cpu-c --query Version 2>&1)
$A create-alias --function-name cpu-c --name live --function-version "$V1" >/dev/null 2>&1
case "$ARN" in
  arn:aws:lambda:*:function:cpu-c) ok "cpu-c created on serve ($ARN), alias live -> version $V1" ;;
  *) nok "create-function: $ARN"; exit 1 ;;
esac

SETTINGS="--powers 128,512,1769 --num 3 --strategy speed"
PAYLOAD='{"iterations": 20000000}'
if "$PT" tune "$ARN" --endpoint-url "$EP" $SETTINGS --payload "$PAYLOAD" --output "$TMP/remote.json" \
     >"$TMP/remote.out" 2>"$TMP/remote.err"; then
  ok "tune by ARN through serve completes"
else nok "tune by ARN: $(tail -3 "$TMP/remote.err")"; fi
if "$PT" tune examples/cpu-c $SETTINGS --payload "$PAYLOAD" --output "$TMP/local.json" \
     >"$TMP/local.out" 2>"$TMP/local.err"; then :; else echo "# local tune: $(tail -3 "$TMP/local.err")"; fi
power() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["power"])' "$1" 2>/dev/null; }
R=$(power "$TMP/remote.json"); L=$(power "$TMP/local.json")
if [ -n "$R" ] && [ "$R" = "$L" ]; then ok "same speed recommendation by ARN and locally ($R MB)"
else nok "recommendations differ: remote '$R', local '$L'"; cat "$TMP/remote.out" "$TMP/local.out" | sed 's/^/# /'; fi
if grep -q 'cold' "$TMP/remote.out" && ! grep -q 'NoReport' "$TMP/remote.out"; then
  ok "every sample came with a REPORT from the log tail"
else nok "samples: $(cat "$TMP/remote.out")"; fi

aliases=$($A list-aliases --function-name cpu-c --query 'Aliases[].Name' 2>&1 | tr '\t' ' ')
[ "$aliases" = "live" ] && ok "RAM aliases deleted, the user's alias kept" || nok "aliases left: $aliases"
versions=$($A list-versions-by-function --function-name cpu-c --query 'Versions[].Version' 2>&1 | tr '\t' ' ')
[ "$versions" = "\$LATEST $V1" ] && ok "tuning versions deleted, version $V1 (aliased) kept, none leaked" \
  || nok "versions left: $versions"
cfg=$($A get-function-configuration --function-name cpu-c --query '[MemorySize,Description]' 2>&1)
[ "$cfg" = "128	cpu bound" ] && ok "original MemorySize and Description restored" || nok "configuration: $cfg"

# A name with --endpoint-url, onlyColdStarts: one alias per invocation, each a cold start.
if "$PT" tune cpu-c --endpoint-url "$EP" --powers 256 --num 2 --only-cold-starts \
     --payload '{"iterations": 1000}' --json >"$TMP/cold.json" 2>"$TMP/cold.err"; then
  ok "onlyColdStarts by function name completes"
else nok "onlyColdStarts: $(tail -3 "$TMP/cold.err")"; fi
aliases=$($A list-aliases --function-name cpu-c --query 'Aliases[].Name' 2>&1 | tr '\t' ' ')
versions=$($A list-versions-by-function --function-name cpu-c --query 'Versions[].Version' 2>&1 | tr '\t' ' ')
cfg=$($A get-function-configuration --function-name cpu-c --query '[MemorySize,Description]' 2>&1)
if [ "$aliases" = "live" ] && [ "$versions" = "\$LATEST $V1" ] && [ "$cfg" = "128	cpu bound" ]; then
  ok "onlyColdStarts: RAM256-<n> aliases and versions gone, Description restored"
else nok "after onlyColdStarts: aliases '$aliases' versions '$versions' config '$cfg'"; fi

# Throttled: reserved concurrency 1 and 3 invocations at once; the runner backs off and completes.
$A put-function-concurrency --function-name cpu-c --reserved-concurrent-executions 1 >/dev/null 2>&1
if "$PT" tune "$ARN" --endpoint-url "$EP" --powers 128 --num 3 --parallel \
     --payload '{"iterations": 2000000}' >"$TMP/thr.out" 2>"$TMP/thr.err"; then
  if grep -q 'retried with backoff, 0 gave up' "$TMP/thr.out" "$TMP/thr.err"; then
    ok "throttled --parallel run completes with backoff"
  else nok "throttled run: no throttle retried: $(cat "$TMP/thr.out" "$TMP/thr.err")"; fi
else nok "throttled run failed: $(tail -3 "$TMP/thr.err")"; fi
$A delete-function-concurrency --function-name cpu-c >/dev/null 2>&1

# A throttled pre-processor is backed off too (the reference's SDK retries its 429s), not a
# failed run: reserved concurrency 1 on it and 2 invocations at once.
mkdir "$TMP/pre" && printf 'import time\ndef handler(event, context):\n    time.sleep(0.2)\n    return event\n' \
  >"$TMP/pre/pre.py" && (cd "$TMP/pre" && zip -q "$TMP/pre.zip" pre.py)
$A create-function --function-name pre --runtime python3.12 --handler pre.handler \
  --role arn:aws:iam::123456789012:role/r --zip-file "fileb://$TMP/pre.zip" >/dev/null 2>&1
$A wait function-active --function-name pre >/dev/null 2>&1
$A put-function-concurrency --function-name pre --reserved-concurrent-executions 1 >/dev/null 2>&1
if "$PT" tune "$ARN" --endpoint-url "$EP" --powers 128 --num 2 --parallel --pre-processor pre \
     --payload '{"iterations": 1000}' >"$TMP/prethr.out" 2>"$TMP/prethr.err"; then
  if grep -q 'retried with backoff, 0 gave up' "$TMP/prethr.out" "$TMP/prethr.err"; then
    ok "a throttled pre-processor is retried with backoff"
  else nok "throttled pre-processor: no throttle counted: $(cat "$TMP/prethr.out" "$TMP/prethr.err")"; fi
else nok "throttled pre-processor failed the run: $(tail -3 "$TMP/prethr.err")"; fi

# autoOptimize + autoOptimizeAlias: $LATEST at the winner, the alias on a version of it.
if "$PT" tune "$ARN" --endpoint-url "$EP" --powers 128,1769 --num 2 --strategy speed \
     --auto-optimize --auto-optimize-alias best --payload "$PAYLOAD" --output "$TMP/opt.json" \
     >"$TMP/opt.out" 2>"$TMP/opt.err"; then
  W=$(power "$TMP/opt.json")
  mem=$($A get-function-configuration --function-name cpu-c --query MemorySize 2>&1)
  bv=$($A get-alias --function-name cpu-c --name best --query FunctionVersion 2>&1)
  bmem=$($A get-function-configuration --function-name cpu-c --qualifier best --query MemorySize 2>&1)
  if [ "$mem" = "$W" ] && [ "$bmem" = "$W" ]; then
    ok "autoOptimizeAlias: \$LATEST and alias best (version $bv) at $W MB"
  else nok "autoOptimize: winner $W, \$LATEST $mem, best -> $bv at $bmem"; fi
else nok "autoOptimize run: $(tail -3 "$TMP/opt.err")"; fi

# A qualified ARN: the qualifier is noted and ignored (versions are published from $LATEST).
out=$("$PT" tune "$ARN:live" --endpoint-url "$EP" --powers 128 --num 1 --payload '{"iterations": 1000}' 2>&1); st=$?
if [ $st = 0 ] && printf '%s' "$out" | grep -q 'qualifier live ignored'; then
  ok "a qualified ARN is accepted, its qualifier noted"
else nok "qualified ARN (exit $st): $out"; fi

# Errors come back with AWS's code and message.
out=$("$PT" tune nosuch --endpoint-url "$EP" --powers 128 --num 1 2>&1); st=$?
if [ $st != 0 ] && printf '%s' "$out" | grep -q 'ResourceNotFoundException'; then
  ok "a missing function: ResourceNotFoundException"
else nok "missing function (exit $st): $out"; fi
out=$(AWS_SECRET_ACCESS_KEY=wrongwrongwrongwrongwrongwrongwrongwrong "$PT" tune "$ARN" --endpoint-url "$EP" \
  --powers 128 --num 1 2>&1); st=$?
if [ $st != 0 ] && printf '%s' "$out" | grep -q 'InvalidSignatureException\|SignatureDoesNotMatch' \
   && ! printf '%s' "$out" | grep -q 'wrongwrong'; then
  ok "a bad secret: refused with AWS's code, the secret not printed"
else nok "bad secret (exit $st): $out"; fi

# Lambda's InvalidSignatureException quotes the canonical request it computed, session token
# included (an endpoint that does so, as AWS does): powertune prints the error without it.
cat >"$TMP/echo_token.py" <<'PYEOF'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        tok = self.headers.get("X-Amz-Security-Token", "")
        body = json.dumps({"message": "The request signature we calculated does not match the "
                           "signature you provided.\n\nThe Canonical String for this request "
                           "should have been\n'GET\n%s\n\nhost:%s\nx-amz-security-token:%s\n'"
                           % (self.path, self.headers.get("Host"), tok)}).encode()
        self.send_response(403)
        self.send_header("x-amzn-ErrorType", "InvalidSignatureException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
PYEOF
# Starts the stand-in server $1 (a Python script printing "port N"; its arguments after it):
# STAND_PID, STAND_PORT.
stand_in() {
  $PY "$@" >"$1.out" 2>&1 &
  STAND_PID=$!
  i=0; STAND_PORT=
  while [ $i -lt 50 ] && [ -z "$STAND_PORT" ]; do
    sleep 0.1; i=$((i + 1)); STAND_PORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$1.out")
  done
}
stand_in "$TMP/echo_token.py"
ECHO_PID=$STAND_PID EPORT=$STAND_PORT
TOKEN=IQoJb3JpZ2luX2VjEJrSESSIONTOKENVALUE0123456789abcdefghijklmnopqrstuvwxyz
out=$(AWS_SESSION_TOKEN=$TOKEN "$PT" tune "$ARN" --endpoint-url "http://127.0.0.1:$EPORT" \
  --powers 128 --num 1 2>&1); st=$?
kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null
if [ $st != 0 ] && printf '%s' "$out" | grep -q 'InvalidSignatureException' \
   && printf '%s' "$out" | grep -q 'x-amz-security-token:\*\*\*\*' \
   && ! printf '%s' "$out" | grep -q 'IQoJb3JpZ2luX2Vj'; then
  ok "an AWS message quoting the session token: printed with the token masked"
else nok "token echo (exit $st): $out"; fi

# --endpoint-url with a path (a gateway or proxy in front of Lambda): the path sent is the one
# signed, as botocore signs it (the stand-in checks with botocore's SigV4Auth).
cat >"$TMP/prefix.py" <<'PYEOF'
import http.server
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        parts = dict(p.strip().split("=", 1) for p in auth.split(" ", 1)[1].split(","))
        hdrs = {k: self.headers[k] for k in parts["SignedHeaders"].split(";")}
        req = AWSRequest(method=self.command, url="http://%s%s" % (self.headers["Host"], self.path),
                         data=b"", headers=hdrs)
        req.context["timestamp"] = self.headers["X-Amz-Date"]
        a = SigV4Auth(CREDS, "lambda", "us-east-1")
        sig = a.signature(a.string_to_sign(req, a.canonical_request(req)), req)
        good = sig == parts["Signature"]
        body = (b'{"message":"Function not found: signature ok"}' if good
                else b'{"message":"signature mismatch"}')
        self.send_response(404 if good else 403)
        self.send_header("x-amzn-ErrorType",
                         "ResourceNotFoundException" if good else "InvalidSignatureException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
PYEOF
stand_in "$TMP/prefix.py"
PREFIX_PID=$STAND_PID PPORT=$STAND_PORT
out=$("$PT" tune "$ARN" --endpoint-url "http://127.0.0.1:$PPORT/gw/stage/" --powers 128 --num 1 2>&1)
st=$?
kill "$PREFIX_PID" 2>/dev/null; wait "$PREFIX_PID" 2>/dev/null
if [ $st != 0 ] && printf '%s' "$out" | grep -q 'Function not found: signature ok'; then
  ok "--endpoint-url with a path: the path is signed as sent (botocore's signature matches)"
else nok "endpoint path (exit $st): $out $(cat "$TMP/prefix.py.out")"; fi

# An alias RAM512 of the user's (or left by an interrupted run) on version $V1: the run points it
# at its own version, then back at $V1 rather than deleting it.
$A create-alias --function-name cpu-c --name RAM512 --function-version "$V1" >/dev/null 2>&1
versions0=$($A list-versions-by-function --function-name cpu-c --query 'Versions[].Version' 2>&1)
if "$PT" tune cpu-c --endpoint-url "$EP" --powers 512 --num 2 --payload '{"iterations": 1000}' \
     >"$TMP/ram.out" 2>"$TMP/ram.err"; then
  rv=$($A get-alias --function-name cpu-c --name RAM512 --query FunctionVersion 2>&1)
  versions1=$($A list-versions-by-function --function-name cpu-c --query 'Versions[].Version' 2>&1)
  if [ "$rv" = "$V1" ] && [ "$versions0" = "$versions1" ]; then
    ok "an alias RAM512 that existed before the run is pointed back at version $V1, no version left"
  else nok "pre-existing RAM512: now on '$rv', versions '$versions0' -> '$versions1'"; fi
else nok "run with a pre-existing RAM512: $(tail -3 "$TMP/ram.err")"; fi
$A delete-alias --function-name cpu-c --name RAM512 >/dev/null 2>&1

# onlyColdStarts with a 250-character Description: "<description> - RAM256-0" must still fit
# Lambda's 256 characters (the original part is shortened), and the original comes back.
D250=$(printf '%0250d' 0 | tr 0 d)
$A update-function-configuration --function-name cpu-c --description "$D250" >/dev/null 2>&1
$A wait function-updated --function-name cpu-c >/dev/null 2>&1
if "$PT" tune cpu-c --endpoint-url "$EP" --powers 256 --num 2 --only-cold-starts \
     --payload '{"iterations": 1000}' >"$TMP/desc.out" 2>"$TMP/desc.err"; then
  d=$($A get-function-configuration --function-name cpu-c --query Description 2>&1)
  [ "$d" = "$D250" ] && ok "onlyColdStarts with a 250-character Description completes, Description restored" \
    || nok "Description after the run: $d"
else nok "onlyColdStarts with a long Description: $(tail -3 "$TMP/desc.err")"; fi
$A update-function-configuration --function-name cpu-c --description "cpu bound" >/dev/null 2>&1
$A wait function-updated --function-name cpu-c >/dev/null 2>&1

# A run refused before its first change (payloadS3 unreadable) does not write the function.
rev0=$($A get-function-configuration --function-name cpu-c --query RevisionId 2>&1)
out=$("$PT" tune cpu-c --endpoint-url "$EP" --powers 128 --num 1 --payload-s3 s3://b/k \
  --s3-endpoint-url http://127.0.0.1:1 2>&1); st=$?
rev1=$($A get-function-configuration --function-name cpu-c --query RevisionId 2>&1)
if [ $st = 1 ] && [ "$rev0" = "$rev1" ]; then
  ok "a run refused before any change leaves the function's configuration untouched"
else nok "refused run (exit $st): RevisionId $rev0 -> $rev1: $out"; fi

# Ctrl-C during a long invocation: tune stops waiting for it at once (not after the function's
# 30 s), deletes its alias and version and restores MemorySize.
printf 'import time\ndef handler(event, context):\n    time.sleep(30)\n    return 1\n' \
  >"$TMP/pre/slow.py" && (cd "$TMP/pre" && zip -q "$TMP/slow.zip" slow.py)
$A create-function --function-name slow --runtime python3.12 --handler slow.handler --timeout 60 \
  --role arn:aws:iam::123456789012:role/r --memory-size 256 --zip-file "fileb://$TMP/slow.zip" >/dev/null 2>&1
$A wait function-active --function-name slow >/dev/null 2>&1
"$PT" tune slow --endpoint-url "$EP" --powers 128 --num 2 >"$TMP/int.out" 2>"$TMP/int.err" &
TUNE_PID=$!
sleep 4
t0=$(date +%s); kill -INT "$TUNE_PID"; wait "$TUNE_PID"; st=$?; t1=$(date +%s)
aliases=$($A list-aliases --function-name slow --query 'Aliases[].Name' 2>&1)
versions=$($A list-versions-by-function --function-name slow --query 'Versions[].Version' 2>&1)
mem=$($A get-function-configuration --function-name slow --query MemorySize 2>&1)
if [ $st = 130 ] && [ $((t1 - t0)) -le 10 ] && [ -z "$aliases" ] && [ "$versions" = "\$LATEST" ] \
   && [ "$mem" = 256 ]; then
  ok "Ctrl-C during a 30 s invocation: exit 130 in $((t1 - t0)) s, alias and version gone, MemorySize restored"
else nok "Ctrl-C (exit $st after $((t1 - t0)) s): aliases '$aliases' versions '$versions' memory '$mem': $(cat "$TMP/int.err")"; fi

# Versions that are not Active yet (SnapStart's are Pending while the snapshot is made): the
# reference's Executor waits until the alias is Active before invoking it (onlyColdStarts: each
# alias before its invocation). serve makes versions Active at once, so a stand-in in front of it
# answers GetFunctionConfiguration(Qualifier=RAM...) with State Pending for its first $2 polls of
# each alias (Failed for aliases matching $3), refuses an invocation of an alias not Active yet as
# Lambda does (409 ResourceConflictException), and logs what it saw, in order, to $1.out.
cat >"$TMP/pending.py" <<'PYEOF'
import http.client, http.server, json, re, sys, threading, urllib.parse
UPSTREAM, PENDING, FAILED = sys.argv[1], int(sys.argv[2]), re.compile(sys.argv[3])
lock, polls, log = threading.Lock(), {}, []
def note(line):
    with lock:
        log.append(line)
        print(line, flush=True)
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("expect", "connection")}
        c = http.client.HTTPConnection(UPSTREAM, timeout=60)
        c.request(self.command, self.path, body, hdrs)  # Host as signed: the client's
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    def handle_one(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query).get("Qualifier", [""])[0]
        if not q.startswith("RAM"):
            return self.answer(*self.forward())
        if self.command == "GET" and u.path.endswith("/configuration"):
            status, headers, body = self.forward()
            with lock:
                polls[q] = polls.get(q, 0) + 1
                n = polls[q]
            if status == 200:
                cfg = json.loads(body)
                if FAILED.fullmatch(q):
                    cfg.update(State="Failed", StateReasonCode="FunctionError",
                               StateReason="Init error: the snapshot's init phase raised")
                elif n <= PENDING:
                    cfg.update(State="Pending", StateReasonCode="Creating",
                               StateReason="Lambda is creating a snapshot of the function.")
                note("config %s %s" % (q, cfg.get("State")))
                body = json.dumps(cfg).encode()
            return self.answer(status, headers, body)
        if self.command == "POST" and u.path.endswith("/invocations"):
            with lock:
                active = polls.get(q, 0) > PENDING and not FAILED.fullmatch(q)
            if not active:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                note("INVOKE-NOT-ACTIVE %s" % q)
                msg = json.dumps({"Type": "User", "message": "The operation cannot be performed "
                                  "at this time. The function is currently in the following "
                                  "state: Pending"}).encode()
                return self.answer(409, [("x-amzn-ErrorType", "ResourceConflictException")], msg)
            note("invoke %s" % q)
        return self.answer(*self.forward())
    do_GET = do_POST = do_PUT = do_DELETE = handle_one
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
PYEOF
# $1: polls answered Pending per alias, $2: aliases answered Failed (a regular expression);
# the rest: tune's arguments. Sets st, LOG (the stand-in's log) and BEFORE.
pending_tune() {
  BEFORE=$(fn_state)
  stand_in "$TMP/pending.py" "127.0.0.1:$PORT" "$1" "$2"
  shift 2
  "$PT" tune cpu-c --endpoint-url "http://127.0.0.1:$STAND_PORT" --payload '{"iterations": 1000}' \
    "$@" >"$TMP/pend.out" 2>"$TMP/pend.err"; st=$?
  kill "$STAND_PID" 2>/dev/null; wait "$STAND_PID" 2>/dev/null
  LOG=$(grep -v '^port' "$TMP/pending.py.out")
}
# The function's aliases, versions and MemorySize; untouched: as BEFORE, which pending_tune takes.
fn_state() {
  echo "$($A list-aliases --function-name cpu-c --query 'Aliases[].Name' 2>&1 | tr '\t' ' ');$(
    $A list-versions-by-function --function-name cpu-c --query 'Versions[].Version' 2>&1 | tr '\t' ' ');$(
    $A get-function-configuration --function-name cpu-c --query MemorySize 2>&1)"
}
untouched() {
  after=$(fn_state)
  [ "$after" = "$BEFORE" ] || { echo "# function before the run: $BEFORE, after: $after"; false; }
}
count() { printf '%s\n' "$LOG" | grep -c "^$1\$"; }
# --parallel: 4 invocations of each alias at once; one of them asks until Active, the others wait
# for its answer (4 polls per alias: 3 Pending, 1 Active, none per invocation).
pending_tune 3 'x^' --powers 128,256 --num 4 --parallel
if [ $st = 0 ] && ! printf '%s' "$LOG" | grep -q NOT-ACTIVE \
   && [ "$(count 'config RAM128 Pending')" = 3 ] && [ "$(count 'config RAM128 Active')" = 1 ] \
   && [ "$(count 'config RAM256 Pending')" = 3 ] && [ "$(count 'config RAM256 Active')" = 1 ] \
   && [ "$(count 'invoke RAM128')" = 4 ] && [ "$(count 'invoke RAM256')" = 4 ] && untouched; then
  ok "versions Pending for 3 polls: --parallel waits once per alias until Active, then invokes"
else nok "Pending versions (exit $st): $LOG $(cat "$TMP/pend.err")"; fi
# onlyColdStarts: every alias waited for before its own invocation, not at prepare (the others'
# snapshots are made meanwhile): RAM128-1 is first asked about after RAM128-0 was invoked.
pending_tune 2 'x^' --powers 128 --num 3 --only-cold-starts
first_ask=$(printf '%s\n' "$LOG" | grep -n 'config RAM128-1 ' | head -1 | cut -d: -f1)
invoked0=$(printf '%s\n' "$LOG" | grep -n '^invoke RAM128-0$' | head -1 | cut -d: -f1)
if [ $st = 0 ] && ! printf '%s' "$LOG" | grep -q NOT-ACTIVE \
   && [ "$(count 'config RAM128-0 Pending')" = 2 ] && [ "$(count 'config RAM128-2 Active')" = 1 ] \
   && [ "$(count 'invoke RAM128-[012]')" = 3 ] && [ -n "$invoked0" ] && [ "$first_ask" -gt "$invoked0" ] \
   && untouched; then
  ok "onlyColdStarts: each alias waited for until Active at its own invocation"
else nok "onlyColdStarts with Pending versions (exit $st): $LOG $(cat "$TMP/pend.err")"; fi
# A version that goes Failed: its power fails (never invoked; the reason named), the run goes on.
pending_tune 1 'RAM512' --powers 128,512 --num 2 --output "$TMP/pend.json"
if [ $st = 0 ] && [ "$(power "$TMP/pend.json")" = 128 ] && [ "$(count 'config RAM512 Failed')" = 1 ] \
   && ! printf '%s' "$LOG" | grep -q 'RAM512$' && [ "$(count 'invoke RAM128')" = 2 ] \
   && grep -q '512 MB excluded: 2 of 2 invocations failed.*Powertune.VersionFailed x2' "$TMP/pend.out" \
   && grep -q 'never became Active.*RAM512 (version [0-9]*) is Failed: FunctionError: Init error' \
        "$TMP/pend.out" "$TMP/pend.err" && untouched; then
  ok "a Failed version: its power is excluded with the reason, the run goes on and cleans up"
else nok "Failed version (exit $st): $LOG $(cat "$TMP/pend.out" "$TMP/pend.err")"; fi
pending_tune 0 'RAM128' --powers 128,512 --num 2 --fail-fast
if [ $st = 1 ] && grep -q 'Powertune.VersionFailed.*RAM128 (version [0-9]*) is Failed: FunctionError' \
     "$TMP/pend.err" && ! printf '%s' "$LOG" | grep -q 'RAM512' && untouched; then
  ok "a Failed version with --fail-fast: the run stops there, naming it, and cleans up"
else nok "Failed version, --fail-fast (exit $st): $LOG $(cat "$TMP/pend.err")"; fi
# Ctrl-C while waiting for a version that stays Pending: the run stops at once and cleans up.
BEFORE=$(fn_state)
stand_in "$TMP/pending.py" "127.0.0.1:$PORT" 1000000 'x^'
"$PT" tune cpu-c --endpoint-url "http://127.0.0.1:$STAND_PORT" --powers 256 --num 1 \
  >"$TMP/pint.out" 2>"$TMP/pint.err" &
TUNE_PID=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'config RAM256 Pending' "$TMP/pending.py.out"; do sleep 0.1; i=$((i + 1)); done
t0=$(date +%s); kill -INT "$TUNE_PID" 2>/dev/null; wait "$TUNE_PID"; st=$?; t1=$(date +%s)
kill "$STAND_PID" 2>/dev/null; wait "$STAND_PID" 2>/dev/null
if [ $st = 130 ] && [ $((t1 - t0)) -le 5 ] && untouched; then
  ok "Ctrl-C while a version is Pending: exit 130 in $((t1 - t0)) s, alias and version gone"
else nok "Ctrl-C while Pending (exit $st after $((t1 - t0)) s): $(cat "$TMP/pint.err")"; fi

# serve gone after the last invocation (during the sleep after it): the cleanup and the restore
# fail, but the measurements are printed and written before tune exits 1.
$A update-function-configuration --function-name cpu-c --memory-size 128 >/dev/null 2>&1
$A wait function-updated --function-name cpu-c >/dev/null 2>&1
"$PT" tune "$ARN" --endpoint-url "$EP" --powers 256 --num 1 --sleep-between-runs-ms 4000 \
  --samples "$TMP/end.jsonl" --output "$TMP/end.json" --payload '{"iterations": 1000}' \
  >"$TMP/end.out" 2>"$TMP/end.err" &
TUNE_PID=$!
i=0
while [ $i -lt 300 ] && [ "$(cat "$TMP/end.jsonl" 2>/dev/null | wc -l)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
wait "$TUNE_PID"; st=$?
if [ $st = 1 ] && [ "$(power "$TMP/end.json")" = 256 ] && grep -q 'recommendation' "$TMP/end.out" \
   && grep -q 'not restored to MemorySize 128 MB' "$TMP/end.err"; then
  ok "serve gone at the end: the results are printed and written, then the failed restore (exit 1)"
else nok "serve gone at the end (exit $st): $(cat "$TMP/end.out" "$TMP/end.err")"; fi
if ! serve_start serve2 --state-dir "$STATE" --require-signature --update-window-ms 300; then
  nok "serve did not restart: $(cat "$TMP/serve2.err")"; exit 1
fi
A="$AWS lambda --endpoint-url $EP --output text --cli-read-timeout 60"
$A update-function-configuration --function-name cpu-c --memory-size 128 >/dev/null 2>&1
$A wait function-updated --function-name cpu-c >/dev/null 2>&1

# serve killed mid-run: the error says what was left behind and the configuration to restore
# (the original MemorySize 128 MB would otherwise be lost: $LATEST stays at a tuned size).
$A update-function-configuration --function-name cpu-c --memory-size 128 >/dev/null 2>&1
$A wait function-updated --function-name cpu-c >/dev/null 2>&1
"$PT" tune "$ARN" --endpoint-url "$EP" --powers 256,512 --num 200 --samples "$TMP/kill.jsonl" \
  --payload '{"iterations": 2000000}' >"$TMP/kill.out" 2>"$TMP/kill.err" &
TUNE_PID=$!
i=0
while [ $i -lt 300 ] && [ "$(cat "$TMP/kill.jsonl" 2>/dev/null | wc -l)" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
wait "$TUNE_PID"; st=$?
if [ $st = 1 ] && grep -q 'not restored to MemorySize 128 MB' "$TMP/kill.err" \
   && grep -q 'left behind: alias RAM256' "$TMP/kill.err"; then
  ok "serve killed mid-run: exit 1, the original MemorySize and what is left behind are named"
else nok "serve killed mid-run (exit $st): $(cat "$TMP/kill.err")"; fi

# The journal: the run above could not restore $LATEST (serve was gone), so the next run finds
# its journal, removes what it left and restores MemorySize 128 MB, not the tuned size it finds.
if ! serve_start serve3 --state-dir "$STATE" --require-signature --update-window-ms 300; then
  nok "serve did not restart: $(cat "$TMP/serve3.err")"; exit 1
fi
A="$AWS lambda --endpoint-url $EP --output text --cli-read-timeout 60"
JOURNALS="$POWERTUNE_STATE_DIR/tune-journals"
ram_aliases() { $A list-aliases --function-name cpu-c --query 'Aliases[].Name' 2>&1 | tr '\t' '\n' | grep '^RAM' | tr '\n' ' '; }
# $1: what happened before; checks that a run recovers from it.
recovered_run() {
  mem0=$($A get-function-configuration --function-name cpu-c --query MemorySize 2>&1)
  left0=$(ram_aliases)
  "$PT" tune cpu-c --endpoint-url "$EP" --powers 1024 --num 1 --payload '{"iterations": 1000}' \
    >"$TMP/rec.out" 2>"$TMP/rec.err"; st=$?
  mem=$($A get-function-configuration --function-name cpu-c --query MemorySize 2>&1)
  left=$(ram_aliases)
  if [ $st = 0 ] && [ "$mem0" != 128 ] && [ -n "$left0" ] && [ "$mem" = 128 ] && [ -z "$left" ] \
     && grep -q "did not finish.*left \$LATEST at MemorySize $mem0 MB.*MemorySize 128 MB" "$TMP/rec.out" "$TMP/rec.err" \
     && [ -z "$(ls -A "$JOURNALS")" ]; then
    ok "$1: the next run restores MemorySize 128 MB (not $mem0) and removes aliases $left0"
  else nok "$1: recovery (exit $st): MemorySize $mem0 -> $mem, RAM aliases '$left0' -> '$left', journals '$(ls -A "$JOURNALS")': $(cat "$TMP/rec.out" "$TMP/rec.err")"; fi
}
recovered_run "serve killed mid-run"

# A second run while one is tuning: refused (each would restore the other's tuned size), and
# kill -9 of the first leaves a journal the next run recovers from.
"$PT" tune "$ARN" --endpoint-url "$EP" --powers 256,512 --num 200 --samples "$TMP/kill2.jsonl" \
  --payload '{"iterations": 2000000}' >"$TMP/kill2.out" 2>"$TMP/kill2.err" &
TUNE_PID=$!
i=0
while [ $i -lt 300 ] && [ "$(cat "$TMP/kill2.jsonl" 2>/dev/null | wc -l)" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
out=$("$PT" tune cpu-c --endpoint-url "$EP" --powers 128 --num 1 --payload '{"iterations": 1000}' 2>&1); st=$?
if [ $st = 1 ] && printf '%s' "$out" | grep -q "another powertune tune (pid $TUNE_PID) is tuning"; then
  ok "a second run on a function being tuned is refused, naming the first"
else nok "second run (exit $st): $out"; fi
kill -9 "$TUNE_PID"; wait "$TUNE_PID" 2>/dev/null
recovered_run "tune killed with SIGKILL mid-run"

# A journal that cannot be read (a torn write, an edit) stops the run before any change: which
# MemorySize was the original is unknown, so the error says what to put back and what to delete.
J="$JOURNALS/arn_aws_lambda_us-east-1_123456789012_function_cpu-c.json"
printf '{"functionArn": ' >"$J"
rev0=$($A get-function-configuration --function-name cpu-c --query RevisionId 2>&1)
out=$("$PT" tune cpu-c --endpoint-url "$EP" --powers 256 --num 1 --payload '{"iterations": 1000}' 2>&1); st=$?
rev1=$($A get-function-configuration --function-name cpu-c --query RevisionId 2>&1)
if [ $st = 1 ] && [ "$rev0" = "$rev1" ] && [ -s "$J" ] \
   && printf '%s' "$out" | grep -q "journal of an unfinished run, $J, is unreadable.*MemorySize and Description back"; then
  ok "an unreadable journal stops the run before any change, saying what to restore and delete"
else nok "unreadable journal (exit $st, RevisionId $rev0 -> $rev1): $out"; fi
rm -f "$J"
