"""Module code imports a module that does not exist: INIT fails with
Runtime.ImportModuleError ("Unable to import module 'lambda_function':
No module named 'module_that_does_not_exist'")."""
import module_that_does_not_exist  # noqa: F401


def lambda_handler(event, context):
    return {"unreachable": True}
