"""The sam-app example's HelloFunction: shows what the template configured."""
import os


def lambda_handler(event, context):
    return {
        "greeting": os.environ.get("GREETING"),
        "app": os.environ.get("APP_NAME"),
        "stage": os.environ.get("STAGE"),
        "log_level": os.environ.get("LOG_LEVEL"),
        "memory_mb": int(context.memory_limit_in_mb),
        "function_name": context.function_name,
    }
