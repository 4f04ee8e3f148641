#!/bin/sh
# `powertune tune --adaptive` from the outside: on clearly separated cases (cpu-c under
# speed, a sleeping function under cost) it uses fewer invocations than num x powers and
# recommends what the full run recommends; the output JSON states the test and its
# confidence; the samples file, analyze and --resume keep working.
cd "$(dirname "$0")/../.."
PT=${PT:-build-asan/powertune}
[ -x "$PT" ] || PT=build/powertune
PY=/usr/bin/python3
T=$(mktemp -d)
export POWERTUNE_STATE_DIR="$T/state"
trap 'rm -rf "$T"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { # DESCRIPTION PYTHON-EXPRESSION-ON-j (the output JSON) FILE
  if $PY -c "import json,sys; j=json.load(open('$3')); sys.exit(0 if ($2) else 1)" 2>/dev/null; then ok "$1"; else nok "$1 ($(head -c 400 "$3"))"; fi
}
power() { $PY -c "import json; print(json.load(open('$1'))['power'])" 2>/dev/null; }

# cpu-c, about 17 ms of CPU: 128, 512 and 1769 MB are far apart under speed (CPU share
# 7 %, 29 %, 100 %), more than any noise of a shared host.
CPU='{"iterations":10000000}'
common="examples/cpu-c --powers 128,512,1769 --num 10 --payload $CPU --strategy speed"
# shellcheck disable=SC2086
if "$PT" tune $common --adaptive --samples "$T/a.jsonl" --output "$T/a.json" >"$T/a.txt" 2>&1 &&
   "$PT" tune $common --output "$T/f.json" >"$T/f.txt" 2>&1; then
  check "speed: adaptive used fewer than num x powers (30) invocations" \
    "j['powertune']['adaptive']['invocations'] < 30 and j['powertune']['adaptive']['saved'] > 0" "$T/a.json"
  pa=$(power "$T/a.json"); pf=$(power "$T/f.json")
  [ -n "$pa" ] && [ "$pa" = "$pf" ] && ok "speed: same recommendation as the full run ($pa MB)" || nok "speed: adaptive $pa MB, full run $pf MB"
  check "the JSON states the test and its confidence" \
    "'Yuen' in j['powertune']['adaptive']['test'] and j['powertune']['adaptive']['confidence'] == 0.95 and j['powertune']['adaptive']['fixedInvocations'] == 30" "$T/a.json"
  check "stopped powers name the leader that beat them" \
    "all(p['state'] != 'stopped' or p['beatenBy'] == 1769 for p in j['powertune']['adaptive']['powers'])" "$T/a.json"
  used=$($PY -c "import json; print(json.load(open('$T/a.json'))['powertune']['adaptive']['invocations'])")
  lines=$(($(wc -l < "$T/a.jsonl") - 1))
  [ "$lines" = "$used" ] && ok "every adaptive invocation streamed to the samples file ($lines)" || nok "samples: $lines lines, $used invocations"
  grep -q "^note: adaptive: $used of 30 invocations" "$T/a.txt" && ok "the table's note says what was saved" || nok "no adaptive note: $(tail -3 "$T/a.txt")"
  "$PT" analyze "$T/a.jsonl" --strategy speed --output "$T/an.json" >/dev/null 2>&1
  [ "$(power "$T/an.json")" = "$pa" ] && ok "analyze of the adaptive samples agrees" || nok "analyze: $(power "$T/an.json") vs $pa"
else
  nok "cpu-c runs failed: $(tail -3 "$T/a.txt") $(tail -3 "$T/f.txt")"
fi

# A function that sleeps 30 ms: the duration is flat, the price grows with memory; cost
# picks 128 MB and the larger sizes stop after the minimum.
SLEEP='{"seconds":0.03}'
common="examples/handler-sleep-python --powers 128,512,1769 --num 8 --payload $SLEEP --strategy cost"
# shellcheck disable=SC2086
if "$PT" tune $common --adaptive --output "$T/s.json" >"$T/s.txt" 2>&1 &&
   "$PT" tune $common --output "$T/sf.json" >"$T/sf.txt" 2>&1; then
  check "cost: adaptive used fewer than num x powers (24) invocations" \
    "j['powertune']['adaptive']['invocations'] < 24" "$T/s.json"
  pa=$(power "$T/s.json"); pf=$(power "$T/sf.json")
  [ "$pa" = 128 ] && [ "$pf" = 128 ] && ok "cost: both runs recommend 128 MB" || nok "cost: adaptive $pa MB, full run $pf MB"
else
  nok "sleep runs failed: $(tail -3 "$T/s.txt") $(tail -3 "$T/sf.txt")"
fi

# Ctrl-C in the middle of an adaptive run, then --resume: the run completes, no power
# beyond num, the samples of the first part kept.
# shellcheck disable=SC2086
"$PT" tune examples/cpu-c --powers 128,1769 --num 10 --payload "$CPU" --strategy cost \
  --adaptive --samples "$T/r.jsonl" >/dev/null 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid; st=$?
kept=$(($(wc -l < "$T/r.jsonl") - 1))
[ "$st" = 130 ] || [ "$st" = 0 ] && ok "Ctrl-C during an adaptive run: exit $st, $kept samples kept" || nok "Ctrl-C: exit $st"
if "$PT" tune examples/cpu-c --powers 128,1769 --num 10 --payload "$CPU" --strategy cost \
    --adaptive --resume "$T/r.jsonl" --output "$T/r.json" >/dev/null 2>&1; then
  check "--resume --adaptive completes: no power beyond num, counts match the file" \
    "all(p['invocations'] <= 10 for p in j['powertune']['adaptive']['powers']) and j['powertune']['adaptive']['invocations'] == $(($(wc -l < "$T/r.jsonl") - 1))" "$T/r.json"
else
  nok "--resume --adaptive failed"
fi

out=$("$PT" tune --help 2>&1)
printf '%s' "$out" | grep -q -- "--adaptive" && printf '%s' "$out" | grep -q "95 % family-wise" && ok "--help states the test and its confidence" || nok "--help lacks --adaptive"

[ "$fails" = 0 ]
