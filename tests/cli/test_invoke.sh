#!/bin/sh
# `powertune invoke` from the outside: exit codes, error messages naming the
# field and the allowed range, --json fields, and nothing left behind.
# Prints "ok N - ..." / "not ok N - ..." lines.
cd "$(dirname "$0")/../.."
PT=${PT:-build-asan/powertune}
[ -x "$PT" ] || PT=build/powertune
STATE=$(mktemp -d)
export POWERTUNE_STATE_DIR="$STATE"
trap 'rm -rf "$STATE"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# expect_usage DESCRIPTION "MESSAGE SUBSTRING" ARGS...: exit code 2 and the message on stderr.
expect_usage() {
  desc=$1; want=$2; shift 2
  out=$("$PT" "$@" 2>&1 >/dev/null); st=$?
  if [ "$st" = 2 ] && printf '%s' "$out" | grep -qF -- "$want"; then ok "$desc"
  else nok "$desc (exit $st: $out)"; fi
}

expect_usage "memory below range" "--memory \"64\": MemorySize must be a whole number: allowed 128 to 10240 (MB)" invoke examples/noop-c --memory 64
expect_usage "memory 0: Lambda's range, not a wider one" "allowed 128 to 10240 (MB)" invoke examples/noop-c --memory 0
expect_usage "timeout not a number: Lambda's range" "Timeout must be a whole number: allowed 1 to 900 (seconds)" invoke examples/noop-c --timeout soon
expect_usage "memory above range" "allowed 128 to 10240" invoke examples/noop-c --memory 10241
expect_usage "memory not a number" "--memory \"lots\"" invoke examples/noop-c --memory lots
expect_usage "timeout above range" "--timeout \"901\": Timeout must be a whole number: allowed 1 to 900" invoke examples/noop-c --timeout 901
expect_usage "unknown runtime" "python2.7" invoke examples/noop-c --runtime python2.7
expect_usage "reserved env key" "AWS_REGION" invoke examples/noop-c --env AWS_REGION=x
expect_usage "invalid JSON payload" "--payload is not valid JSON" invoke examples/noop-c --payload '{bad'

# --help is a request, not a mistake: the usage on stdout and exit 0, for every command.
for cmd in invoke tune analyze logs profile serve; do
  out=$("$PT" $cmd --help 2>/dev/null); st=$?
  if [ "$st" = 0 ] && printf '%s' "$out" | grep -q "^usage: powertune $cmd"; then ok "$cmd --help: usage, exit 0"
  else nok "$cmd --help: exit $st"; fi
done
expect_usage "missing directory" "no such directory" invoke examples/does-not-exist
expect_usage "missing FUNCTION" "missing FUNCTION" invoke
expect_usage "unknown option" 'unknown option "--frobnicate"' invoke examples/noop-c --frobnicate
expect_usage "unknown option in a short cluster" 'unknown option "-x"' invoke examples/noop-c --json -xq
expect_usage "option without its value" 'option "--memory" needs a value' invoke examples/noop-c --memory
expect_usage "unknown command" "unknown command" frobnicate
expect_usage "payload file missing" "--payload-file" invoke examples/noop-c --payload-file /nonexistent.json
expect_usage "empty --name" "--name is empty" invoke examples/noop-c --name ''
expect_usage "empty --handler" "--handler is empty" invoke examples/noop-c --handler ''

# Valid JSON with an escaped NUL in a string (Python's json.dumps writes one for "\0"): taken.
if "$PT" invoke examples/noop-c --payload '{"a":"\u0000"}' >/dev/null 2>&1; then
  ok "a payload with \\u0000 is taken"; else nok "a payload with \\u0000 refused"; fi

out=$("$PT" invoke examples/noop-c --json --count 2 2>/dev/null); st=$?
if [ "$st" = 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 2 ]; then ok "--json --count 2 prints two objects"; else nok "--json --count 2 (exit $st)"; fi
first=$(printf '%s\n' "$out" | head -1)
second=$(printf '%s\n' "$out" | tail -1)
missing=""
for k in requestId functionError payload durationMs billedDurationMs memorySizeMB maxMemoryUsedMB initDurationMs coldStart cpuTimeMs degraded logTail; do
  printf '%s' "$first" | grep -q "\"$k\":" || missing="$missing $k"
done
if [ -z "$missing" ]; then ok "--json has every documented field"; else nok "--json lacks:$missing"; fi
if printf '%s' "$first" | grep -q '"coldStart":true' && printf '%s' "$second" | grep -q '"coldStart":false' \
   && printf '%s' "$second" | grep -q '"initDurationMs":null'; then ok "first cold, second warm with null initDurationMs"
else nok "cold/warm flags: $second"; fi

