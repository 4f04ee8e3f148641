#!/bin/sh
# LoggingConfig.LogFormat = JSON end to end: invoke --json's tail holds Lambda's JSON platform
# records (SystemLogLevel filtering, the runtime's AWS_LAMBDA_LOG_FORMAT/LEVEL), bad values and a
# level with Text refused with exit 2, a template's LoggingConfig, `powertune logs` over a JSON
# stream, serve's LoggingConfig (Tail, the Text-with-a-level refusal) and `tune` by ARN through
# serve reading the same figures from JSON records as from Text REPORT lines.
# Prints "ok N - ..." / "not ok N - ...".
cd "$(dirname "$0")/../.."
. tests/cli/lib.sh

if [ ! -x examples/noop-c/bootstrap ] || [ ! -x examples/cpu-c/bootstrap ]; then
  echo "# skip: examples not built (make)"; exit 0
fi

# The records of every --json line's logTail, checked by Python: prints one verdict line.
check_tail() { # $1 = file of invoke --json lines, $2 = expected types per invocation (Python)
  $PY - "$1" "$2" <<'EOF'
import json, re, sys
want = eval(sys.argv[2])
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if len(lines) != len(want):
    sys.exit("%d invocations, expected %d" % (len(lines), len(want)))
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
for inv, types in zip(lines, want):
    recs = [json.loads(l) for l in inv["logTail"].splitlines() if l.startswith('{"time"')]
    got = [r["type"] for r in recs]
    if got != types:
        sys.exit("types %s, expected %s" % (got, types))
    for r in recs:
        if list(r) != ["time", "type", "record"] or not TIME.match(r["time"]):
            sys.exit("envelope %s" % r)
        rec = r["record"]
        if r["type"] == "platform.report":
            m = rec["metrics"]
            keys = ["durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB"]
            if inv["coldStart"]:
                keys.append("initDurationMs")
            if list(m) != keys:
                sys.exit("metrics %s" % list(m))
            if rec["requestId"] != inv["requestId"] or rec["status"] != inv["status"]:
                sys.exit("report %s vs result %s/%s" % (rec, inv["requestId"], inv["status"]))
            if abs(m["durationMs"] - inv["durationMs"]) > 0.000501 or m["billedDurationMs"] != inv["billedDurationMs"]:
                sys.exit("durations %s vs %s" % (m, inv["durationMs"]))
            order = list(rec)
            exp = ["requestId", "status", "metrics"] if rec["status"] == "success" else ["requestId", "metrics", "status"]
            if rec["status"] == "error":
                exp.append("errorType")
            if order != exp:
                sys.exit("report fields %s" % order)
        if r["type"] == "platform.runtimeDone" and rec["status"] == "success":
            # The capture's spans, end to end: responseLatency, responseDuration,
            # runtimeOverhead, summing to the invocation's Duration (it runs to /next).
            spans = rec.get("spans", [])
            names = [s.get("name") for s in spans]
            if list(rec) != ["requestId", "status", "spans", "metrics"] or \
               names != ["responseLatency", "responseDuration", "runtimeOverhead"] or \
               any(not TIME.match(s["start"]) or s["durationMs"] < 0 for s in spans) or \
               abs(sum(s["durationMs"] for s in spans) - rec["metrics"]["durationMs"]) > 0.0021:
                sys.exit("runtimeDone %s" % rec)
        if r["type"] == "platform.start" and rec != {"requestId": inv["requestId"], "version": "$LATEST"}:
            sys.exit("start %s" % rec)
print("ok")
EOF
}

# 1. invoke: cold then warm, default SystemLogLevel INFO.
"$PT" invoke examples/noop-c --state-dir "$STATE" --log-format json --count 2 --json \
  >"$TMP/inv.json" 2>"$TMP/inv.err"
v=$(check_tail "$TMP/inv.json" '[["platform.initStart","platform.initReport","platform.start","platform.report"],["platform.start","platform.report"]]' 2>&1)
[ "$v" = ok ] && ok "invoke --json: cold and warm JSON records at INFO, fields and order as Lambda's" \
  || nok "invoke JSON records: $v $(cat "$TMP/inv.err")"

# 2. DEBUG adds initRuntimeDone/runtimeDone; WARN leaves no platform record at all.
"$PT" invoke examples/noop-c --state-dir "$STATE" --log-format json --system-log-level DEBUG \
  --json >"$TMP/dbg.json" 2>"$TMP/dbg.err"
