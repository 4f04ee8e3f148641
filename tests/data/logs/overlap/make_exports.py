# Writes the overlapping CloudWatch exports of tests/unit/test_logs_inputs.c
# (test_overlapping_exports_counted_once): one function's log as CreateExportTask writes it to S3
# ("<time> <message>" lines), 90 minutes with an invocation every ~2.5 minutes (the first a cold
# start) and one asynchronous invocation that failed and was retried twice (one request id, the
# same figures, three REPORTs 1 and 2 minutes apart), exported as 00:00-01:00, 00:30-01:30 and
# 00:00-01:30. Deterministic: run it in this directory to regenerate the same bytes.
import datetime, random
random.seed(7)
T0 = datetime.datetime(2026, 11, 21, 0, 0, 0, tzinfo=datetime.timezone.utc)
def iso(ms):
    t = T0 + datetime.timedelta(milliseconds=ms)
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (t.microsecond // 1000)
def rid(k):
    return '%08x-%04x-4%03x-%04x-%012x' % (random.getrandbits(32), random.getrandbits(16), random.getrandbits(12), 0x8000 | random.getrandbits(14), random.getrandbits(48))
events = []
for k in range(36):
    start = k * 150000 + random.randint(0, 60000)
    d = round(random.uniform(20, 400), 2)
    end = start + int(d + 0.999)
    r = rid(k)
    init = k == 0
    rep = 'REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: 256 MB\tMax Memory Used: %d MB\t' % (r, d, int(d + 0.999) + (312 if init else 0), random.randint(70, 90))
    if init:
        rep += 'Init Duration: 311.42 ms\t'
    events.append([(start, 'START RequestId: %s Version: $LATEST' % r),
             (start + 3, '[INFO]\t%s\t%s\tprocessing order %d' % (iso(start + 3), r, random.randint(1, 99999))),
             (end, 'END RequestId: %s' % r), (end, rep)])
r = rid(99)
for start in (40 * 60000 + 1234, 41 * 60000 + 2345, 43 * 60000 + 3456):
    end = start + 1502
    events.append([(start, 'START RequestId: %s Version: $LATEST' % r),
                   (start + 1500, '[ERROR] RuntimeError: downstream unavailable'),
                   (end, 'END RequestId: %s' % r),
                   (end, 'REPORT RequestId: %s\tDuration: 1501.37 ms\tBilled Duration: 1502 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB\t' % r)])
lines = sorted((t, m) for ev in events for (t, m) in ev)
def export(lo, hi, path):
    with open(path, 'w') as f:
        for t, m in lines:
            if lo * 60000 <= t < hi * 60000:
                f.write('%s %s\n' % (iso(t), m))
export(0, 60, 'export-0000-0100.log')
export(30, 90, 'export-0030-0130.log')
export(0, 90, 'export-0000-0130.log')