err=$("$PT" invoke examples/noop-c 2>&1 >/dev/null)
if printf '%s' "$err" | grep -q '^REPORT RequestId: .*	Duration: [0-9]*\.[0-9][0-9] ms	Billed Duration: [0-9]* ms	Memory Size: 128 MB	Max Memory Used: [0-9]* MB	Init Duration: '; then
  ok "REPORT line on stderr in Lambda's format"; else nok "REPORT line: $err"; fi

out=$("$PT" invoke examples/crash-c --payload '{"signal":"SEGV"}' --json 2>/dev/null); st=$?
if [ "$st" = 0 ] && printf '%s' "$out" | grep -q '"functionError":"Unhandled"' && printf '%s' "$out" | grep -q 'Runtime.ExitError'; then
  ok "a crash is a function error, not a tool failure"; else nok "crash: exit $st $out"; fi

# LD_LIBRARY_PATH: Lambda's entries that exist here, in Lambda's order (the code's lib/ when it has one).
fn=$(mktemp -d)
chmod 755 "$fn"
printf 'import os\ndef lambda_handler(event, context):\n    return os.environ.get("LD_LIBRARY_PATH")\n' >"$fn/lambda_function.py"
without=$("$PT" invoke "$fn" 2>/dev/null)
mkdir "$fn/lib"
with=$("$PT" invoke "$fn" 2>/dev/null)
rm -rf "$fn"
if [ ! -d /opt/lib ] && printf '%s' "$without" | grep -q /opt/lib; then
  nok "LD_LIBRARY_PATH names /opt/lib, which does not exist: $without"
else
  case "$without|$with" in
    *":$fn\"|"*":$fn:$fn/lib\"") ok "LD_LIBRARY_PATH holds Lambda's entries that exist, in order" ;;
    *) nok "LD_LIBRARY_PATH: $without | $with" ;;
  esac
fi

# AWS_LAMBDA_EXEC_WRAPPER: the wrapper runs with the runtime's command line as its arguments
# (the Python runtime's here); a missing one fails INIT as on Lambda.
fn=$(mktemp -d)
chmod 755 "$fn"
printf 'import os, sys\ndef lambda_handler(event, context):\n    return [os.environ.get("WRAPPED"), sys.argv[0]]\n' >"$fn/lambda_function.py"
printf '#!/bin/sh\nexport WRAPPED="$#:$1"\nexec "$@"\n' >"$fn/wrapper.sh"
chmod 755 "$fn/wrapper.sh"
out=$("$PT" invoke "$fn" --env AWS_LAMBDA_EXEC_WRAPPER=wrapper.sh 2>/dev/null)
missing=$("$PT" invoke "$fn" --env AWS_LAMBDA_EXEC_WRAPPER=/nonexistent/wrapper 2>/dev/null)
rm -rf "$fn"
case "$out" in
  '["2:'*'python3'*'bootstrap.py"]') ok "AWS_LAMBDA_EXEC_WRAPPER wraps the runtime's command" ;;
  *) nok "AWS_LAMBDA_EXEC_WRAPPER: $out" ;;
esac
case "$missing" in
  *Runtime.InvalidEntrypoint*) ok "a missing AWS_LAMBDA_EXEC_WRAPPER: Runtime.InvalidEntrypoint" ;;
  *) nok "a missing AWS_LAMBDA_EXEC_WRAPPER: $missing" ;;
esac

