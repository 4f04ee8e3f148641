#!/bin/sh
# `powertune serve` against real clients nobody here wrote: the AWS CLI v2 (Debian's awscli,
# /usr/bin/aws), boto3 (Debian's python3-boto3) and @aws-sdk/client-lambda (npm, installed into
# build/peers/serve-sdk), all with --require-signature on; kill -9 and restart; slow and
# malformed clients. A client that is not installed is skipped with a message.
# Prints "ok N - ..." / "not ok N - ..." lines.
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
. tests/cli/lib.sh
skip() { echo "# skip: $1"; }
# Renumbers a peer's TAP lines into this script's sequence.
relay() {
  while IFS= read -r line; do
    case "$line" in
      "ok "*) ok "${line#ok * - }" ;;
      "not ok "*) nok "${line#not ok * - }" ;;
      *) echo "# $line" ;;
    esac
  done
}

aws_test_env us-east-1

start_server() { # $1 = log name
  serve_start "$1" --state-dir "$STATE" --require-signature --update-window-ms 300 \
    --event-retry-delay-ms 200
}

if start_server serve1; then ok "serve starts on an ephemeral port"
else nok "serve did not start: $(cat "$TMP/serve1.err")"; exit 1; fi

# Unsigned requests are refused with AWS's code.
hdr=$(curl -s -D - -o "$TMP/body" "$EP/2015-03-31/functions/")
if printf '%s' "$hdr" | grep -q '^HTTP/1.1 403' && printf '%s' "$hdr" | grep -qi '^x-amzn-ErrorType: MissingAuthenticationTokenException' \
   && printf '%s' "$hdr" | grep -qi '^x-amzn-RequestId: ' && grep -q '"message"' "$TMP/body"; then
  ok "unsigned request: 403 MissingAuthenticationTokenException with x-amzn-RequestId"
else nok "unsigned request: $hdr $(cat "$TMP/body")"; fi

# A request-target over 16 KB is refused, not served cut short (a Qualifier at its end was dropped).
pad=$(head -c 16400 /dev/zero | tr '\0' x)
hdr=$(curl -s -D - -o "$TMP/body" "$EP/2015-03-31/functions/fib/configuration?pad=$pad&Qualifier=nope")
if printf '%s' "$hdr" | grep -q '^HTTP/1.1 400' && printf '%s' "$hdr" | grep -qi '^x-amzn-ErrorType: ValidationException'; then
  ok "a request URI over 16 KB: 400 ValidationException"
else nok "a request URI over 16 KB: $hdr $(cat "$TMP/body")"; fi