v=$(check_tail "$TMP/dbg.json" '[["platform.initStart","platform.initRuntimeDone","platform.initReport","platform.start","platform.runtimeDone","platform.report"]]' 2>&1)
[ "$v" = ok ] && ok "SystemLogLevel DEBUG: initRuntimeDone and runtimeDone too" || nok "DEBUG: $v"
"$PT" invoke examples/noop-c --state-dir "$STATE" --log-format json --system-log-level WARN \
  --json >"$TMP/warn.json" 2>"$TMP/warn.err"
v=$(check_tail "$TMP/warn.json" '[[]]' 2>&1)
[ "$v" = ok ] && ok "SystemLogLevel WARN: no platform record" || nok "WARN: $v"

# 3. A timeout: runtimeDone/report status timeout, Duration the timeout, no text line.
"$PT" invoke examples/timeout-python --state-dir "$STATE" --timeout 1 --log-format json \
  --system-log-level debug --json >"$TMP/to.json" 2>"$TMP/to.err"
v=$(check_tail "$TMP/to.json" '[["platform.initStart","platform.initRuntimeDone","platform.initReport","platform.start","platform.runtimeDone","platform.report"]]' 2>&1)
$PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["logTail"])' "$TMP/to.json" \
  >"$TMP/to.tail" 2>&1
if [ "$v" = ok ] && grep -q '"metrics":{"durationMs":1000.0,"billedDurationMs":[0-9]*,"memorySizeMB":128,"maxMemoryUsedMB":[0-9]*,"initDurationMs":[0-9.]*},"status":"timeout"}}$' "$TMP/to.tail" \
   && ! grep -q 'Task timed out after' "$TMP/to.tail"; then
  ok "timeout: status timeout after the metrics, durationMs 1000.0"
else nok "timeout: $v $(cat "$TMP/to.tail")"; fi

# 4. The runtime sees the configuration (Python prints its environment on request).
mkdir -p "$TMP/envfn"
cat >"$TMP/envfn/lambda_function.py" <<'EOF'
import os
def lambda_handler(event, context):
    return {k: os.environ.get(k) for k in ("AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL")}
EOF
chmod -R a+rX "$TMP/envfn"
out=$("$PT" invoke "$TMP/envfn" --state-dir "$STATE" --log-format json --app-log-level warn --json 2>&1)
txt=$("$PT" invoke "$TMP/envfn" --state-dir "$STATE" --json 2>&1)
if printf '%s' "$out" | grep -q '"payload":{"AWS_LAMBDA_LOG_FORMAT":"JSON","AWS_LAMBDA_LOG_LEVEL":"WARN"}' \
   && printf '%s' "$txt" | grep -q '"payload":{"AWS_LAMBDA_LOG_FORMAT":null,"AWS_LAMBDA_LOG_LEVEL":null}'; then
  ok "the runtime gets AWS_LAMBDA_LOG_FORMAT=JSON and AWS_LAMBDA_LOG_LEVEL with JSON only"
else nok "runtime variables: $out / $txt"; fi

# 4b. The runtimes' own records: Python's logging and Node's console as JSON at the level set.
mkdir -p "$TMP/pylog" "$TMP/nodelog"
cat >"$TMP/pylog/lambda_function.py" <<'EOF'
import logging
def lambda_handler(event, context):
    logging.getLogger("app").info("hello %s", "py")
    logging.getLogger("app").debug("not at INFO")
    print("plain")
