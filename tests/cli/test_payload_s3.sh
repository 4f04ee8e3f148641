#!/bin/sh
# payloadS3: `powertune tune --payload-s3 s3://BUCKET/KEY` reads the object with a SigV4-signed
# path-style GET (service s3) from a local S3 stand-in (Python, 127.0.0.1, which verifies the
# signature), uses it as the payload (weighting applies), and fails with the reference's
# messages on 403 / 404 / other before any invocation.
# Prints "ok N - ..." / "not ok N - ..." lines.
cd "$(dirname "$0")/../.."
. tests/cli/lib.sh
aws_test_env eu-west-1
unset POWERTUNE_S3_ENDPOINT_URL

if [ ! -x examples/cpu-c/bootstrap ]; then
  echo "# skip: examples/cpu-c/bootstrap not built (make)"; exit 0
fi

cat >"$TMP/s3.py" <<'PYEOF'
import hashlib, hmac, http.server, sys, urllib.parse
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
LOG = sys.argv[1]
OBJECTS = {
    "/b/events/one.json": b'{"iterations": 1000}',
    "/b/events/weighted.json": b'[{"payload": {"iterations": 1000}, "weight": 1},'
                               b' {"payload": {"iterations": 0}, "weight": 2}]',
    "/b/events/with space.txt": b"just text",
    "/far/one.json": b'{"iterations": 1000}',
}
def err(code, msg):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s"
            "</Message><RequestId>R</RequestId></Error>" % (code, msg)).encode()
def hm(k, m):
    return hmac.new(k, m.encode(), hashlib.sha256).digest()
def region(path):
    """Bucket "far" is in us-west-2, the others in eu-west-1."""
    return "us-west-2" if path.startswith("/far/") else "eu-west-1"
def check(h):
    """None if h's request is SigV4-signed for s3 the way S3 wants it, else the reason."""
    auth = h.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no Authorization"
    parts = dict(p.strip().split("=", 1) for p in auth[17:].split(","))
    cred = parts["Credential"].split("/")
    if cred[0] != "AKIDEXAMPLE" or cred[3:] != ["s3", "aws4_request"] or cred[2] != region(h.path):
        return "scope " + parts["Credential"]
    signed = parts["SignedHeaders"].split(";")
    for need in ("host", "x-amz-date", "x-amz-content-sha256"):
        if need not in signed:
            return "unsigned " + need
    empty = hashlib.sha256(b"").hexdigest()
    if h.headers.get("x-amz-content-sha256") != empty:
        return "x-amz-content-sha256"
    path = h.path.split("?")[0]
    canon = "\n".join([h.command, path, "",
                       "".join("%s:%s\n" % (k, " ".join(h.headers.get(k, "").split())) for k in signed),
                       ";".join(signed), empty])
    date = h.headers["x-amz-date"]
    sts = "\n".join(["AWS4-HMAC-SHA256", date, "/".join(cred[1:]),
                     hashlib.sha256(canon.encode()).hexdigest()])
    k = hm(hm(hm(hm(("AWS4" + SECRET).encode(), cred[1]), cred[2]), "s3"), "aws4_request")
    if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != parts["Signature"]:
        return "signature mismatch, canonical request:\n" + canon
    return None
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def send(self, status, body, ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        why = check(self)
        with open(LOG, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, "signed" if why is None else "BAD " + why))
        if why is not None and why.startswith("scope") and self.path.startswith("/far/"):
            # What S3 answers for a bucket of another region (path-style, wrong signing region).
            self.send_response(301)
            self.send_header("x-amz-bucket-region", "us-west-2")
            body = err("PermanentRedirect", "The bucket you are attempting to access must be "
                       "addressed using the specified endpoint.")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if why is not None:
            return self.send(400, err("SignatureDoesNotMatch", why.split("\n")[0]))
        key = urllib.parse.unquote(self.path)
        if key in OBJECTS:
            return self.send(200, OBJECTS[key], "application/octet-stream")
        if key.startswith("/b/secret/"):
            return self.send(403, err("AccessDenied", "Access Denied"))
        if key.startswith("/b/boom"):
            return self.send(500, err("InternalError", "We encountered an internal error."))
        if key.startswith("/b/big"):
            return self.send(200, b"x" * (6 * 1024 * 1024 + 10), "application/octet-stream")
        return self.send(404, err("NoSuchKey", "The specified key does not exist."))
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
PYEOF
$PY "$TMP/s3.py" "$TMP/requests.log" >"$TMP/s3.out" 2>"$TMP/s3.err" &
SERVER_PID=$!
if ! wait_port "$TMP/s3.out" 's/^port \([0-9]*\)$/\1/p'; then
  nok "S3 stand-in did not start: $(cat "$TMP/s3.err")"; exit 1
