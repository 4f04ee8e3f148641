#!/bin/sh
# `powertune profile` from the outside: bad options, the callgrind files read
# back by a small reader (format validity) and by callgrind_annotate, the flame
# graphs parsed as XML, INIT apart from the handler, and the boto3 pair of
# seeds.md article 5 (client creation dominating, six per invocation; once at
# INIT in the fixed version). Prints "ok N - ..." / "not ok N - ..." lines.
cd "$(dirname "$0")/../.."
PT=${PT:-build-asan/powertune}
[ -x "$PT" ] || PT=build/powertune
PY=/usr/bin/python3
STATE=$(mktemp -d)
# Raw profiles are written by the function (its own uid under the sandbox, with a
# private /tmp): a directory of our own under /var/tmp, to check it is emptied.
RAW=$(mktemp -d /var/tmp/powertune-test-profile-XXXXXX)
chmod 755 "$RAW"
OUT=$(mktemp -d)
export POWERTUNE_STATE_DIR="$STATE" POWERTUNE_PROFILE_TMPDIR="$RAW"
trap 'rm -rf "$STATE" "$RAW" "$OUT"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

expect_usage() {
  desc=$1; want=$2; shift 2
  out=$("$PT" "$@" 2>&1 >/dev/null); st=$?
  if [ "$st" = 2 ] && printf '%s' "$out" | grep -qF -- "$want"; then ok "$desc"
  else nok "$desc (exit $st: $out)"; fi
}

expect_usage "--num 0" "--num \"0\": allowed 1 to 1000" profile examples/boto3-clients-python --num 0
expect_usage "--num not a number" "--num \"x\"" profile examples/boto3-clients-python --num x
expect_usage "--top 0" "--top \"0\"" profile examples/boto3-clients-python --top 0
expect_usage "missing FUNCTION" "missing FUNCTION" profile
expect_usage "two FUNCTIONs" "exactly one FUNCTION" profile examples/boto3-clients-python examples/noop-c
expect_usage "unknown option" "unknown option" profile examples/boto3-clients-python --frobnicate
expect_usage "bad memory" "allowed 128 to 10240" profile examples/boto3-clients-python --memory 64
expect_usage "invalid payload" "--payload is not valid JSON" profile examples/boto3-clients-python --payload '{bad'
expect_usage "no profiler for the runtime" "python3.x and nodejs functions only" profile examples/noop-c
expect_usage "empty output dir" "--output-dir" profile examples/boto3-clients-python --output-dir ''
expect_usage "output dir naming a file, refused before profiling" "--output-dir: README.md exists and is not a directory" \
  profile examples/fibonacci-python --output-dir README.md --payload '{"n": 10}' --num 1

# The reader: callgrind format 1 as powertune writes it. Prints the calls per
# callee label (to check call counts) or exits 1 naming the first defect.
READER=$OUT/read_callgrind.py
cat >"$READER" <<'EOF'
import re, sys
path, want_callee = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
lines = open(path, encoding="utf-8").read().split("\n")
def fail(msg, i=None):
    print("%s%s: %s" % (path, "" if i is None else ":%d" % (i + 1), msg)); sys.exit(1)
if lines[0] != "# callgrind format": fail("no '# callgrind format' first line")
header = {}
i = 1
while i < len(lines) and lines[i] and not lines[i].startswith("fl="):
    k, _, v = lines[i].partition(":")
    header.setdefault(k.strip(), []).append(v.strip()); i += 1
if header.get("version") != ["1"]: fail("version is not 1")
if header.get("events") != ["us"]: fail("events line: %r" % header.get("events"))
summary = int(header["summary"][0])
fns, self_total, calls_to, edges, pending = set(), 0, {}, [], None
cur_fn, totals = None, None
cost = re.compile(r"^\d+ \d+$")
while i < len(lines):
    s = lines[i]
    if s == "" or s.startswith("fl=") or s.startswith("cfl="):
        pass
    elif s.startswith("fn="):
        cur_fn = s[3:]
        if cur_fn in fns: fail("fn defined twice: " + cur_fn, i)
        fns.add(cur_fn)
        if not cost.match(lines[i + 1]): fail("fn= without a self cost line", i)
        self_total += int(lines[i + 1].split()[1]); i += 1
    elif s.startswith("cfn="):
        if cur_fn is None: fail("cfn= before any fn=", i)
        m = re.match(r"^calls=(\d+) \d+$", lines[i + 1])
        if not m: fail("cfn= not followed by calls=", i)
        if not cost.match(lines[i + 2]): fail("calls= not followed by a cost line", i)
        callee, nc, inc = s[4:], int(m.group(1)), int(lines[i + 2].split()[1])
        if nc <= 0: fail("calls=0", i)
        edges.append((cur_fn, callee, inc, i))
        calls_to[callee] = calls_to.get(callee, 0) + nc
        i += 2
    elif s.startswith("totals:"):
        totals = int(s.split(":")[1])
    else:
        fail("unexpected line %r" % s, i)
    i += 1
