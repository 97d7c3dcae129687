"""``mlflow``: logs every tune/train run to MLflow and manages the model registry.

One parent run per run, one nested child run per trial (all, the top k, or none), the trials
table, summary and config as artifacts, the refit best model with signature and input example,
and optionally a new registered model version with a guarded alias. ``trainhooks runs list`` and
``trainhooks runs compare`` read it back. MLflow itself is imported only when first needed.
See docs/mlflow.md.
"""

from ._plugin import MlflowPlugin
from ._settings import DEFAULT_TRACKING_URI, MlflowSettings

__all__ = ["DEFAULT_TRACKING_URI", "MlflowPlugin", "MlflowSettings"]
