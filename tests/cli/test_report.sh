#!/bin/sh
# `--report FILE.html` and `--compare OTHER.json` from the outside: tune and analyze write
# the page, the comparison URL has the 8-part form, bad input is refused before anything
# runs, and headless Chromium (Debian's chromium) draws the charts: every power has its
# marks in the rendered DOM with a real size on screen, and the screenshot is not blank.
cd "$(dirname "$0")/../.."
PT=${PT:-build-asan/powertune}
[ -x "$PT" ] || PT=build/powertune
PY=/usr/bin/python3
T=$(mktemp -d)
export POWERTUNE_STATE_DIR="$T/state"
trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $1"; }
CPU='{"iterations": 5000000}'
POWERS="128 256 512"

# Static checks of a page: one <svg> per chart, a mark per power in each, nothing fetched.
# $1 = page, $2 = expect a compared run (1/0).
page_check() {
  $PY - "$1" "$2" "$POWERS" <<'PYEOF'
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
other = sys.argv[2] == "1"
powers = sys.argv[3].split()
errors = []
svgs = dict(re.findall(r'<svg id="(chart-[a-z]+)"(.*?)</svg>', page, re.S))
if sorted(svgs) != ["chart-cold", "chart-cost", "chart-duration", "chart-frontier"]:
    errors.append("charts: %s" % sorted(svgs))
for cid, svg in svgs.items():
    for p in powers:
        cls = "pt-cold" if cid == "chart-cold" else "pt-point"
        if not re.search(r'class="%s[^"]*" data-power="%s"' % (cls, p), svg):
            errors.append("%s: no %s for %s MB" % (cid, cls, p))
        if other and cid != "chart-cold" and 'class="pt-other-point" data-power="%s"' % p not in svg:
            errors.append("%s: no compared point for %s MB" % (cid, p))
for bad in ("<script", "<link", "<img", "<iframe", "@import", "@font-face", ' src="'):
    if bad in page:
        errors.append("page contains " + bad)
for m in re.finditer(r'https?://', page):
    if not page.startswith("https://lambda-power-tuning.show/", m.start()):
        errors.append("external reference: " + page[m.start():m.start() + 60])
if "Content-Security-Policy" not in page:
    errors.append("no CSP")
print("; ".join(errors))
sys.exit(1 if errors else 0)
PYEOF
}

# 1. tune --report (and --output for the comparisons below).
if "$PT" tune examples/cpu-c --powers 128,256,512 --num 3 --payload "$CPU" --report "$T/R.html" \
    --samples "$T/s.jsonl" --output "$T/o.json" >"$T/tune.txt" 2>&1; then
  ok "tune --report runs"
else
  nok "tune --report failed: $(tail -5 "$T/tune.txt")"
fi
if [ -f "$T/R.html" ] && out=$(page_check "$T/R.html" 0); then
  ok "tune report: 4 charts, a mark per power in each, self-contained"
else
  nok "tune report: ${out:-no page}"
fi
ls "$T"/.R.html* "$T"/R.html.* >/dev/null 2>&1 && nok "temporary file left beside the report" \
  || ok "report written atomically (no temporary file left)"

# 2. analyze --report --compare: the same samples under another strategy, against the run.
if "$PT" analyze "$T/s.jsonl" --strategy balanced --report "$T/A.html" --compare "$T/o.json" \
    >"$T/analyze.txt" 2>&1; then
  ok "analyze --report --compare runs"
else
  nok "analyze --report --compare failed: $(tail -5 "$T/analyze.txt")"
fi
url=$(sed -n 's/^comparison: //p' "$T/analyze.txt")
parts=$(printf '%s' "${url#*#}" | awk -F';' '{print NF}')
case "$url" in
  https://lambda-power-tuning.show/#gAAAAQAC\;*\;gAAAAQAC\;*\;before\;after)
    [ "$parts" = 8 ] && ok "comparison URL: 8 parts, both runs' powers, legends before/after" \
      || nok "comparison URL has $parts parts: $url" ;;
  *) nok "comparison URL: '$url'" ;;
esac
if [ -f "$T/A.html" ] && out=$(page_check "$T/A.html" 1); then
  ok "analyze report: both runs in the charts"
else
  nok "analyze report: ${out:-no page}"
fi
grep -q 'comparison</dt><dd><a href="https://lambda-power-tuning.show/#' "$T/A.html" 2>/dev/null \
  && ok "the report links the comparison" || nok "no comparison link in the report"