if not fns: fail("no functions")
if self_total != summary: fail("summary %d != sum of self costs %d" % (summary, self_total))
if totals is not None and totals != summary: fail("totals %d != summary %d" % (totals, summary))
for caller, callee, inc, j in edges:
    if callee not in fns: fail("cfn= names an undefined function: " + callee, j)
    if inc > summary * 1.01 + 1000: fail("call cost %d above the total %d" % (inc, summary), j)
if want_callee:
    print(sum(v for k, v in calls_to.items() if k.startswith(want_callee)))
else:
    print("valid %d functions, %d calls, %d us" % (len(fns), len(edges), summary))
EOF

# profile_example NAME DIR: runs it with 2 invocations; the table in $OUT/NAME.txt.
NUM=2
CLIENT="client (boto3/__init__.py:"
for ex in boto3-clients-python boto3-clients-fixed-python; do
  d=$OUT/$ex
  "$PT" profile "examples/$ex" --num $NUM --memory 256 --output-dir "$d" >"$OUT/$ex.txt" 2>"$OUT/$ex.err"; st=$?
  if [ "$st" = 0 ]; then ok "$ex: profile exits 0"; else nok "$ex: profile exit $st: $(tail -3 "$OUT/$ex.err")"; continue; fi
  for f in "callgrind.out.$ex" "callgrind.out.$ex.init"; do
    if r=$($PY "$READER" "$d/$f" 2>&1); then ok "$ex: $f parses ($r)"; else nok "$ex: $f: $r"; fi
    if callgrind_annotate "$d/$f" >"$OUT/annotate.txt" 2>&1 && grep -q "PROGRAM TOTALS" "$OUT/annotate.txt"; then
      ok "$ex: callgrind_annotate reads $f"
    else nok "$ex: callgrind_annotate $f: $(head -3 "$OUT/annotate.txt")"; fi
  done
  for f in "$ex.flame.svg" "$ex.init.flame.svg"; do
    if r=$($PY -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
rects = list(r.iter("{http://www.w3.org/2000/svg}rect"))
assert len(rects) > 2, "no frames"
assert not list(r.iter("{http://www.w3.org/2000/svg}script")), "has a script"
print(len(rects))' "$d/$f" 2>&1); then ok "$ex: $f is well-formed SVG ($r rects)"; else nok "$ex: $f: $r"; fi
  done
  # INIT apart: the module body runs in INIT only, the handler in invocations only.
  if grep -q "^fn=<module> (lambda_function.py:1)" "$d/callgrind.out.$ex.init" &&
     ! grep -q "^fn=<module> (lambda_function.py:1)" "$d/callgrind.out.$ex" &&
     grep -q "^fn=lambda_handler (lambda_function.py" "$d/callgrind.out.$ex" &&
     ! grep -q "^fn=lambda_handler (lambda_function.py" "$d/callgrind.out.$ex.init" &&
     grep -q "^INIT " "$OUT/$ex.txt" && grep -q "^Handler ($NUM invocation" "$OUT/$ex.txt"; then
    ok "$ex: INIT profiled apart from the handler"
  else nok "$ex: INIT and handler mixed"; fi
  inv=$($PY "$READER" "$d/callgrind.out.$ex" "$CLIENT")
  init=$($PY "$READER" "$d/callgrind.out.$ex.init" "$CLIENT")
  # The handler table's row for boto3.client: calls per invocation and inclusive share.
  row=$(sed -n '/^Handler /,$p' "$OUT/$ex.txt" | grep -F "$CLIENT" | head -1)
  calls=$(printf '%s' "$row" | awk '{print $4}')
  share=$(printf '%s' "$row" | awk '{sub("%", "", $2); print int($2)}')
  if [ "$ex" = boto3-clients-python ]; then
    if [ "$inv" = $((6 * NUM)) ] && [ "$init" = 0 ]; then ok "$ex: boto3.client called 6 times per invocation, never at INIT"
    else nok "$ex: boto3.client calls: $inv in $NUM invocations, $init at INIT"; fi
    if [ "$calls" = 6 ] && [ "${share:-0}" -ge 50 ]; then ok "$ex: table shows client creation dominating (6 calls, $share%)"
    else nok "$ex: table row: '$row'"; fi
  else
    if [ "$inv" = 0 ] && [ "$init" = 1 ]; then ok "$ex: boto3.client called once, at INIT"
    else nok "$ex: boto3.client calls: $inv in $NUM invocations, $init at INIT"; fi
    if [ -z "$row" ]; then ok "$ex: no client creation in the handler table"
    else nok "$ex: handler table row: '$row'"; fi
  fi
done

# Node.js: V8's CPU profiler through runtimes/node/bootstrap.cjs (sampled: no call counts).
d=$OUT/node
if "$PT" profile examples/handler-node --num 1 --env TLA_ROUNDS=5000 --output-dir "$d" >"$OUT/node.txt" 2>"$OUT/node.err"; then
  ok "handler-node: profile exits 0"
  for f in callgrind.out.handler-node callgrind.out.handler-node.init; do
    if r=$($PY "$READER" "$d/$f" 2>&1) && callgrind_annotate "$d/$f" >/dev/null 2>&1; then ok "handler-node: $f parses ($r), callgrind_annotate reads it"
    else nok "handler-node: $f: $r"; fi
  done
  if grep -q "^fn=handler (index.mjs:" "$d/callgrind.out.handler-node" &&
     ! grep -q "^fn=handler (index.mjs:" "$d/callgrind.out.handler-node.init" &&
     $PY -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1]); E.parse(sys.argv[2])' \
       "$d/handler-node.flame.svg" "$d/handler-node.init.flame.svg"; then
    ok "handler-node: handler apart from INIT, flame graphs well-formed"
  else nok "handler-node: handler/INIT files"; fi
  # The profiler's own start and stop (node:inspector calls from the runtime, ~25 ms per
  # invocation) are not the function's time: they topped every handler table.
  if ! grep -q "node:inspector\|^fn=begin (.*bootstrap.cjs\|^fn=end (.*bootstrap.cjs" \
       "$d/callgrind.out.handler-node" "$d/callgrind.out.handler-node.init" &&
     ! grep -q "inspector" "$OUT/node.txt"; then
    ok "handler-node: the profiler's own calls are left out"
  else nok "handler-node: profiler frames in the output: $(grep -h "inspector\|^fn=begin\|^fn=end" "$d"/callgrind.out.handler-node* "$OUT/node.txt" | head -3)"; fi
