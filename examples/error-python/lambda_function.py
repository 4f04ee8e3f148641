"""Every invocation raises Exception("Handler fails"): Lambda's handled-error path."""


def lambda_handler(event, context):
    raise Exception("Handler fails")