# ---- AWS CLI v2 ----
if [ -x "$AWS" ] && "$AWS" --version 2>&1 | grep -q '^aws-cli/2'; then
  A="$AWS lambda --endpoint-url $EP --output json --cli-read-timeout 60"
  (cd examples/fibonacci-python && zip -q "$TMP/fib.zip" lambda_function.py)
  (cd examples/error-python && zip -q "$TMP/err.zip" *.py)
  expect() { # DESCRIPTION EXPECTED COMMAND...
    desc=$1; want=$2; shift 2
    got=$("$@" 2>&1); st=$?
    if [ $st = 0 ] && [ "$got" = "$want" ]; then ok "aws cli: $desc"; else nok "aws cli: $desc (exit $st: $got)"; fi
  }
  expect "create-function from a zip is Pending" "Pending	fib" \
    $A create-function --function-name fib --runtime python3.12 --handler lambda_function.lambda_handler \
      --role arn:aws:iam::123456789012:role/r --zip-file "fileb://$TMP/fib.zip" --query '[State,FunctionName]' --output text
  expect "wait function-active-v2" "" $A wait function-active-v2 --function-name fib
  # As Lambda's (a presigned S3 URL), Code.Location downloads with a plain GET: it is presigned.
  loc=$($A get-function --function-name fib --query Code.Location --output text 2>&1)
  if curl -s -f -o "$TMP/dl.zip" "$loc" && cmp -s "$TMP/dl.zip" "$TMP/fib.zip"; then
    ok "aws cli: get-function's Code.Location downloads the zip unsigned"
  else nok "aws cli: Code.Location $loc: $(curl -s "$loc")"; fi
  $A invoke --function-name fib --cli-binary-format raw-in-base64-out --payload '{"n": 10}' "$TMP/out.json" >"$TMP/inv.json" 2>&1
  if grep -q '"iterations": 10' "$TMP/out.json" && grep -q '"StatusCode": 200' "$TMP/inv.json"; then ok "aws cli: invoke (sync)"
  else nok "aws cli: invoke: $(cat "$TMP/inv.json" "$TMP/out.json")"; fi
  log=$($A invoke --function-name fib --log-type Tail --cli-binary-format raw-in-base64-out --payload '{"n": 1}' "$TMP/out.json" --query LogResult --output text 2>&1 | base64 -d 2>/dev/null)
  if printf '%s' "$log" | grep -q '^REPORT RequestId: .*Duration: .*Memory Size: 128 MB'; then ok "aws cli: --log-type Tail"
  else nok "aws cli: --log-type Tail: $log"; fi
  expect "invoke --invocation-type Event is 202" "202" \
    $A invoke --function-name fib --invocation-type Event --cli-binary-format raw-in-base64-out --payload '{"n": 1}' "$TMP/ev.json" --query StatusCode --output text
  expect "create-function of a failing function" "error-fn" \
    $A create-function --function-name error-fn --runtime python3.12 --handler lambda_function.lambda_handler \
      --role arn:aws:iam::123456789012:role/r --zip-file "fileb://$TMP/err.zip" --query FunctionName --output text
  $A wait function-active-v2 --function-name error-fn
  expect "a failing Event invocation is accepted" "202" \
    $A invoke --function-name error-fn --invocation-type Event "$TMP/ev.json" --query StatusCode --output text
  i=0
  while [ $i -lt 100 ] && ! grep -q 'event error-fn:\$LATEST (attempt 3).*no retries left' "$TMP/serve1.err"; do sleep 0.1; i=$((i + 1)); done
  if [ "$(grep -c 'event error-fn:\$LATEST (attempt [123])' "$TMP/serve1.err")" = 3 ]; then ok "a failed Event invocation is retried twice"
  else nok "Event retries: $(grep 'event error-fn' "$TMP/serve1.err")"; fi
  expect "update-function-configuration answers InProgress" "InProgress	256" \
    $A update-function-configuration --function-name fib --memory-size 256 --timeout 10 --query '[LastUpdateStatus,MemorySize]' --output text
  expect "wait function-updated" "" $A wait function-updated --function-name fib
  expect "get-function-configuration after the update" "Successful	256	10" \
    $A get-function-configuration --function-name fib --query '[LastUpdateStatus,MemorySize,Timeout]' --output text
  # SnapStart is accepted, validated as Lambda validates it and shown (serve makes no snapshot:
  # its versions are Active at once); OptimizationStatus is On for a version published with it.
  expect "update-function-configuration --snap-start" "PublishedVersions	Off" \
    $A update-function-configuration --function-name fib --snap-start ApplyOn=PublishedVersions \
      --query '[SnapStart.ApplyOn,SnapStart.OptimizationStatus]' --output text
  $A wait function-updated --function-name fib
  got=$($A update-function-configuration --function-name fib --snap-start ApplyOn=Always 2>&1); st=$?
  if [ $st != 0 ] && printf '%s' "$got" | grep -q "ValidationException.*Value 'Always' at 'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: \[PublishedVersions, None\]"; then
    ok "aws cli: an unknown SnapStart ApplyOn is a ValidationException"
  else nok "aws cli: SnapStart ApplyOn=Always (exit $st): $got"; fi
  expect "publish-version" "1" $A publish-version --function-name fib --query Version --output text
  expect "the version published with SnapStart: OptimizationStatus On, Active" "PublishedVersions	On	Active" \
    $A get-function-configuration --function-name fib --qualifier 1 --query '[SnapStart.ApplyOn,SnapStart.OptimizationStatus,State]' --output text
  expect "\$LATEST with SnapStart: OptimizationStatus Off" "PublishedVersions	Off" \
    $A get-function-configuration --function-name fib --query '[SnapStart.ApplyOn,SnapStart.OptimizationStatus]' --output text
  expect "create-alias" "arn:aws:lambda:us-east-1:123456789012:function:fib:live" \
    $A create-alias --function-name fib --name live --function-version 1 --query AliasArn --output text
  expect "invoke through the alias" "1" \
    $A invoke --function-name fib:live --cli-binary-format raw-in-base64-out --payload '{"n": 1}' "$TMP/out.json" --query ExecutedVersion --output text
  expect "update-alias" "\$LATEST	moved" \
    $A update-alias --function-name fib --name live --function-version '$LATEST' --description moved --query '[FunctionVersion,Description]' --output text
  expect "get-alias" "\$LATEST" $A get-alias --function-name fib --name live --query FunctionVersion --output text
  expect "list-aliases" "live" $A list-aliases --function-name fib --query 'Aliases[].Name' --output text
  expect "list-versions-by-function" "\$LATEST	1" $A list-versions-by-function --function-name fib --query 'Versions[].Version' --output text
  expect "list-functions" "error-fn	fib" $A list-functions --query 'Functions[].FunctionName' --output text
  expect "put-function-concurrency" "3" $A put-function-concurrency --function-name fib --reserved-concurrent-executions 3 --query ReservedConcurrentExecutions --output text
  expect "get-function-concurrency" "3" $A get-function-concurrency --function-name fib --query ReservedConcurrentExecutions --output text
  expect "delete-function-concurrency" "" $A delete-function-concurrency --function-name fib
  expect "get-function-concurrency when unset" "None" $A get-function-concurrency --function-name fib --query ReservedConcurrentExecutions --output text
  got=$($A get-function --function-name nope 2>&1); st=$?
  if [ $st != 0 ] && printf '%s' "$got" | grep -q 'ResourceNotFoundException.*Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope'; then
    ok "aws cli: ResourceNotFoundException"; else nok "aws cli: missing function: $got"; fi
  expect "delete-alias" "" $A delete-alias --function-name fib --name live
  expect "delete-function --qualifier" "" $A delete-function --function-name fib --qualifier 1
  expect "delete-function" "" $A delete-function --function-name fib
  expect "delete-function (error-fn)" "" $A delete-function --function-name error-fn
  # A function whose name starts with "invocations" still takes code up to the CreateFunction
  # limit, not Invoke's 6 MB: the limit follows the route, not a substring of the path.
  cp "$TMP/fib.zip" "$TMP/big.zip"
  head -c 5000000 /dev/urandom >"$TMP/blob.bin"
  (cd "$TMP" && zip -q -0 big.zip blob.bin)
  expect "create-function invocations-log" "invocations-log" \
    $A create-function --function-name invocations-log --runtime python3.12 --handler lambda_function.lambda_handler \
      --role arn:aws:iam::123456789012:role/r --zip-file "fileb://$TMP/fib.zip" --query FunctionName --output text
  $A wait function-active-v2 --function-name invocations-log
  expect "update-function-code of invocations-log with a 5 MB zip (7 MB request)" "$(wc -c <"$TMP/big.zip" | tr -d ' ')" \
    $A update-function-code --function-name invocations-log --zip-file "fileb://$TMP/big.zip" --query CodeSize --output text
  expect "delete-function (invocations-log)" "" $A delete-function --function-name invocations-log