EOF
cat >"$TMP/nodelog/index.mjs" <<'EOF'
export const handler = async () => { console.info("hello", "node"); console.debug("not at WARN"); console.warn("careful"); };
EOF
chmod -R a+rX "$TMP/pylog" "$TMP/nodelog"
apps() { # the application records of a --json line on stdin: "level message" lines
  $PY -c '
import json, sys
for l in json.load(sys.stdin)["logTail"].splitlines():
    if l.startswith("{\"timestamp\""):
        r = json.loads(l)
        print(r["level"], r["message"], r.get("logger", "-"), bool(r["requestId"]))
    elif not l.startswith("{"):
        print("text", l)'
}
py=$("$PT" invoke "$TMP/pylog" --state-dir "$STATE" --log-format json --json 2>&1 | apps 2>&1)
node=$("$PT" invoke "$TMP/nodelog" --state-dir "$STATE" --log-format json --app-log-level WARN --json 2>&1 | apps 2>&1)
if [ "$py" = "INFO hello py app True
text plain" ] && [ "$node" = "WARN careful - True" ]; then
  ok "runtimes: Python logging and Node console records in JSON, filtered by ApplicationLogLevel"
else nok "application records: python '$py' node '$node'"; fi

# 5. Refusals: exit 2, the field and the allowed values named.
for args in "--app-log-level DEBUG|ApplicationLogLevel DEBUG is not supported when LogFormat is Text" \
            "--log-format json --system-log-level TRACE|SystemLogLevel \"TRACE\" is not supported: allowed DEBUG, INFO, WARN" \
            "--log-format yaml|LogFormat \"yaml\" is not supported: allowed Text, JSON" \
            "--log-format json --app-log-level LOUD|allowed TRACE, DEBUG, INFO, WARN, ERROR, FATAL"; do
  flags=${args%%|*}; msg=${args#*|}
  out=$("$PT" invoke examples/noop-c --state-dir "$STATE" $flags 2>&1); st=$?
  if [ $st = 2 ] && printf '%s' "$out" | grep -qF "$msg"; then ok "refused ($flags): exit 2"
  else nok "$flags: exit $st: $out"; fi
done

# 6. A template: LoggingConfig from Globals, the function's own mapping wins per key.
mkdir -p "$TMP/sam"
cp examples/noop-c/bootstrap "$TMP/sam/"
cat >"$TMP/sam/template.yaml" <<'EOF'
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    LoggingConfig:
      LogFormat: JSON
      SystemLogLevel: WARN
Resources:
  Noop:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: bootstrap
      Runtime: provided.al2023
      LoggingConfig:
        SystemLogLevel: DEBUG
EOF
chmod -R a+rX "$TMP/sam"
"$PT" invoke "$TMP/sam/template.yaml" --state-dir "$STATE" --json >"$TMP/sam.json" 2>"$TMP/sam.err"
v=$(check_tail "$TMP/sam.json" '[["platform.initStart","platform.initRuntimeDone","platform.initReport","platform.start","platform.runtimeDone","platform.report"]]' 2>&1)
[ "$v" = ok ] && ok "template LoggingConfig: JSON from Globals, SystemLogLevel DEBUG from the function" \
  || nok "template: $v $(cat "$TMP/sam.err")"
sed -i 's/SystemLogLevel: DEBUG/SystemLogLevel: LOUD/' "$TMP/sam/template.yaml"
out=$("$PT" invoke "$TMP/sam/template.yaml" --state-dir "$STATE" 2>&1); st=$?
if [ $st = 2 ] && printf '%s' "$out" | grep -q 'template.yaml:[0-9]*:[0-9]*: .*LoggingConfig.SystemLogLevel.*SystemLogLevel "LOUD" is not supported'; then
  ok "template: a bad level refused with its line and column"
else nok "template bad level (exit $st): $out"; fi

# 7. powertune logs over the JSON stream files: every invocation's report, cold starts counted.
"$PT" logs "$STATE/logs/noop-c" --json >"$TMP/logs.json" 2>"$TMP/logs.err"
v=$($PY - "$TMP/logs.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def find(o, key):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == key:
                return v
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(o, list):
        for v in o:
            r = find(v, key)
            if r is not None:
                return r
    return None
cold = find(d, "coldStarts")
print(find(d, "invocations"), cold.get("count") if isinstance(cold, dict) else cold,
      find(d, "unparsedLines"))
EOF
)
# noop-c ran 4 times in JSON (2 + DEBUG + WARN); WARN's has no report record.
case "$v" in
  "3 2 0"|"3 2 None") ok "powertune logs reads the JSON records (3 reports, 2 cold starts)" ;;
  *) nok "logs over JSON streams: '$v' $(head -c 600 "$TMP/logs.json") $(cat "$TMP/logs.err")" ;;
esac

# 8. serve: LoggingConfig through the API, Tail, tune by ARN.
if ! { [ -x "$AWS" ] && "$AWS" --version 2>&1 | grep -q '^aws-cli/2'; }; then
  echo "# skip: AWS CLI v2 not at $AWS"; exit 0
fi
aws_test_env us-east-1
SSTATE="$TMP/sstate"
mkdir -m 755 "$SSTATE"
if ! serve_start serve --state-dir "$SSTATE" --update-window-ms 300; then
  nok "serve did not start: $(cat "$TMP/serve.err")"; exit 1
