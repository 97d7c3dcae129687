"""Native (BLAS/OpenMP) threads per trial: shared evenly between concurrent trials, never above the
user's own ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` (a default that raised them made a
one-thread benchmark oversubscribe a busy machine)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info

from trainhooks.executors import default_blas_threads


class BlasRecordingClassifier(LogisticRegression):
    """Records the BLAS thread count it trains under."""

    seen: ClassVar[list[int]] = []

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BlasRecordingClassifier:
        BlasRecordingClassifier.seen += [
            pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"
        ]
        return super().fit(X, y, sample_weight=sample_weight)


def test_the_default_shares_the_cores_between_concurrent_trials(monkeypatch) -> None:
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert [default_blas_threads(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_a_users_thread_limit_in_the_environment_is_never_raised(monkeypatch, small_xy, trainhooks_session) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert default_blas_threads(1) == 1
    if not any(pool["user_api"] == "blas" for pool in threadpool_info()):
        pytest.skip("no BLAS library loaded by numpy here")
    X, y = small_xy
    BlasRecordingClassifier.seen = []
    trainhooks_session().tune(
        BlasRecordingClassifier(max_iter=50), {"C": [0.1, 1.0]}, X, np.asarray(y), strategy="grid", cv=2, refit=False
    )
    assert BlasRecordingClassifier.seen and set(BlasRecordingClassifier.seen) == {1}
