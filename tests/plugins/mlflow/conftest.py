"""Fixtures of the MLflow plugin's tests: a real SQLite store and a real ``mlflow server``."""

from mlflow_support import (  # noqa: F401  (fixtures are registered by being imported here)
    _module_server,
    mlflow_db_template,
    mlflow_server,
    mlflow_sqlite_uri,
    mlflow_store,
)