else nok "handler-node: profile failed: $(tail -3 "$OUT/node.err")"; fi

# A handler that times out (its runtime killed before saving that invocation's profile) or
# whose INIT fails: the invocations that left a profile still make the tables; none -> exit 1,
# naming the error.
fn=$OUT/fn-timeout
mkdir -p "$fn"
cat >"$fn/lambda_function.py" <<'EOF2'
import time
n = 0
def slow_second(event, context):
    global n
    n += 1
    if n == 2:
        time.sleep(5)
    return n
EOF2
d=$OUT/timeout
if "$PT" profile "$fn" --handler lambda_function.slow_second --timeout 1 --num 3 --output-dir "$d" \
     >"$OUT/timeout.txt" 2>"$OUT/timeout.err" &&
   grep -q "invocation 2 (Sandbox.Timedout) left no profile" "$OUT/timeout.err" &&
   grep -q "^Handler (2 invocation(s))" "$OUT/timeout.txt" &&
   grep -q "^fn=slow_second (lambda_function.py:" "$d/callgrind.out.fn-timeout"; then
  ok "a timed-out invocation is left out, the other two profiled"
else nok "timed-out invocation: $(tail -3 "$OUT/timeout.err")"; fi
fn=$OUT/fn-import
mkdir -p "$fn"
printf 'import no_such_module_here\ndef lambda_handler(event, context):\n    return 1\n' >"$fn/lambda_function.py"
out=$("$PT" profile "$fn" --num 2 --output-dir "$OUT/import" 2>&1 >/dev/null); st=$?
if [ "$st" = 1 ] && printf '%s' "$out" | grep -q "no invocation left a profile.*Runtime.ImportModuleError" &&
   ! printf '%s' "$out" | grep -q "Init Duration -"; then
  ok "INIT failing every time: exit 1 naming Runtime.ImportModuleError"
else nok "INIT failing: exit $st: $out"; fi

if [ -z "$(ls -A "$RAW")" ]; then ok "raw profiles removed"; else nok "raw profiles left: $(ls "$RAW")"; fi
[ "$fails" = 0 ]