fi
A="$AWS lambda --endpoint-url $EP --output text --cli-read-timeout 60"
(cd examples/cpu-c && zip -q "$TMP/cpu.zip" bootstrap)
# CreateFunction and UpdateFunctionConfiguration with LoggingConfig (this AWS CLI predates the
# member): plain requests, serve runs without --require-signature. Prints "<status> <body>".
# The body goes through a file: a zipped bootstrap in base64 is over the 128 KB an argument may hold.
api() { # $1 = method, $2 = path, $3 = JSON body
  printf '%s' "$3" >"$TMP/api-body.json"
  $PY - "$EP" "$1" "$2" "$TMP/api-body.json" <<'EOF'
import sys, urllib.request, urllib.error
ep, method, path, body_file = sys.argv[1:5]
with open(body_file) as f:
    body = f.read()
req = urllib.request.Request(ep + path, data=body.encode() if body else None, method=method,
                             headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=60) as r:
        print(r.status, r.read().decode().replace("\n", " "))
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("x-amzn-ErrorType"), e.read().decode())
EOF
}
ZIP=$(base64 -w0 "$TMP/cpu.zip")
create() { # $1 = name, $2 = LoggingConfig (JSON)
  api POST /2015-03-31/functions "{\"FunctionName\":\"$1\",\"Runtime\":\"provided.al2023\",
    \"Handler\":\"bootstrap\",\"Role\":\"arn:aws:iam::123456789012:role/r\",\"MemorySize\":128,
    \"Code\":{\"ZipFile\":\"$ZIP\"},\"LoggingConfig\":$2}"
}
out=$(create bad '{"LogFormat":"Text","ApplicationLogLevel":"DEBUG"}')
printf '%s' "$out" | grep -q '^400 InvalidParameterValueException.*LogLevel is not supported when LogFormat is set to \\"Text\\"' \
  && ok "serve: a level with Text refused (InvalidParameterValueException)" || nok "serve Text+level: $out"
out=$(create bad '{"LogFormat":"JSON","SystemLogLevel":"TRACE"}')
printf '%s' "$out" | grep -q "^400 ValidationException.*'loggingConfig.systemLogLevel'" \
  && ok "serve: SystemLogLevel TRACE refused (ValidationException)" || nok "serve TRACE: $out"
ARNJ=$(create cpu-json '{"LogFormat":"JSON"}' | sed -n 's/.*"FunctionArn": *"\([^"]*\)".*/\1/p')
ARNT=$(create cpu-text '{"LogFormat":"Text"}' | sed -n 's/.*"FunctionArn": *"\([^"]*\)".*/\1/p')
$A wait function-active --function-name cpu-json >/dev/null 2>&1
$A wait function-active --function-name cpu-text >/dev/null 2>&1
logging() { # the LoggingConfig of $1 as "LogFormat ApplicationLogLevel SystemLogLevel"
  api GET "/2015-03-31/functions/$1/configuration" "" | $PY -c '
import json, sys
l = json.loads(sys.stdin.read().split(" ", 1)[1])["LoggingConfig"]
print(l.get("LogFormat"), l.get("ApplicationLogLevel"), l.get("SystemLogLevel"))'
}
cfg=$(logging cpu-json 2>&1)
[ "$cfg" = "JSON INFO INFO" ] && ok "serve: LoggingConfig JSON stored, levels INFO by default" || nok "config: $cfg"
$AWS lambda --endpoint-url "$EP" invoke --function-name cpu-json --log-type Tail \
  --cli-binary-format raw-in-base64-out --payload '{"iterations": 1000}' \
  --query LogResult --output text "$TMP/out.json" >"$TMP/tail.b64" 2>"$TMP/tail.err"
if base64 -d "$TMP/tail.b64" 2>/dev/null | $PY -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin if l.startswith("{\"time\"")]
t = [r["type"] for r in recs]
assert t == ["platform.initStart", "platform.initReport", "platform.start", "platform.report"], t
assert "initDurationMs" in recs[-1]["record"]["metrics"]
'; then ok "serve: Invoke --log-type Tail carries the JSON records"
else nok "serve Tail: $(base64 -d "$TMP/tail.b64" 2>&1 | head -c 800) $(cat "$TMP/tail.err")"; fi
api PUT /2015-03-31/functions/cpu-json/configuration \
  '{"LoggingConfig":{"LogFormat":"JSON","SystemLogLevel":"DEBUG"}}' >/dev/null