# 3. --json keeps stdout JSON: the comparison line goes to stderr.
if "$PT" analyze "$T/s.jsonl" --json --compare "$T/o.json" >"$T/j.json" 2>"$T/j.err" \
    && $PY -c "import json; json.load(open('$T/j.json'))" 2>/dev/null \
    && grep -q '^comparison: https://' "$T/j.err"; then
  ok "--json --compare: stdout stays JSON, the URL on stderr"
else
  nok "--json --compare: $(head -c 300 "$T/j.json") / $(cat "$T/j.err")"
fi

# 4. Refused before anything runs (exit 2, no log written).
refused() { # DESCRIPTION EXPECTED-TEXT ARGS...
  desc=$1; want=$2; shift 2
  rm -rf "$POWERTUNE_STATE_DIR"
  out=$("$PT" "$@" 2>&1 >/dev/null); st=$?
  if [ "$st" = 2 ] && printf '%s' "$out" | grep -qF -- "$want" && [ ! -d "$POWERTUNE_STATE_DIR/logs" ]; then
    ok "$desc"
  else
    nok "$desc (exit $st: $out)"
  fi
}
echo '{"not": "an output"}' > "$T/bad.json"
echo 'null' > "$T/dry.json"
refused "tune --compare with a missing file refused up front" "$T/missing.json" \
  tune examples/cpu-c --num 3 --compare "$T/missing.json"
refused "tune --compare with a foreign JSON refused up front" "stateMachine.visualization" \
  tune examples/cpu-c --num 3 --compare "$T/bad.json"
refused "a dry run's output cannot be compared" "dry run" \
  analyze "$T/s.jsonl" --compare "$T/dry.json"
refused "--report with --dry-run refused" "dry run" \
  tune examples/cpu-c --num 3 --dry-run --report "$T/D.html"
cp "$T/o.json" "$T/prev.json"
refused "--report over the --compare file refused" "the same file as --compare" \
  analyze "$T/s.jsonl" --compare "$T/prev.json" --report "$T/./prev.json"
cmp -s "$T/o.json" "$T/prev.json" && ok "--report over --compare refused: the compared output is intact" \
  || nok "--report replaced the --compare file"
printf 'REPORT RequestId: 1 Duration: 2.00 ms Billed Duration: 2 ms Memory Size: 128 MB Max Memory Used: 50 MB\n' > "$T/app.log"
cp "$T/app.log" "$T/app.orig"
refused "logs --report over one of its inputs refused" "the same file as the input" \
  logs "$T/app.log" --report "$T/./app.log"
cmp -s "$T/app.log" "$T/app.orig" && ok "logs --report refused: the log is intact" || nok "logs --report replaced its input"
refused "logs --report naming a directory refused before reading" "is a directory" \
  logs "$T/app.log" --report "$T"
# logs has no engine to stop: one SIGTERM (as `timeout` sends) or Ctrl-C ends it.
"$PT" logs /dev/zero --max-line 1024 >/dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then
  nok "logs ignored SIGTERM"; kill -TERM $pid; wait $pid
else
  wait $pid; ok "logs ends on one SIGTERM"
fi
# A report that cannot be written whole (here a file size limit, as a full disk) leaves the
# previous one as it was, and no temporary file.
i=0; while [ $i -lt 300 ]; do
  echo "2024-01-01T00:00:0$((i % 10)).000Z REPORT RequestId: $i Duration: $i.00 ms Billed Duration: $i ms Memory Size: 128 MB Max Memory Used: 50 MB"
  i=$((i + 1))
done > "$T/big.log"
mkdir "$T/rep" && echo "previous report" > "$T/rep/L.html"
(trap '' XFSZ; ulimit -f 4; "$PT" logs "$T/big.log" --report "$T/rep/L.html" >/dev/null 2>&1); st=$?
[ "$st" = 1 ] && [ "$(cat "$T/rep/L.html")" = "previous report" ] && [ "$(ls "$T/rep")" = L.html ] \
  && ok "logs --report that cannot be written keeps the previous report" \
  || nok "logs --report failing mid-write: exit $st, $(head -c 60 "$T/rep/L.html"), $(ls "$T/rep")"

