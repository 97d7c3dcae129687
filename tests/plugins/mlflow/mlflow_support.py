"""Fixtures for the MLflow plugin's tests: a real SQLite store and a real ``mlflow server``.

Creating a fresh MLflow SQLite database runs all of MLflow's migrations (many seconds), so the
tests share one database file per session and isolate themselves by experiment name. Artifacts go
to ``./mlruns`` of each test's own working directory (the conftest chdirs to ``tmp_path``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests


@dataclass
class Store:
    """One MLflow tracking store and an experiment name that belongs to the current test."""

    uri: str
    experiment: str

    @property
    def client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def plugin_config(self, **settings: Any) -> dict[str, Any]:
        return {"mlflow": {"tracking_uri": self.uri, **settings}}

    def runs(self) -> list[Any]:
        """Every run of this test's experiment, parents and children."""
        experiment = self.client.get_experiment_by_name(self.experiment)
        if experiment is None:
            return []
        return list(self.client.search_runs([experiment.experiment_id], max_results=1000))

    def parents(self) -> list[Any]:
        return [r for r in self.runs() if "mlflow.parentRunId" not in r.data.tags]

    def children(self, parent_id: str) -> list[Any]:
        runs = [r for r in self.runs() if r.data.tags.get("mlflow.parentRunId") == parent_id]
        return sorted(runs, key=lambda r: int(r.data.tags["trainhooks.trial_id"]))


def _experiment_name(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("[", "-").replace("]", "")


@pytest.fixture(scope="session")
def mlflow_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite database to copy (migrating takes many seconds)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "template.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(scope="session")
def mlflow_sqlite_uri(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> str:
    """A real MLflow SQLite store shared by the session."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    shutil.copyfile(mlflow_db_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def mlflow_store(mlflow_sqlite_uri: str, request: pytest.FixtureRequest) -> Store:
    """The shared SQLite store, with an experiment name unique to this test."""
    return Store(mlflow_sqlite_uri, _experiment_name(request))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 (random free port), stopped by its process group."""

    def __init__(self, root: Path, template: Path | None = None) -> None:
        self.root = root
        self.template = template
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = root / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_s: float = 240.0, *, same_port: bool = False) -> None:
        """Start the server (on a new free port, or again on its last one with ``same_port``)."""
        if self.template is not None and not (self.root / "server.db").exists():
            shutil.copyfile(self.template, self.root / "server.db")
        if not same_port:
            self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{self.root / 'server.db'}",
            "--serve-artifacts",
            "--artifacts-destination",
            str(self.root / "artifacts"),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited early:\n{self.log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.uri}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer /health in {timeout_s}s:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Terminate the server's process group (uvicorn/gunicorn workers included) and wait."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def _module_server(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"), mlflow_db_template)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mlflow_server(_module_server: MlflowServer) -> MlflowServer:
    """A running tracking server shared by the module (started on first use, or again after a
    test stopped it); stopped by PID at module teardown. Starting one takes tens of seconds."""
    if not _module_server.running:
        _module_server.start()
    return _module_server


__all__ = [
    "MlflowServer",
    "Store",
    "free_port",
    "mlflow_db_template",
    "mlflow_server",
    "mlflow_sqlite_uri",
    "mlflow_store",
]