# Output and a response that are not UTF-8 (binary bytes, or the 4 KB tail cut inside a
# character) still give --json its payload and logTail, the bad bytes as '?'.
fn=$(mktemp -d)
chmod 755 "$fn"
cat >"$fn/bootstrap" <<'EOF'
#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
id=$(curl -sS -D - -o /dev/null "$api/next" | tr -d '\r' | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
printf 'bad \377\376 bytes\n'
printf 'r\377\376' | curl -sS -o /dev/null --data-binary @- "$api/$id/response"
exec sleep 10
EOF
chmod 755 "$fn/bootstrap"
out=$("$PT" invoke "$fn" --json 2>/dev/null)
rm -rf "$fn"
if printf '%s' "$out" | grep -q '"payload":"r??"' && printf '%s' "$out" | grep -q '"logTail":"START .*bad ?? bytes'; then
  ok "--json keeps a payload and logTail that are not UTF-8"; else nok "--json with bytes that are not UTF-8: $out"; fi

# The function's own PATH, TZ, LD_LIBRARY_PATH replace Lambda's defaults (unreserved names, as on
# Lambda); the defaults stay for the names it does not set.
out=$("$PT" invoke tests/functions/sandbox-python --env PATH=/opt/x/bin --env TZ=Europe/Paris \
  --env LD_LIBRARY_PATH=/opt/x/lib --payload '{"env": ["PATH", "TZ", "LD_LIBRARY_PATH", "LANG"]}' 2>/dev/null)
want='{"PATH": "/opt/x/bin", "TZ": "Europe/Paris", "LD_LIBRARY_PATH": "/opt/x/lib", "LANG": "en_US.UTF-8"}'
if [ "$out" = "$want" ]; then ok "--env replaces an unreserved default"
else nok "--env PATH/TZ/LD_LIBRARY_PATH: $out"; fi

# Every invocation has its own X-Ray trace header, not sampled, as on Lambda without active
# tracing: the runtime puts it in _X_AMZN_TRACE_ID.
out=$("$PT" invoke tests/functions/sandbox-python --count 2 --payload '{"env": ["_X_AMZN_TRACE_ID"]}' 2>/dev/null)
re='^[{]"_X_AMZN_TRACE_ID": "Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0"[}]$'
if [ "$(printf '%s\n' "$out" | grep -cE "$re")" = 2 ] && [ "$(printf '%s\n' "$out" | sort -u | wc -l)" = 2 ]; then
  ok "_X_AMZN_TRACE_ID: one per invocation"; else nok "_X_AMZN_TRACE_ID: $out"; fi

# Max Memory Used counts what the runtime has resident, its interpreter's file-backed pages
# included (a microVM's memory holds them): it said 5 MB for a Python runtime with 10 MB
# resident, counting only the pages charged to the function's cgroup.
out=$("$PT" invoke tests/functions/resident-python --json 2>/dev/null)
got=$(printf '%s\n' "$out" | /usr/bin/python3 -c "import json,sys; d=json.loads(sys.stdin.readline()); print(d['maxMemoryUsedMB'] * 1024 >= d['payload']['vmhwm_kb'] > 4096, d['maxMemoryUsedMB'], d['payload']['vmhwm_kb'])" 2>&1)
case "$got" in True*) ok "Max Memory Used covers the runtime's resident memory ($got)" ;;
  *) nok "Max Memory Used below the runtime's resident memory: $got" ;; esac
# ... also when a warm invocation maps pages the page cache already held (nothing charged to
# the function's cgroup grows; the resident size does): the mark is read again.
map=$(readlink -f /usr/bin/python3)
out=$("$PT" invoke tests/functions/resident-python --count 4 --payload "{\"map\": \"$map\", \"at\": 4}" --json 2>/dev/null)
got=$(printf '%s\n' "$out" | /usr/bin/python3 -c "
import json, sys
a, b = [json.loads(l) for l in sys.stdin][2:]
grew = b['payload']['vmhwm_kb'] - a['payload']['vmhwm_kb']
print(b['maxMemoryUsedMB'] * 1024 >= b['payload']['vmhwm_kb'] and grew > 4096, b['maxMemoryUsedMB'], b['payload']['vmhwm_kb'], grew)" 2>&1)
case "$got" in True*) ok "Max Memory Used follows resident memory mapped on a warm invocation ($got)" ;;
  *) nok "Max Memory Used after a warm invocation's mapping: $got" ;; esac

# Every command with an engine raises its soft descriptor limit to the hard one (each
# environment holds about a dozen; tune --parallel ran out under a soft 1024, as serve did).
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt 1024 ]; then
  (ulimit -Sn 1024 && exec "$PT" invoke examples/handler-sleep-python --payload '{"seconds": 2}') >/dev/null 2>&1 &
  pid=$!
  sleep 1 # the engine is up within milliseconds; the function sleeps 2 s
  limits=$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits" 2>/dev/null)
  wait "$pid"
  if [ -n "$limits" ] && [ "${limits% *}" = "${limits#* }" ]; then ok "invoke raises a soft limit of 1024 descriptors to the hard one ($limits)"
  else nok "invoke's descriptor limits (soft hard) under ulimit -Sn 1024: '$limits'"; fi
fi

# SIGTERM during an invocation: exit 143 (128 + SIGTERM, as a shell reports it), no cgroup or process left.
# The function carries a mark in its environment, so only this run's processes are looked for
# (other checkouts and sessions may run Python functions meanwhile).
mark="PT_TEST_MARK=sigterm-$$-$(date +%s%N)"
"$PT" invoke examples/handler-sleep-python --payload '{"seconds": 30}' --timeout 60 --env "$mark" >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -TERM $pid
wait $pid; st=$?
sleep 0.2
left=$(ls -d /sys/fs/cgroup/*/powertune/$pid-* 2>/dev/null)
procs=$(grep -lsa "$mark" /proc/[0-9]*/environ 2>/dev/null)
if [ "$st" = 143 ] && [ -z "$left" ] && [ -z "$procs" ]; then ok "SIGTERM: exit 143, nothing left"
else nok "SIGTERM: exit $st, left: $left $procs"; fi

[ "$fails" = 0 ]
