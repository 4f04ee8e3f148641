#!/bin/sh
# `powertune invoke` on SAM templates and on the source articles' Python workloads:
# the sam-app example (Globals, #LogicalId, flags over the template), errors with
# their template location, numpy's result, the I/O-bound example barely changed by
# memory, and boto3 clients created per invocation versus once at INIT.
# Prints "ok N - ..." / "not ok N - ..." lines.
cd "$(dirname "$0")/../.."
PT=${PT:-build-asan/powertune}
[ -x "$PT" ] || PT=build/powertune
PY=/usr/bin/python3
STATE=$(mktemp -d)
WORK=$(mktemp -d)
HOMEDIR=$(mktemp -d -p /var/tmp) # 0700, as /root is, and not under /tmp (which the sandbox replaces)
ESMPROJ=$(mktemp -d -p /var/tmp) # made searchable below: a Node.js ES-module project
export POWERTUNE_STATE_DIR="$STATE"
trap 'rm -rf "$STATE" "$WORK" "$HOMEDIR" "$ESMPROJ"' EXIT
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

# json_get FIELD.PATH: reads one --json object on stdin, prints the field (Python syntax path).
json_get() { "$PY" -c "import json,sys; d=json.loads(sys.stdin.readline()); print(d$1)"; }

# --- SAM templates -------------------------------------------------------------------------
expect_usage "template with two functions needs #LogicalId" \
  "defines 2 functions (HelloFunction, FibonacciFunction)" invoke examples/sam-app
expect_usage "unknown #LogicalId lists the functions" \
  "no resource Nope; its functions are: HelloFunction, FibonacciFunction" invoke examples/sam-app#Nope