else
  skip "AWS CLI v2 not at $AWS (apt-get install awscli)"
fi

# ---- boto3 ----
if $PY -c 'import boto3' 2>/dev/null; then
  $PY tests/peers/serve/boto3_client.py "$EP" "$STATE" >"$TMP/tap" 2>&1; relay <"$TMP/tap"
  $PY tests/peers/serve/lifecycle.py robust "$EP" >"$TMP/tap" 2>&1; relay <"$TMP/tap"
else
  skip "boto3 not importable by $PY (apt-get install python3-boto3)"
fi

# ---- @aws-sdk/client-lambda ----
if [ -x examples/noop-c/bootstrap ] && command -v node >/dev/null 2>&1 && tests/peers/serve/setup.sh >"$TMP/sdk-setup.log" 2>&1; then
  (cd examples/noop-c && zip -q "$TMP/noop.zip" bootstrap)
  node tests/peers/serve/sdk_client.mjs "$EP" "$ROOT/build/peers/serve-sdk" "$TMP/noop.zip" >"$TMP/tap" 2>/dev/null
  relay <"$TMP/tap"
else
  skip "@aws-sdk/client-lambda unavailable (node, npm install, or examples/noop-c/bootstrap): $(tail -3 "$TMP/sdk-setup.log" 2>/dev/null)"
fi

