"""Sleeps event {"seconds": S} seconds (default 10), past the default 3 s
function timeout, to provoke Sandbox.Timedout / "Status: timeout"."""
import time


def lambda_handler(event, context):
    seconds = 10.0
    if isinstance(event, dict) and "seconds" in event:
        seconds = float(event["seconds"])
    time.sleep(seconds)
    return {"slept": seconds}