# 5. Rendering in headless Chromium.
CHROMIUM=$(command -v chromium || command -v chromium-browser)
if [ -z "$CHROMIUM" ]; then
  skip "chromium not installed"
  skip "chromium not installed"
  skip "chromium not installed"
  exit 0
fi
chrome() { # chromium flags for a root, offline, throw-away run
  prof=$(mktemp -d "$T/profile.XXXXXX")
  HOME="$prof" timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$prof" --hide-scrollbars "$@" 2>>"$T/chromium.log"
}

for page in R A; do
  # The probe measures what the browser laid out: every mark of every power must have a
  # non-zero box on screen, and the lines and bands a non-zero length. The page's own CSP
  # forbids scripts, so the probe runs on a copy without it.
  sed -e 's/<meta http-equiv="Content-Security-Policy"[^>]*>//' \
      -e 's#</body>#<pre id="probe"></pre><script>(function(){var out={};document.querySelectorAll("svg[id^=chart-]").forEach(function(s){var r=s.getBoundingClientRect(),o={w:r.width,h:r.height,marks:{},paths:0};s.querySelectorAll("[data-power]").forEach(function(e){var b=e.getBoundingClientRect(),p=e.getAttribute("data-power");if(b.width>0\&\&b.height>0\&\&b.left>=r.left-1\&\&b.right<=r.right+1\&\&b.top>=r.top-1\&\&b.bottom<=r.bottom+1)o.marks[p]=(o.marks[p]||0)+1;});s.querySelectorAll("path.pt-line,path.pt-band,path.pt-frontier,path.pt-other-line").forEach(function(e){if(e.getTotalLength()>0)o.paths++;});out[s.id]=o;});document.getElementById("probe").textContent=JSON.stringify(out);})();</script></body>#' \
      "$T/$page.html" > "$T/$page-probe.html"
  chrome --dump-dom "file://$T/$page-probe.html" > "$T/$page.dom"
  if $PY - "$T/$page.dom" "$POWERS" <<'PYEOF'
import json, re, sys, html
dom = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
if not m or not m.group(1):
    print("no probe output"); sys.exit(1)
charts = json.loads(html.unescape(m.group(1)))
errors = []
for cid in ("chart-duration", "chart-cost", "chart-frontier", "chart-cold"):
    c = charts.get(cid)
    if not c or c["w"] < 200 or c["h"] < 100:
        errors.append("%s not laid out: %s" % (cid, c)); continue
    for p in sys.argv[2].split():
        if not c["marks"].get(p):
            errors.append("%s: nothing drawn for %s MB" % (cid, p))
    if cid in ("chart-duration", "chart-cost") and c["paths"] < 2:
        errors.append("%s: line or band has no length" % cid)
if errors: print("; ".join(errors))
sys.exit(1 if errors else 0)
PYEOF
  then ok "chromium lays out every chart of $page.html with marks for 128, 256 and 512 MB"
  else nok "chromium layout of $page.html: $(tail -c 400 "$T/$page.dom")"
  fi
done

# The real page (CSP on) as a screenshot: not blank, and the charts' blue is painted.
chrome --window-size=1280,1300 --screenshot="$T/R.png" "file://$T/R.html" >/dev/null
if out=$($PY - "$T/R.png" <<'PYEOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), "PNG type %d/%d" % (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
nonwhite = blue = 0
colours = set()
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        for i in range(stride): line[i] = (line[i] + prev[i]) & 255
    elif f == 3:
        for i in range(stride):
            line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):  # every other pixel is plenty
        r, g, b = line[x], line[x + 1], line[x + 2]
        if r < 245 or g < 245 or b < 245: nonwhite += 1
        if b > 200 and r < 90 and 80 < g < 130: blue += 1  # the run's colour, #2563eb
        colours.add((r >> 4, g >> 4, b >> 4))
    prev = line
total = (w // 2) * h
share = nonwhite / total
print("%dx%d, %.1f%% non-white, %d blue samples, %d colours" % (w, h, 100 * share, blue, len(colours)))
sys.exit(0 if w >= 1000 and 0.03 < share < 0.9 and blue > 200 and len(colours) > 20 else 1)
PYEOF
); then
  ok "screenshot of R.html is not blank: $out"
else
  nok "screenshot of R.html: ${out:-none} ($(tail -3 "$T/chromium.log"))"
fi
[ -n "$KEEP_REPORT" ] && cp "$T/R.html" "$T/R.png" "$T/A.html" "$KEEP_REPORT"/
exit 0
