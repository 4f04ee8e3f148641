"""seeds.md article 5: a handler that creates boto3 clients in nested helper
functions, six client creations per invocation.

Profiling it (python -m cProfile) shows client creation dominating: the
first boto3.client() in a process is slow (loading botocore's models), and
each later one still costs tens of milliseconds at 128 MB. No request is
sent, so no network is needed; outside Lambda (no credentials in the
environment) dummy credentials keep botocore from probing for real ones.
See boto3-clients-fixed-python for the fix.
"""
import os

import boto3

REGION = os.environ.get("AWS_REGION") or "us-east-1"
CREDENTIALS = {} if os.environ.get("AWS_ACCESS_KEY_ID") else {
    "aws_access_key_id": "powertune-local",
    "aws_secret_access_key": "powertune-local",
}


def _client():
    return boto3.client("dynamodb", region_name=REGION, **CREDENTIALS)


def _table_name(kind):
    return "%s-%s" % (_client().meta.service_model.service_name, kind)


def load_customer(customer_id):
    return {"id": customer_id, "table": _table_name("customers"), "region": _client().meta.region_name}


def load_order(order_id):
    return {"id": order_id, "table": _table_name("orders"), "endpoint": _client().meta.endpoint_url}


def save_audit(customer, order):
    return {"table": _table_name("audit"), "customer": customer["id"], "order": order["id"]}


def process(event):
    customer = load_customer(event.get("customer", "c-1"))  # 2 clients
    order = load_order(event.get("order", "o-1"))           # 2 clients
    audit = save_audit(customer, order)                     # 1 client
    _client()                                               # 1 client: six in all
    return {"customer": customer, "order": order, "audit": audit, "clients_created": 6}


def lambda_handler(event, context):
    return process(event if isinstance(event, dict) else {})