$A wait function-updated --function-name cpu-json >/dev/null 2>&1
cfg=$(logging cpu-json 2>&1)
[ "$cfg" = "JSON INFO DEBUG" ] && ok "serve: UpdateFunctionConfiguration sets SystemLogLevel" || nok "update: $cfg"
api PUT /2015-03-31/functions/cpu-json/configuration '{"LoggingConfig":{"LogFormat":"Text"}}' >/dev/null
$A wait function-updated --function-name cpu-json >/dev/null 2>&1
cfg=$(logging cpu-json 2>&1)
api PUT /2015-03-31/functions/cpu-json/configuration '{"LoggingConfig":{"LogFormat":"JSON"}}' >/dev/null
$A wait function-updated --function-name cpu-json >/dev/null 2>&1
cfg2=$(logging cpu-json 2>&1)
[ "$cfg" = "Text None None" ] && [ "$cfg2" = "JSON INFO INFO" ] \
  && ok "serve: back to Text drops the levels" || nok "Text then JSON: $cfg / $cfg2"

# tune by ARN, both formats: every sample's figures are the engine's own records, same pick.
SETTINGS="--powers 128,1769 --num 3 --strategy speed"
PAYLOAD='{"iterations": 5000000}'
for fmt in json text; do
  eval arn=\$ARN$(printf '%s' "$fmt" | cut -c1 | tr jt JT)
  if "$PT" tune "$arn" --endpoint-url "$EP" $SETTINGS --payload "$PAYLOAD" --output "$TMP/$fmt.json" \
       --samples "$TMP/$fmt.jsonl" >"$TMP/$fmt.out" 2>"$TMP/$fmt.err"; then :
  else nok "tune $fmt: $(tail -3 "$TMP/$fmt.err")"; fi
done
v=$($PY - "$TMP" "$SSTATE/logs" <<'EOF'
import glob, json, os, re, sys
tmp, logs = sys.argv[1], sys.argv[2]
def samples(fmt):
    return [json.loads(l) for l in open(os.path.join(tmp, fmt + ".jsonl"))][1:]
def engine_json(name):
    out = []
    for f in glob.glob(os.path.join(logs, name, "**", "*.log"), recursive=True):
        for line in open(f):
            i = line.find('{"time"')
            if i >= 0 and '"platform.report"' in line:
                m = json.loads(line[i:])["record"]["metrics"]
                out.append((m["durationMs"], m["billedDurationMs"], m["maxMemoryUsedMB"]))
    return out
def engine_text(name):
    out = []
    pat = re.compile(r"REPORT RequestId: \S+\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\tMemory Size: \d+ MB\tMax Memory Used: (\d+) MB")
    for f in glob.glob(os.path.join(logs, name, "**", "*.log"), recursive=True):
        for line in open(f):
            m = pat.search(line)
            if m:
                out.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
    return out
for fmt, recs in (("json", engine_json("cpu-json")), ("text", engine_text("cpu-text"))):
    s = samples(fmt)
    if len(s) != 6:
        sys.exit("%s: %d samples" % (fmt, len(s)))
    for x in s:
        key = (x["durationMs"], x["billedDurationMs"], x["maxMemoryUsedMB"])
        if key not in recs:
            sys.exit("%s: sample %s not among the engine's records %s" % (fmt, key, recs))
    if fmt == "json" and not any(x["initDurationMs"] for x in s):
        sys.exit("json: no cold start read")
pj = json.load(open(os.path.join(tmp, "json.json")))["power"]
pt = json.load(open(os.path.join(tmp, "text.json")))["power"]
print("ok" if pj == pt else "picks differ: json %s, text %s" % (pj, pt))
EOF
)
[ "$v" = ok ] && ok "tune by ARN: JSON and Text functions give the engine's own figures, same pick" \
  || nok "tune by ARN JSON vs Text: $v $(cat "$TMP/json.out" "$TMP/text.out" | head -20)"

# A restart reloads LoggingConfig from the state directory: still JSON records.
kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
if serve_start serve2 --state-dir "$SSTATE" --update-window-ms 300; then
  $AWS lambda --endpoint-url "$EP" invoke --function-name cpu-json --log-type Tail \
    --cli-binary-format raw-in-base64-out --payload '{"iterations": 1000}' \
    --query LogResult --output text "$TMP/out2.json" >"$TMP/tail2.b64" 2>"$TMP/tail2.err"
  if base64 -d "$TMP/tail2.b64" 2>/dev/null | grep -q '^{"time":"[^"]*","type":"platform.report"'; then
    ok "serve restarted: the reloaded function still logs JSON records"
  else nok "after restart: $(base64 -d "$TMP/tail2.b64" 2>&1 | head -c 600) $(cat "$TMP/tail2.err")"; fi
else nok "serve did not restart: $(cat "$TMP/serve2.err")"; fi
