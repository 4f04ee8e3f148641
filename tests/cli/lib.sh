# Sourced by the CLI tests from the repository root: the binary under test (PT), the tools, a
# TMP directory with STATE in it, the "ok N - ..." / "not ok N - ..." counters, and TMP and a
# background SERVER_PID cleaned up at exit.
PT=${PT:-build-asan/powertune}
[ -x "$PT" ] || PT=build/powertune
PY=/usr/bin/python3
AWS=/usr/bin/aws
TMP=$(mktemp -d)
chmod 755 "$TMP" # sandboxed functions run as an unprivileged user: their code must be reachable
STATE="$TMP/state"
mkdir -m 755 "$STATE"
# Hermetic: the engine's logs and tune's journals of remote runs under TMP, not the user's
# ~/.local/state (a journal left there by one test run would be recovered by the next).
export POWERTUNE_STATE_DIR="$TMP/pt-state"
SERVER_PID=
n=0
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }

# The SigV4 test vectors' credentials in region $1; nothing from the user's AWS configuration.
aws_test_env() {
  export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
  export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
  export AWS_REGION="$1" AWS_DEFAULT_REGION="$1" AWS_PAGER=
  unset AWS_SESSION_TOKEN AWS_PROFILE
  export AWS_CONFIG_FILE="$TMP/no-config" AWS_SHARED_CREDENTIALS_FILE="$TMP/no-credentials"
}

# Waits up to 10 s for SERVER_PID to print its port in file $1 (sed -n expression $2 extracts
# it) and sets PORT and EP; false if it never did or the server died.
wait_port() {
  i=0
  PORT=
  while [ $i -lt 100 ]; do
    PORT=$(sed -n "$2" "$1")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  EP="http://127.0.0.1:$PORT"
  [ -n "$PORT" ]
}

# `powertune serve --port 0` with the arguments after $1, in the background; its output goes
# to $TMP/$1.out and $TMP/$1.err.
serve_start() {
  name=$1
  shift
  "$PT" serve --port 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  SERVER_PID=$!
  wait_port "$TMP/$name.out" 's/^listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p'
}
