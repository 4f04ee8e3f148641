#!/usr/bin/python3
"""boto3 (Debian's python3-boto3) against `powertune serve --require-signature`.

Usage: boto3_client.py ENDPOINT STATE_DIR.  Credentials come from the
environment (the server verifies signatures with the same ones). Prints TAP
lines "ok N - ..." / "not ok N - ...", one per check; exit 0 either way (the
caller counts). Every exception class is botocore's own, so a wrong error
shape shows up as a wrong class.
"""
import base64
import io
import json
import sys
import time
import zipfile

import boto3
import botocore
from botocore.config import Config

ENDPOINT, STATE = sys.argv[1], sys.argv[2]
N = 0


def check(ok, what):
    global N
    N += 1
    print("%s %d - boto3: %s" % ("ok" if ok else "not ok", N, what), flush=True)


def expect_error(fn, cls, what, **checks):
    try:
        fn()
    except cls as e:
        extra = [k for k, v in checks.items() if e.response.get(k) != v and
                 e.response["Error"].get(k) != v]
        check(not extra, "%s raises %s%s" % (what, cls.__name__, " (%s)" % e.response if extra else ""))
        return e
    except Exception as e:  # noqa: BLE001 - the point is to name what came instead
        check(False, "%s raises %s, got %r" % (what, cls.__name__, e))
        return None
    check(False, "%s raises %s, got success" % (what, cls.__name__))
    return None


ECHO = '''
import os
def lambda_handler(event, context):
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("asked to fail")
    cc = context.client_context.custom if context.client_context else None
    return {"event": event, "custom": cc, "A": os.environ.get("AA"),
            "arn": context.invoked_function_arn, "version": context.function_version,
            "memory": context.memory_limit_in_mb}
'''


def make_zip(source):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("lambda_function.py", source)
    return b.getvalue()


cfg = Config(retries={"max_attempts": 0, "mode": "standard"}, read_timeout=60)
lam = boto3.client("lambda", endpoint_url=ENDPOINT, region_name="us-east-1", config=cfg)
exc = lam.exceptions
name = "echo-boto3"
try:
    lam.delete_function(FunctionName=name)
except exc.ResourceNotFoundException:
    pass

r = lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/r",
                        Handler="lambda_function.lambda_handler", Code={"ZipFile": make_zip(ECHO)},
                        Environment={"Variables": {"AA": "one"}}, MemorySize=256)
check(r["ResponseMetadata"]["HTTPStatusCode"] == 201 and r["State"] == "Pending"
      and r["StateReasonCode"] == "Creating", "CreateFunction is 201 with State Pending")
check(len(base64.b64decode(r["CodeSha256"])) == 32 and r["CodeSize"] > 0
      and r["LastModified"].endswith("+0000") and len(r["RevisionId"]) == 36,
      "CodeSha256 base64, CodeSize, LastModified, RevisionId as AWS")
expect_error(lambda: lam.invoke(FunctionName=name), exc.ResourceConflictException,
             "Invoke while Pending")
expect_error(lambda: lam.create_function(FunctionName=name, Runtime="python3.12",
                                         Role="arn:aws:iam::123456789012:role/r",
                                         Handler="lambda_function.lambda_handler",
                                         Code={"ZipFile": make_zip(ECHO)}),
             exc.ResourceConflictException, "CreateFunction of an existing name")
lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
c = lam.get_function_configuration(FunctionName=name)
check(c["State"] == "Active" and c["LastUpdateStatus"] == "Successful", "waiter FunctionActiveV2, then Active")

cc = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
r = lam.invoke(FunctionName=name, Payload=b'{"x": 1}', LogType="Tail", ClientContext=cc)
out = json.loads(r["Payload"].read())
check(r["StatusCode"] == 200 and out["event"] == {"x": 1} and out["A"] == "one" and int(out["memory"]) == 256,
      "Invoke RequestResponse: payload, environment, memory")
check(out["custom"] == {"k": "v"}, "ClientContext reaches context.client_context")
check(r["ExecutedVersion"] == "$LATEST" and "FunctionError" not in r, "ExecutedVersion $LATEST, no FunctionError")
log = base64.b64decode(r["LogResult"]).decode()
check("REPORT RequestId:" in log and "START RequestId:" in log, "LogType Tail: base64 of the log tail")
check(len(r["ResponseMetadata"]["RequestId"]) == 36, "x-amzn-RequestId on the response")
# Pretty-printed (line breaks cannot go in the runtime's header as they are) and not ASCII
# (a header read as Latin-1 mangles UTF-8): the function saw None, then "\xc3\xa9" for "\xe9".
cc = base64.b64encode(json.dumps({"custom": {"k": "v\u00e9"}}, indent=2, ensure_ascii=False).encode()).decode()
out = json.loads(lam.invoke(FunctionName=name, Payload=b'{}', ClientContext=cc)["Payload"].read())
check(out["custom"] == {"k": "v\u00e9"}, "a pretty-printed, non-ASCII ClientContext reaches the function (%r)"
      % out["custom"])

r = lam.invoke(FunctionName=name, Payload=b'{"fail": true}')
err = json.loads(r["Payload"].read())
check(r.get("FunctionError") == "Unhandled" and err.get("errorType") == "RuntimeError",
      "a handler exception is 200 with FunctionError Unhandled")
r = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{}')
check(r["StatusCode"] == 202, "Event is 202")
r = lam.invoke(FunctionName=name, InvocationType="DryRun")
check(r["StatusCode"] == 204, "DryRun is 204")
e = expect_error(lambda: lam.invoke(FunctionName=name, Payload=b"{" + b" " * 6291456 + b"}"),
                 botocore.exceptions.ClientError, "a 6 MB + 2 payload")