# ---- kill -9 and restart ----
saved_events() { ls "$STATE"/api/events/*.event 2>/dev/null | wc -l; }
have_aws() { [ -x "$AWS" ] && "$AWS" --version 2>&1 | grep -q '^aws-cli/2'; }
if $PY -c 'import boto3' 2>/dev/null; then
  $PY tests/peers/serve/lifecycle.py setup "$EP" "$TMP/acked.json" >"$TMP/tap" 2>&1; relay <"$TMP/tap"
  if have_aws; then
    # Event invocations of a throttled function wait in the queue: acknowledged, so durable.
    expect "create-function (queued, with SnapStart)" "queued" \
      $A create-function --function-name queued --runtime python3.12 --handler lambda_function.lambda_handler \
        --role arn:aws:iam::123456789012:role/r --zip-file "fileb://$TMP/err.zip" --query FunctionName --output text \
        --snap-start ApplyOn=PublishedVersions
    $A wait function-active-v2 --function-name queued
    expect "put-function-concurrency 0 (queued)" "0" \
      $A put-function-concurrency --function-name queued --reserved-concurrent-executions 0 --query ReservedConcurrentExecutions --output text
    for k in 1 2; do
      expect "Event $k of a throttled function is accepted" "202" \
        $A invoke --function-name queued --invocation-type Event --cli-binary-format raw-in-base64-out --payload "{\"k\": $k}" "$TMP/ev.json" --query StatusCode --output text
    done
    if [ "$(saved_events)" = 2 ]; then ok "accepted Event invocations are on disk"; else nok "saved events before kill -9: $(saved_events)"; fi
  fi
  kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
  if start_server serve2; then ok "serve restarts on the same state after kill -9"
  else nok "restart: $(cat "$TMP/serve2.err")"; fi
  if have_aws; then
    A="$AWS lambda --endpoint-url $EP --output json --cli-read-timeout 60"
    if [ "$(saved_events)" = 2 ]; then ok "queued Event invocations survive kill -9"; else nok "saved events after kill -9: $(saved_events)"; fi
    expect "delete-function-concurrency (queued)" "" $A delete-function-concurrency --function-name queued
    expect "SnapStart survives kill -9" "PublishedVersions" \
      $A get-function-configuration --function-name queued --query SnapStart.ApplyOn --output text
  fi
  $PY tests/peers/serve/lifecycle.py verify "$EP" "$TMP/acked.json" >"$TMP/tap" 2>&1; relay <"$TMP/tap"
  if have_aws; then
    # Each event now runs, fails and is retried twice (200 ms apart), then its file goes.
    i=0
    while [ $i -lt 300 ] && [ "$(grep -c 'event queued:\$LATEST (attempt 3).*no retries left' "$TMP/serve2.err")" != 2 ]; do sleep 0.1; i=$((i + 1)); done
    if [ "$(grep -c 'event queued:\$LATEST (attempt [123])' "$TMP/serve2.err")" = 6 ]; then ok "the events queued before kill -9 run after the restart, with their retries"
    else nok "events after the restart: $(grep 'event queued' "$TMP/serve2.err")"; fi
    i=0
    while [ $i -lt 50 ] && [ "$(saved_events)" != 0 ]; do sleep 0.1; i=$((i + 1)); done
    if [ "$(saved_events)" = 0 ]; then ok "a finished event's file is removed"; else nok "saved events left: $(saved_events)"; fi
    expect "delete-function (queued)" "" $A delete-function --function-name queued
  fi
fi

# A serve whose sockets are numbered past FD_SETSIZE (as with a few dozen environments) still
# answers: libmicrohttpd must poll, not select.
if out=$($PY tests/cli/serve_many_fds.py "$PT" "$TMP/state-many-fds" 2>&1); then
  ok "serve listens and answers with descriptors past FD_SETSIZE"
else nok "serve past FD_SETSIZE: $out"; fi

# Clients trickling their headers or body a byte at a time (each byte restarts the idle timeout)
# on every connection: their connections are cut, and a new client is served meanwhile.
if out=$($PY tests/cli/serve_slow_clients.py "$PT" "$TMP/state-slow-clients" 2>&1); then
  ok "clients trickling bytes on every connection are cut; others are served; a long invocation is not cut"
else nok "serve with trickling clients: $out"; fi

# Each environment holds about a dozen descriptors: serve raises its soft descriptor limit to the
# hard one (under a soft 1024, about 60 concurrent cold starts failed with EMFILE).
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt 1024 ]; then
  mkdir -m 755 "$TMP/state-nofile"
  (ulimit -Sn 1024 && exec "$PT" serve --port 0 --state-dir "$TMP/state-nofile") >"$TMP/nofile.out" 2>"$TMP/nofile.err" &
  nofile_pid=$!
  i=0
  while [ $i -lt 100 ] && ! grep -q '^listening' "$TMP/nofile.out"; do sleep 0.1; i=$((i + 1)); done
  limits=$(awk '/^Max open files/ {print $4, $5}' "/proc/$nofile_pid/limits" 2>/dev/null)
  kill -TERM "$nofile_pid"; wait "$nofile_pid"
  if [ -n "$limits" ] && [ "${limits% *}" = "${limits#* }" ]; then ok "serve started under a soft limit of 1024 descriptors raises it to the hard one ($limits)"
  else nok "serve's descriptor limits (soft hard) under ulimit -Sn 1024: '$limits' $(cat "$TMP/nofile.err")"; fi
else skip "the hard descriptor limit is 1024: nothing to raise"; fi

# Clean shutdown: SIGTERM ends the server with status 0.
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; st=$?; SERVER_PID=
if [ $st = 0 ]; then ok "SIGTERM stops serve with status 0"; else nok "SIGTERM: status $st"; fi
if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP"/serve*.err; then
  nok "sanitizer reports: $(grep -h -A5 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP"/serve*.err | head -20)"
else ok "no sanitizer report from the server"; fi