fi
TUNE="$PT tune examples/cpu-c --num 3 --powers 128,256"
# Samples: "payloadIndex:error" of every invocation, sorted.
samples() {
  $PY -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(" ".join(sorted("%d:%s" % (r["payloadIndex"], "err" if r["error"] else "ok")
                      for r in rows if "payloadIndex" in r)))' "$1" 2>/dev/null
}

# 1. The object is the payload.
if $TUNE --payload '{"iterations": 0}' --payload-s3 s3://b/events/one.json --s3-endpoint-url "$EP" \
     --samples "$TMP/one.jsonl" >"$TMP/one.out" 2>"$TMP/one.err"; then
  ok "tune with --payload-s3 completes (the S3 payload wins over --payload)"
else nok "tune --payload-s3: $(tail -3 "$TMP/one.err")"; fi
S=$(samples "$TMP/one.jsonl")
if [ "$S" = "0:ok 0:ok 0:ok 0:ok 0:ok 0:ok" ]; then ok "six invocations with the object's payload"
else nok "samples: '$S'"; fi
if grep -q "GET /b/events/one.json signed" "$TMP/requests.log"; then
  ok "path-style GET /b/events/one.json, SigV4 for s3 verified by the stand-in"
else nok "requests: $(cat "$TMP/requests.log")"; fi
if [ "$(grep -c 'events/one.json' "$TMP/requests.log")" = 1 ]; then ok "the object is read once"
else nok "object read $(grep -c 'events/one.json' "$TMP/requests.log") times"; fi

# 2. Weighting applies to the object's JSON (payload 1 is invalid for cpu-c: InvalidEvent).
if POWERTUNE_S3_ENDPOINT_URL="$EP" $TUNE --payload-s3 s3://b/events/weighted.json \
     --allowed-exceptions InvalidEvent --samples "$TMP/w2.jsonl" >"$TMP/w2.out" 2>"$TMP/w2.err"
then :; else echo "# weighted run: $(tail -2 "$TMP/w2.err")"; fi
S=$(samples "$TMP/w2.jsonl")
if [ "$S" = "0:ok 0:ok 1:err 1:err 1:err 1:err" ]; then
  ok "weighted payloads from S3 (POWERTUNE_S3_ENDPOINT_URL): 1 + 2 of 3 per size, each payload sent"
else nok "weighted samples: '$S'"; fi

# --input: the reference's execution input with payloadS3 (and a payload it wins over).
printf '{"lambdaARN": "examples/cpu-c", "num": 3, "powerValues": [128], "payload": {"iterations": 0},
  "payloadS3": "s3://b/events/one.json"}' >"$TMP/in.json"
if $PT tune --input "$TMP/in.json" --s3-endpoint-url "$EP" --samples "$TMP/in.jsonl" \
     >"$TMP/in.out" 2>"$TMP/in.err" && [ "$(samples "$TMP/in.jsonl")" = "0:ok 0:ok 0:ok" ]; then
  ok "--input with payloadS3: the object's payload is used"
else nok "--input payloadS3: '$(samples "$TMP/in.jsonl")' $(tail -2 "$TMP/in.err")"; fi

# 3. A key with a %-escape is decoded, then sent encoded once; a non-JSON body is a string.
$TUNE --payload-s3 's3://b/events/with%20space.txt' --s3-endpoint-url "$EP" \
  --allowed-exceptions InvalidEvent --samples "$TMP/t.jsonl" >"$TMP/t.out" 2>"$TMP/t.err"
if grep -q "GET /b/events/with%20space.txt signed" "$TMP/requests.log"; then
  ok "key URL-decoded, sent as /b/events/with%20space.txt and signed so"
else nok "requests: $(tail -3 "$TMP/requests.log")"; fi
S=$(samples "$TMP/t.jsonl")
if [ "$S" = "0:err 0:err 0:err 0:err 0:err 0:err" ]; then
  ok "a non-JSON object is sent as a JSON string (cpu-c refuses it)"