check(e is not None and e.response["Error"]["Code"] == "RequestEntityTooLargeException"
      and e.response["ResponseMetadata"]["HTTPStatusCode"] == 413,
      "413 RequestEntityTooLargeException")
expect_error(lambda: lam.invoke(FunctionName=name, Payload=b"{not json"), exc.InvalidRequestContentException,
             "a payload that is not JSON")

r = lam.update_function_configuration(FunctionName=name, MemorySize=512, Environment={"Variables": {"AA": "two"}})
check(r["LastUpdateStatus"] == "InProgress", "UpdateFunctionConfiguration answers InProgress")
expect_error(lambda: lam.update_function_configuration(FunctionName=name, Timeout=10),
             exc.ResourceConflictException, "a second update inside the update window")
lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
c = lam.get_function(FunctionName=name)["Configuration"]
check(c["LastUpdateStatus"] == "Successful" and c["MemorySize"] == 512, "waiter FunctionUpdatedV2, then Successful")
out = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
check(out["A"] == "two" and int(out["memory"]) == 512, "the next invoke runs the new configuration")

v1 = lam.publish_version(FunctionName=name)
check(v1["Version"] == "1" and v1["FunctionArn"].endswith(":1"), "PublishVersion 1")
again = lam.publish_version(FunctionName=name)
check(again["Version"] == "1", "publishing an unchanged $LATEST returns version 1 again")
lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"AA": "three"}})
lam.get_waiter("function_updated").wait(FunctionName=name, WaiterConfig={"Delay": 1})
v2 = lam.publish_version(FunctionName=name, Description="second")
check(v2["Version"] == "2" and v2["Description"] == "second", "PublishVersion 2 with a description")
a = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
check(a["AliasArn"].endswith(":live") and a["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 0.5},
      "CreateAlias with RoutingConfig")
seen = {}
for _ in range(12):
    r = lam.invoke(FunctionName=name + ":live")
    o = json.loads(r["Payload"].read())
    seen[r["ExecutedVersion"]] = o["A"]
    check_arn = o["arn"].endswith(":" + name + ":live")
check(seen.get("1") == "two" and seen.get("2") == "three",
      "alias routing runs both versions with their frozen configuration (%s)" % seen)
check(check_arn, "the runtime sees the alias-qualified ARN")
expect_error(lambda: lam.create_alias(FunctionName=name, Name="bad", FunctionVersion="1",
                                      RoutingConfig={"AdditionalVersionWeights": {"2": 0.5, "1": 0.1}}),
             exc.InvalidParameterValueException, "two AdditionalVersionWeights")
lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {}})
check(lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2", "UpdateAlias / GetAlias")
check([x["Version"] for x in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1", "2"],
      "ListVersionsByFunction")
expect_error(lambda: lam.delete_function(FunctionName=name, Qualifier="2"), exc.ResourceConflictException,
             "deleting a version an alias uses")
expect_error(lambda: lam.get_alias(FunctionName=name, Name="nope"), exc.ResourceNotFoundException,
             "GetAlias of a missing alias")

lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
check(lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") == 0,
      "Put/GetFunctionConcurrency")
e = expect_error(lambda: lam.invoke(FunctionName=name), exc.TooManyRequestsException,
                 "Invoke with reserved concurrency 0")
check(e is not None and e.response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded",
      "429 carries Lambda's Reason")
lam.delete_function_concurrency(FunctionName=name)
check(lam.invoke(FunctionName=name)["StatusCode"] == 200, "DeleteFunctionConcurrency lifts the throttle")
expect_error(lambda: lam.get_function(FunctionName="does-not-exist"), exc.ResourceNotFoundException,
             "GetFunction of a missing function")

# Signatures: unsigned, wrong secret, unknown key.
unsigned = boto3.client("lambda", endpoint_url=ENDPOINT, region_name="us-east-1",
                        config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 0}))
e = expect_error(lambda: unsigned.list_functions(), botocore.exceptions.ClientError, "an unsigned request")
check(e is not None and e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
      and e.response["Error"]["Code"] == "MissingAuthenticationTokenException", "unsigned: 403 MissingAuthenticationToken")
bad = boto3.client("lambda", endpoint_url=ENDPOINT, region_name="us-east-1", config=cfg,
                   aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wrong-secret")
e = expect_error(lambda: bad.list_functions(), botocore.exceptions.ClientError, "a wrong secret")
check(e is not None and e.response["Error"]["Code"] == "InvalidSignatureException"
      and e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, "wrong secret: 403 InvalidSignatureException")
other = boto3.client("lambda", endpoint_url=ENDPOINT, region_name="us-east-1", config=cfg,
                     aws_access_key_id="AKIDOTHERKEY00000000", aws_secret_access_key="x")
e = expect_error(lambda: other.list_functions(), botocore.exceptions.ClientError, "an unknown access key")
check(e is not None and e.response["Error"]["Code"] == "UnrecognizedClientException", "unknown key: UnrecognizedClientException")

lam.delete_function(FunctionName=name, Qualifier="1")
check([x["Version"] for x in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "2"],
      "DeleteFunction with Qualifier deletes one version")
names = []
marker = None
for _ in range(10):
    kw = {"MaxItems": 1}
    if marker:
        kw["Marker"] = marker
    page = lam.list_functions(**kw)
    names += [f["FunctionName"] for f in page["Functions"]]
    marker = page.get("NextMarker")
    if not marker:
        break
check(name in names, "ListFunctions pages with Marker/MaxItems (%s)" % names)
r = lam.delete_function(FunctionName=name)
check(r["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteFunction is 204")
expect_error(lambda: lam.get_function(FunctionName=name), exc.ResourceNotFoundException, "the function is gone")
