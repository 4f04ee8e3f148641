# Writes aws-logs-tail-json.log: what `aws logs tail --format json` prints for a function that
# logs in Lambda's JSON format (AWS_LAMBDA_LOG_FORMAT / LoggingConfig.LogFormat = JSON), made
# with awscli's own formatter (awscli.customizations.logs.tail.PrettyJSONLogEventsFormatter,
# /usr/bin/python3 with Debian's awscli): "<time> <stream> " then each event that is entirely
# JSON pretty-printed over several lines (json.dumps indent=4), other events on one line.
# Two streams, three invocations: a cold start, a warm one and a timeout.
import datetime
import io
import json

from dateutil import tz
from awscli.customizations.logs.tail import PrettyJSONLogEventsFormatter

A = '2024/05/20/[$LATEST]0123456789abcdef0123456789abcdef'
B = '2024/05/20/[$LATEST]fedcba9876543210fedcba9876543210'
T0 = 1716222584833  # 2024-05-20T16:29:44.833Z


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz.tzutc())
    return t.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (t.microsecond // 1000)


def rec(ms, typ, record):
    ms = int(ms)
    return json.dumps({'time': iso(ms), 'type': typ, 'record': record}, separators=(',', ':'))


events = []


def add(stream, ms, message):
    events.append((int(ms), stream, message + "\n"))


def invocation(stream, start, rid, dur, used, init=None, status='success'):
    if init is not None:
        add(stream, start - init - 1, rec(start - init - 1, 'platform.initStart', {
            'initializationType': 'on-demand', 'phase': 'init', 'runtimeVersion': 'nodejs:18.v28',
            'runtimeVersionArn': 'arn:aws:lambda:eu-west-3::runtime:b475',
            'functionName': 'ColdStartPerfStack-Function76856677-qnwBXhjb6klt',
            'functionVersion': '$LATEST'}))
        add(stream, start - 1, rec(start - 1, 'platform.initReport', {
            'initializationType': 'on-demand', 'phase': 'init', 'status': 'success',
            'metrics': {'durationMs': float(init)}}))
    add(stream, start, rec(start, 'platform.start', {'requestId': rid, 'version': '$LATEST'}))
    add(stream, start + 1, json.dumps({'timestamp': iso(start + 1), 'level': 'INFO',
                                       'requestId': rid, 'message': 'processing'},
                                      separators=(',', ':')))
    end = start + int(dur + 0.999)
    metrics = {'durationMs': dur, 'billedDurationMs': int(dur + 0.999) + (int(init + 0.999) if init else 0),
               'memorySizeMB': 128, 'maxMemoryUsedMB': used}
    if init is not None:
        metrics['initDurationMs'] = init + 0.277
    add(stream, end, rec(end, 'platform.runtimeDone', {'requestId': rid, 'status': status,
                                                       'metrics': {'durationMs': dur - 0.4}}))
    add(stream, end + 2, rec(end + 2, 'platform.report', {'requestId': rid, 'status': status,
                                                          'metrics': metrics}))


invocation(A, T0 + 175, '4b142fc3-17b8-4cdb-a46b-a8dbe7918715', 11.642, 67, init=173.778)
invocation(B, T0 + 180, '9d2e7a10-5c3b-4f8e-b1a2-c3d4e5f60718', 5000.0, 94, init=160.5,
           status='timeout')
invocation(A, T0 + 1200, 'a3c1f2e4-0b9d-4e7a-8c6b-5d4e3f2a1b0c', 8.31, 68)
add(A, T0 + 1300, 'plain text output, not JSON')

out = io.StringIO()
fmt = PrettyJSONLogEventsFormatter(out, colorize=False)
for ms, stream, message in sorted(events):
    fmt.display_log_event({'timestamp': datetime.datetime.fromtimestamp(ms / 1000, tz.tzutc()),
                           'logStreamName': stream, 'message': message})
with open('aws-logs-tail-json.log', 'w') as f:
    f.write(out.getvalue())
