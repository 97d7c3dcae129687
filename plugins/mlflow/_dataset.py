"""The training data as an MLflow dataset input of the parent run (MLflow's Datasets column).

The plugin never sees the data itself: ``run-started`` carries the core's description of it
(``RunStarted.dataset``: name, source, digest, feature dtypes, row counts), and this module turns
that into MLflow's dataset entity, with the schema in MLflow's ``mlflow_colspec`` format and the
profile MLflow's pandas datasets use (``num_rows``, ``num_elements``), logged with the context tag
``training``. Runs in the writer process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

CONTEXT = "training"


def _column_type(dtype: str) -> Any:
    """MLflow's column type for a NumPy/pandas dtype name; text, objects and categories are strings."""
    import numpy as np
    from mlflow.types import DataType

    try:
        found = DataType.from_numpy_type(np.dtype(dtype))
    except TypeError:
        found = None
    return found or DataType.string


def dataset_entity(description: Mapping[str, Any]) -> Any:
    """An ``mlflow.entities.Dataset`` for the core's description of the training data."""
    from mlflow.entities import Dataset
    from mlflow.types import ColSpec, Schema

    features: Mapping[str, str] = description.get("features") or {}
    schema = Schema([ColSpec(_column_type(dtype), name) for name, dtype in features.items()])
    rows = int(description.get("n_rows") or 0)
    source = str(description.get("source") or "arrays")
    is_file = source not in ("arrays",) and not source.startswith("sklearn.")
    return Dataset(
        name=str(description.get("name") or "training data"),
        digest=str(description.get("digest") or ""),
        source_type="local" if is_file else "code",
        source=json.dumps({"uri": source} if is_file else {"name": source}),
        schema=json.dumps({"mlflow_colspec": schema.to_dict()}) if features else None,
        profile=json.dumps({"num_rows": rows, "num_elements": rows * len(features)}),
    )


def log_training_data(client: Any, run_id: str, description: Mapping[str, Any]) -> None:
    """Log the training data as a dataset input of ``run_id`` (context ``training``)."""
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    entity = dataset_entity(description)
    client.log_inputs(run_id, datasets=[DatasetInput(entity, [InputTag(MLFLOW_DATASET_CONTEXT, CONTEXT)])])


__all__ = ["CONTEXT", "dataset_entity", "log_training_data"]
