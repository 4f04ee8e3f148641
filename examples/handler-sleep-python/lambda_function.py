"""Slow initialisation done inside the handler (every invocation); seeds.md article 2.

The same 2 s constructor as init-sleep-python, but built per invocation, so
every invocation lasts ~2 s. Event {"seconds": S} overrides the sleep.
"""
import time


class SlowResource(object):
    def __init__(self, seconds=2.0):
        time.sleep(seconds)
        self.seconds = seconds
        self.created_at = time.time()


def lambda_handler(event, context):
    seconds = 2.0
    if isinstance(event, dict) and "seconds" in event:
        seconds = float(event["seconds"])
    resource = SlowResource(seconds)  # built again on every invocation
    return {"slept_in": "handler", "seconds": resource.seconds, "created_at": resource.created_at}