out=$("$PT" invoke examples/sam-app#HelloFunction --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['greeting'], d['payload']['stage'], d['payload']['app'], d['payload']['log_level'], d['memorySizeMB'], d['payload']['function_name']" 2>&1)
if [ "$st" = 0 ] && [ "$got" = "hello from us-east-1 (powertune) dev sam-app DEBUG 512 HelloFunction" ]; then
  ok "sam-app#HelloFunction: Globals, !Sub, !If, !Ref and its own MemorySize"
else nok "sam-app#HelloFunction (exit $st): $got"; fi

out=$("$PT" invoke examples/sam-app/template.yaml#FibonacciFunction --payload '{"n": 100}' --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['iterations'], d['memorySizeMB']" 2>&1)
if [ "$st" = 0 ] && [ "$got" = "100 256" ]; then ok "template.yaml#FibonacciFunction: CodeUri ../fibonacci-python, MemorySize from Globals"
else nok "FibonacciFunction (exit $st): $got"; fi

out=$("$PT" invoke examples/sam-app#HelloFunction --memory 1024 --env STAGE=prod --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['stage'], d['memorySizeMB']" 2>&1)
if [ "$st" = 0 ] && [ "$got" = "prod 1024" ]; then ok "flags override the template"
else nok "flags over template (exit $st): $got"; fi

# Code written in the template (CloudFormation's Code.ZipFile, SAM's InlineCode): saved as
# index.py / index.js (CommonJS), as CloudFormation does, under the state directory; the
# template is in a directory others cannot search (a home), which the sandbox covers.
mkdir -p "$HOMEDIR/inline"
cat >"$HOMEDIR/inline/template.yaml" <<'EOF'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Word: {Type: String, Default: hello}
Resources:
  Py:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/r
      Code:
        ZipFile: !Sub |
          import os
          def handler(event, context):
              return {"word": "${Word}", "file": __file__, "cwd": os.getcwd()}
  Node:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      InlineCode: |
        exports.handler = async (event) => ({ cjs: typeof module !== "undefined", n: event.n });
EOF
out=$("$PT" invoke "$HOMEDIR/inline#Py" --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['word'], d['payload']['file'].startswith('$STATE/inline-code/'), d['payload']['file'].endswith('/index.py')" 2>&1)
[ "$st" = 0 ] && [ "$got" = "hello True True" ] && ok "Code.ZipFile (Python, !Sub): run from index.py under the state directory" \
  || nok "Code.ZipFile (exit $st): $got"
out=$("$PT" invoke "$HOMEDIR/inline#Node" --payload '{"n": 7}' --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['cjs'], d['payload']['n']" 2>&1)
[ "$st" = 0 ] && [ "$got" = "True 7" ] && ok "InlineCode (Node.js): index.js, a CommonJS module" \
  || nok "InlineCode (exit $st): $got"
# Code in a home others cannot search (/root is 0700): the unprivileged user reaches it.
mkdir -p "$HOMEDIR/fn" && cp examples/fibonacci-python/lambda_function.py "$HOMEDIR/fn/"
out=$("$PT" invoke "$HOMEDIR/fn" --payload '{"n": 10}' --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['iterations']" 2>&1)
[ "$st" = 0 ] && [ "$got" = 10 ] && ok "code under a directory others cannot search runs" \
  || nok "code under a 0700 directory (exit $st): $got"

# A deployment package (.zip), as FUNCTION or as a template's CodeUri (SAM CLI takes both):
# unpacked under the state directory, named after the file.
mkdir -p "$WORK/pkg" && cp examples/fibonacci-python/lambda_function.py "$WORK/pkg/"
(cd "$WORK/pkg" && "$PY" -c "import zipfile; z = zipfile.ZipFile('fib.zip', 'w'); z.write('lambda_function.py'); z.close()")
out=$("$PT" invoke "$WORK/pkg/fib.zip" --payload '{"n": 12}' --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['iterations']" 2>&1)
ls -d "$STATE"/logs/fib >/dev/null 2>&1 && [ "$st" = 0 ] && [ "$got" = 12 ] && ok "a .zip deployment package as FUNCTION (function name fib)" \
  || nok "a .zip as FUNCTION (exit $st): $got $(ls "$STATE/logs")"
printf 'Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fib.zip\n      Runtime: python3.12\n      Handler: lambda_function.lambda_handler\n' > "$WORK/pkg/template.yaml"
out=$("$PT" invoke "$WORK/pkg/template.yaml" --payload '{"n": 13}' --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['iterations']" 2>&1)
[ "$st" = 0 ] && [ "$got" = 13 ] && ok "CodeUri naming a .zip package" || nok "CodeUri: fib.zip (exit $st): $got"
# Under umask 077 (a hardened host's root): inline code, a package with a subdirectory, code in
# a home and code under /tmp still reach the functions' user. The state directory is new, so
# everything is made under that umask; the directories the engine makes (the code's, the way to
# it in the private /tmp and over a covered home) were 0700 and the runtime could not enter them.
(cd "$WORK/pkg" && "$PY" -c "
import zipfile
z = zipfile.ZipFile('sub.zip', 'w')
z.writestr('lambda_function.py', 'from pkg import mod\ndef lambda_handler(e, c):\n    return mod.X\n')
z.writestr('pkg/__init__.py', '')
z.writestr('pkg/mod.py', 'X = 42\n')
z.close()")
mkdir -p "$WORK/tmpcode" && cp examples/fibonacci-python/lambda_function.py "$WORK/tmpcode/"
got=$(umask 077
  for f in "$HOMEDIR/inline#Py" "$WORK/pkg/sub.zip" "$HOMEDIR/fn" "$WORK/tmpcode"; do
    "$PT" invoke "$f" --state-dir "$WORK/state077" --payload '{"n": 1}' --quiet >/dev/null 2>&1; printf '%s ' $?
  done)
[ "$got" = "0 0 0 0 " ] && ok "umask 077: inline code, a package's subdirectory, a home, /tmp all run" \
  || nok "umask 077: exit codes (inline, package, home, /tmp): $got"
# A state directory inside a project whose package.json says "type": "module" (searchable, not
# under /tmp, so the function sees the way up): an inline or packaged index.js is still CommonJS,
# as in Lambda's /var/task, not an ES module by the project's package.json.
chmod 755 "$ESMPROJ" && echo '{"type": "module"}' > "$ESMPROJ/package.json"
(cd "$WORK/pkg" && "$PY" -c "
import zipfile
z = zipfile.ZipFile('cjs.zip', 'w')
z.writestr('index.js', 'exports.handler = async () => ({ cjs: typeof module !== \"undefined\" });\n')
z.close()")
got=$(for f in "$HOMEDIR/inline#Node" "$WORK/pkg/cjs.zip"; do
    "$PT" invoke "$f" --state-dir "$ESMPROJ/state" --json 2>/dev/null | json_get "['payload']['cjs']" 2>&1 | tr '\n' ' '
  done)
[ "$got" = "True True " ] && ok "inline and packaged index.js stay CommonJS under an ES-module project's state directory" \
  || nok "index.js under an ES-module project's state directory: $got"

mkdir -p "$WORK/app/src"
cp examples/fibonacci-python/lambda_function.py "$WORK/app/src/"
cat >"$WORK/app/template.yaml" <<'EOF'
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Runtime: python3.12
      Environment:
        Variables:
          TABLE: !GetAtt Table.Arn
EOF
expect_usage "unresolvable intrinsic: name, file:line:column, property path" \
  "template.yaml:10:18: Resources.Fn.Properties.Environment.Variables.TABLE: !GetAtt Table.Arn cannot be resolved locally" \
  invoke "$WORK/app"
sed -i 's/          TABLE: !GetAtt Table.Arn/          TABLE: orders/; s/      Runtime: python3.12/      Runtime: python3.12\n      MemorySize: 64/' "$WORK/app/template.yaml"
expect_usage "template MemorySize out of range: the usual message" \
  "MemorySize 64 is out of range: allowed 128 to 10240" invoke "$WORK/app/template.yaml"
printf 'Resources:\n  Fn: {Type: AWS::Serverless::Function\n' >"$WORK/bad.yaml"
expect_usage "malformed YAML: file and line" "bad.yaml:3:1: YAML syntax error" invoke "$WORK/bad.yaml"
sed -i 's#      CodeUri: src#      CodeUri: s3://bucket/key.zip#' "$WORK/app/template.yaml"
expect_usage "S3 CodeUri refused" "CodeUri \"s3://bucket/key.zip\" is an S3 location" invoke "$WORK/app/template.yaml"

# --- numpy ---------------------------------------------------------------------------------
out=$("$PT" invoke examples/numpy-matmul-python --memory 1769 --timeout 60 --json 2>/dev/null); st=$?
got=$(printf '%s\n' "$out" | json_get "['payload']['shape'], d['payload']['dtype'], d['functionError']" 2>&1)
if [ "$st" = 0 ] && [ "$got" = "[1000, 1000] float32 None" ]; then
  ok "numpy-matmul-python: a 1000x1000 float32 product"
else nok "numpy-matmul-python (exit $st): $got"; fi

# --- I/O-bound: three 100 ms calls; memory (CPU share) barely matters ----------------------
io_ms() { # $1 = memory: the warm (second) invocation's duration in ms
  "$PT" invoke examples/io-bound-python --memory "$1" --count 2 --json 2>/dev/null | tail -1 |
    json_get "['durationMs'] if d['payload']['ok'] else -1" 2>/dev/null
}
d128=$(io_ms 128)
d1024=$(io_ms 1024)
if "$PY" -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if 300 <= a and 300 <= b and abs(a - b) <= 0.25 * b else 1)" "$d128" "$d1024" 2>/dev/null; then
  ok "io-bound-python: ${d128} ms at 128 MB vs ${d1024} ms at 1024 MB"
else nok "io-bound-python: ${d128} ms at 128 MB vs ${d1024} ms at 1024 MB"; fi
# The slow server is a thread of the runtime process: no process may remain whose working
# directory is the example's (other suites may run other functions meanwhile).
iodir=$(cd examples/io-bound-python && pwd -P)
left=""
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/cwd" 2>/dev/null)" = "$iodir" ] && left="$left ${p#/proc/}"
done
if [ -z "$left" ]; then ok "io-bound-python: nothing left running after the engine exits"
else nok "io-bound-python: processes left:$left"; fi

# --- boto3: six clients per invocation versus one at INIT -----------------------------------
boto3_warm() { # $1 = example: "<clients created> <best warm duration ms>"
  "$PT" invoke "examples/$1" --memory 1769 --timeout 60 --count 3 --json 2>/dev/null |
    "$PY" -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
assert len(rows) == 3 and all(r['functionError'] is None for r in rows), rows
print(rows[0]['payload']['clients_created'], min(r['durationMs'] for r in rows[1:]))" 2>&1
}
slow=$(boto3_warm boto3-clients-python)
fast=$(boto3_warm boto3-clients-fixed-python)
case "$slow" in "6 "*) ok "boto3-clients-python: six clients per invocation, no network (warm ${slow#6 } ms)" ;;
  *) nok "boto3-clients-python: $slow" ;; esac
if "$PY" -c "import sys; sys.exit(0 if float(sys.argv[2]) * 3 < float(sys.argv[1]) else 1)" "${slow#* }" "${fast#* }" 2>/dev/null; then
  ok "boto3-clients-fixed-python is faster warm (${fast#* } ms vs ${slow#* } ms)"
else nok "boto3 fixed vs per-invocation: fixed '$fast', per-invocation '$slow'"; fi

[ "$fails" = 0 ]
