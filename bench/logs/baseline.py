#!/usr/bin/python3
"""The straightforward Python way to get `powertune logs`'s figures from a Lambda log.

What people write by hand (the deep-dive deck's "concurrency hunt" script, the cold-start
article's tables): read line by line, match REPORT lines with a regex, parse the timestamp with
datetime, keep every invocation in lists, sort, and compute. Standard library only. Prints the
key figures as JSON so bench/logs/run.sh can check both tools agree.

    /usr/bin/python3 bench/logs/baseline.py FILE [--quota N] [--minutes N]
"""
import argparse
import collections
import datetime
import json
import math
import re
import statistics

REPORT = re.compile(
    r"^(?:(\S+)\s+)?REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms\s+Billed Duration: (\d+) ms\s+"
    r"Memory Size: (\d+) MB\s+Max Memory Used: (\d+) MB(?:\s+Init Duration: ([\d.]+) ms)?"
    r"(?:\s+Status: (\w+))?")
PRICE_GB_S = 0.0000166667
PRICE_REQUESTS = 0.20


def pct(sorted_values, p):
    """Nearest rank, as powertune logs does."""
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[k - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--quota", type=int, default=1000)
    ap.add_argument("--minutes", type=int, default=6)
    a = ap.parse_args()

    invocations = []  # (end seconds, duration ms, memory MB, max used MB, billed ms)
    cold = []  # (memory MB, init ms)
    unparsed = 0
    with open(a.file, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "REPORT RequestId:" not in line:
                continue
            m = REPORT.match(line)
            if not m:
                unparsed += 1
                continue
            ts, _, dur, billed, mem, used, init, _ = m.groups()
            end = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
            invocations.append((end, float(dur), int(mem), int(used), int(billed)))
            if init:
                cold.append((int(mem), float(init)))

    durations = sorted(d for _, d, _, _, _ in invocations)
    # Concurrency from each invocation's own interval: a sweep over sorted start/end events.
    events = []
    for end, dur, _, _, _ in invocations:
        events.append((end - dur / 1000, 1))
        events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))
    cur = peak = 0
    peak_at = None
    per_second = collections.defaultdict(int)
    for t, delta in events:
        cur += delta
        sec = math.floor(t)
        if cur > per_second[sec]:
            per_second[sec] = cur
        if cur > peak:
            peak, peak_at = cur, t
    throttled_seconds = sum(1 for v in per_second.values() if v > a.quota)

    # The article's estimate per 1 s bin: count * pct(duration, 99.5) / 1000.
    by_second = collections.defaultdict(list)
    for end, dur, _, _, _ in invocations:
        by_second[math.floor(end)].append(dur)
    estimate = max((len(v) * pct(sorted(v), 99.5) / 1000 for v in by_second.values()), default=0)

    # The peak's minute and the minutes before it.
    minutes = []
    if peak_at is not None:
        m0 = math.floor(peak_at / 60) * 60
        for k in range(a.minutes, -1, -1):
            start = m0 - 60 * k
            ds = [d for end, d, _, _, _ in invocations if start <= end < start + 60]
            conc = max((v for s, v in per_second.items() if start <= s < start + 60), default=0)
            minutes.append({"minute": start, "invocations": len(ds),
                            "avgDurationMs": statistics.mean(ds) if ds else None,
                            "peakConcurrency": conc})

    inits = [i for _, i in cold]
    by_mem = collections.defaultdict(list)
    for mem, i in cold:
        by_mem[mem].append(i)
    gb_s = sum(billed / 1000 * mem / 1024 for _, _, mem, _, billed in invocations)
    print(json.dumps({
        "invocations": len(invocations),
        "unparsedLines": unparsed,
        "durationMs": {"p50": pct(durations, 50), "p99": pct(durations, 99),
                       "max": durations[-1]} if durations else None,
        "concurrency": {"peak": peak,
                        "peakAt": datetime.datetime.fromtimestamp(
                            peak_at, datetime.timezone.utc).isoformat() if peak_at else None,
                        "estimatePeak": round(estimate, 3),
                        "throttledSeconds": throttled_seconds,
                        "beforePeak": minutes},
        "coldStarts": {"count": len(inits),
                       "initDurationMs": {
                           "mean": statistics.mean(inits), "median": statistics.median(inits),
                           "max": max(inits), "min": min(inits),
                           "variance": statistics.variance(inits) if len(inits) > 1 else None,
                       } if inits else None,
                       "byMemorySizeMB": {str(k): statistics.mean(v) for k, v in by_mem.items()}},
        "memory": {"maxMemoryUsedMB": max((u for _, _, _, u, _ in invocations), default=None)},
        "cost": {"billedGbSeconds": round(gb_s, 3),
                 "totalUsd": round(gb_s * PRICE_GB_S + len(invocations) * PRICE_REQUESTS / 1e6, 6)},
    }, indent=2))


if __name__ == "__main__":
    main()