else nok "text samples: '$S' $(tail -2 "$TMP/t.err")"; fi

# 3b. A local run's S3 region is found as the AWS CLI finds it: AWS_DEFAULT_REGION, then the
# profile's region (the object was signed for us-east-1 unless AWS_REGION was set; the stand-in
# wants eu-west-1).
printf '[default]\nregion = eu-west-1\n' >"$TMP/region-config"
for how in "AWS_DEFAULT_REGION=eu-west-1" "AWS_CONFIG_FILE=$TMP/region-config"; do
  : >"$TMP/requests.log"
  if env -u AWS_REGION -u AWS_DEFAULT_REGION "$how" $TUNE --payload-s3 s3://b/events/one.json \
       --s3-endpoint-url "$EP" >"$TMP/r.out" 2>"$TMP/r.err" &&
     grep -q "GET /b/events/one.json signed" "$TMP/requests.log"; then
    ok "payloadS3 of a local run signed for the region of ${how%%=*}"
  else nok "${how%%=*}: $(cat "$TMP/requests.log") $(tail -2 "$TMP/r.err")"; fi
done

# 3c. A bucket in another region: S3's 301 names it (x-amz-bucket-region) and the object is
# asked for again there, signed for that region, as the AWS CLI does.
: >"$TMP/requests.log"
if $TUNE --payload-s3 s3://far/one.json --s3-endpoint-url "$EP" >"$TMP/far.out" 2>"$TMP/far.err" &&
   grep -q "GET /far/one.json BAD scope .*/eu-west-1/" "$TMP/requests.log" &&
   grep -q "GET /far/one.json signed" "$TMP/requests.log"; then
  ok "a bucket in us-west-2: redirected once, signed for its region"
else nok "far bucket: $(cat "$TMP/requests.log") $(tail -2 "$TMP/far.err")"; fi

# 4. Errors, before any invocation (no samples written).
fails() { # $1 = key, $2 = expected message, $3 = name
  rm -f "$TMP/f.jsonl"
  $TUNE --payload-s3 "s3://b/$1" --s3-endpoint-url "$EP" --samples "$TMP/f.jsonl" \
    >"$TMP/f.out" 2>"$TMP/f.err"
  st=$?
  if [ $st = 1 ] && grep -qF "$2" "$TMP/f.err" && [ ! -s "$TMP/f.jsonl" ]; then
    ok "$3: exit 1, the reference's message, no invocation"
  else nok "$3: exit $st, $(cat "$TMP/f.err"), samples: $(cat "$TMP/f.jsonl" 2>/dev/null | wc -l)"; fi
}
fails secret/x.json "Permission denied when trying to read s3://b/secret/x.json. You might need to re-deploy the app with the correct payloadS3Bucket parameter." "403"
fails missing.json "The object s3://b/missing.json does not exist. Make sure you are trying to access an existing object in the correct bucket." "404"
fails boom.json "Unknown error when trying to read s3://b/boom.json. We encountered an internal error." "500 (after retries)"
if [ "$(grep -c 'boom.json' "$TMP/requests.log")" = 3 ]; then ok "500 retried: 3 attempts"
else nok "boom.json requested $(grep -c 'boom.json' "$TMP/requests.log") times"; fi
fails big.json "object larger than 6291456 bytes" "an object over 6 MB"
rm -f "$TMP/f.jsonl"
$TUNE --payload-s3 s3://b/events/one.json --s3-endpoint-url "http://127.0.0.1:1" \
  --samples "$TMP/f.jsonl" >"$TMP/f.out" 2>"$TMP/f.err"
st=$?
if [ $st = 1 ] && grep -qF "Unknown error when trying to read s3://b/events/one.json. GET http://127.0.0.1:1" "$TMP/f.err"; then
  ok "no S3 endpoint: Unknown error naming the cause"
else nok "unreachable: exit $st, $(cat "$TMP/f.err")"; fi
$TUNE --payload-s3 b/events/one.json >"$TMP/f.out" 2>"$TMP/f.err"
st=$?
if [ $st = 2 ] && grep -qF "Invalid S3 path, not a string in the format s3://BUCKET/KEY" "$TMP/f.err"; then
  ok "--payload-s3 without s3://: usage error"
else nok "bad path: exit $st, $(cat "$TMP/f.err")"; fi
