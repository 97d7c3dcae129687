"""RBAC in real runs: who may tune/train, where the principal comes from, fail-closed behaviour,
the audit record written before the run starts, and the CLI's exit code 3 with nothing written."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from builders import run_config, write_toml

from trainhooks import ConfigError, PermissionDecision, PermissionDenied, PermissionRequest, hookimpl
from trainhooks.cli.app import main
from trainhooks.hooks import ModelFitted, RunContext, RunStarted
from trainhooks.plugin_loader import BUILTIN_PLUGINS
from trainhooks.plugins.rbac import verify
from trainhooks.session import current_user
from trainhooks.testing import EventRecorder, make_session, small_search

POLICY = """
[roles.trainer]
permissions = ["run.train"]

[roles.scientist]
inherits = ["trainer"]
permissions = ["run.tune:exp-*", "model.register:fraud-*"]

[users]
alice = ["scientist"]
tom = ["trainer"]
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def rbac_config(policy: Path, audit: Path | None = None) -> dict[str, Any]:
    table: dict[str, Any] = {"policy": str(policy)}
    if audit is not None:
        table["audit_log"] = str(audit)
    return {"rbac": table}


def session_for(principal: str, *plugins: object, recorder: EventRecorder | None = None) -> Any:
    return make_session(recorder or EventRecorder(), *plugins, builtins=["rbac"], principal=principal)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_allowed_user_tunes_and_the_audit_log_records_it(policy: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    result = small_search(
        session_for("alice"), experiment="exp-1", n_trials=2, plugin_config=rbac_config(policy, audit)
    )
    assert result.summary["n_complete"] == 2
    (record,) = records(audit)
    assert record["principal"] == "alice"
    assert (record["action"], record["resource"], record["decision"]) == ("run.tune", "exp-1", "allow")
    assert record["rule"] == 'roles.scientist.permissions "run.tune:exp-*"'
    assert record["run_id"] == result.run_id
    assert "rbac" in record["plugins"]
    assert verify(audit).ok


def test_denied_tune_raises_before_any_event_and_is_audited(policy: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    recorder = EventRecorder()
    with pytest.raises(PermissionDenied) as info:
        small_search(
            session_for("tom", recorder=recorder), experiment="exp-1", plugin_config=rbac_config(policy, audit)
        )
    message = str(info.value)
    assert message.startswith("permission denied: 'tom' may not run.tune on 'exp-1'")
    assert message.endswith("(rule: default-deny)") and "\n" not in message
    assert recorder.events == []  # no run-started, nothing for plugins to write
    (record,) = records(audit)
    assert (record["principal"], record["decision"], record["rule"]) == ("tom", "deny", "default-deny")


def test_inherited_role_allows_train_and_glob_limits_tune(policy: Path, small_xy: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = small_xy
    session = session_for("alice")
    result = session.train(
        LogisticRegression(max_iter=200), X, y, cv=2, experiment="prod", plugin_config=rbac_config(policy)
    )
    assert result.summary["n_complete"] == 1  # run.train comes from the inherited trainer role
    with pytest.raises(PermissionDenied, match=r"'alice' may not run\.tune on 'prod'"):
        small_search(session, experiment="prod", plugin_config=rbac_config(policy))


def test_unknown_user_is_denied(policy: Path) -> None:
    with pytest.raises(PermissionDenied, match=r"'mallory' may not run.tune on 'exp-1': 'mallory' has no role"):
        small_search(session_for("mallory"), experiment="exp-1", plugin_config=rbac_config(policy))


def test_no_policy_means_no_rbac(policy: Path) -> None:
    result = small_search(session_for("mallory"), experiment="exp-1", n_trials=1, plugin_config={"rbac": {}})
    assert result.summary["n_trials"] == 1


def test_run_config_cannot_change_the_principal(policy: Path) -> None:
    config = rbac_config(policy)
    config["rbac"]["principal"] = "alice"
    with pytest.raises(ConfigError, match=r"^plugins\.rbac\.principal: unknown key$"):
        small_search(session_for("mallory"), experiment="exp-1", plugin_config=config)
    # and the identity used is the session's, whatever the experiment or plugin tables say
    with pytest.raises(PermissionDenied, match="'mallory' may not"):
        small_search(session_for("mallory"), experiment="exp-alice", plugin_config=rbac_config(policy))


def test_a_misspelt_setting_gets_a_suggestion(policy: Path) -> None:
    config = {"rbac": {"polcy": str(policy)}}
    with pytest.raises(ConfigError, match=r"^plugins\.rbac\.polcy: unknown key \(did you mean 'policy'\?\)$"):
        small_search(session_for("alice"), experiment="exp-1", plugin_config=config)


def test_pinned_policy_cannot_be_swapped_by_the_run_config(
    policy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    permissive = tmp_path / "mine.toml"
    permissive.write_text('[roles.all]\npermissions = ["*"]\n[users]\nmallory = ["all"]\n', encoding="utf-8")
    monkeypatch.setenv("TRAINHOOKS_RBAC_POLICY", str(policy))
    with pytest.raises(ConfigError, match=r"^plugins\.rbac\.policy: TRAINHOOKS_RBAC_POLICY pins it"):
        small_search(session_for("mallory"), plugin_config=rbac_config(permissive))
    with pytest.raises(PermissionDenied, match="'mallory' may not"):  # the pinned policy applies with no table
        small_search(session_for("mallory"), experiment="exp-1")


class RaisingPolicy:
    """A permission plugin that crashes while deciding."""

    plugin_name = "crashing-policy"

    @hookimpl
    def trainhooks_check_permission(self, request: PermissionRequest) -> PermissionDecision | None:
        raise RuntimeError("policy backend unreachable")


def test_a_raising_policy_plugin_denies(policy: Path) -> None:
    recorder = EventRecorder()
    session = make_session(recorder, RaisingPolicy(), principal="alice")
    with pytest.raises(PermissionDenied) as info:
        small_search(session, experiment="exp-1")
    assert "plugin 'crashing-policy' failed while deciding: RuntimeError: policy backend unreachable" in str(info.value)
    assert "(rule: fail-closed)" in str(info.value)
    assert recorder.events == []


def test_an_unwritable_audit_log_denies(policy: Path, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"seq": 1, "trunc', encoding="utf-8")  # damaged: no newline, not JSON
    recorder = EventRecorder()
    with pytest.raises(PermissionDenied, match=r"plugin 'rbac' failed while deciding: AuditError: .*incomplete"):
        small_search(
            session_for("alice", recorder=recorder), experiment="exp-1", plugin_config=rbac_config(policy, audit)
        )
    assert recorder.events == []


class AuditPeek:
    """Reads the audit log when the run starts, and asks for model actions after the refit."""

    plugin_name = "peek"

    def __init__(self, audit: Path) -> None:
        self.audit = audit
        self.seen_at_start: list[dict[str, Any]] = []
        self.decisions: dict[str, PermissionDecision] = {}
        self.run: RunContext | None = None

    @hookimpl
    def trainhooks_configure(self, run: RunContext) -> None:
        self.run = run

    @hookimpl
    def trainhooks_on_run_start(self, event: RunStarted) -> None:
        self.seen_at_start = records(self.audit)

    @hookimpl
    def trainhooks_on_model_fitted(self, event: ModelFitted) -> None:
        assert self.run is not None
        for action, resource in (
            ("model.register", "fraud-v2"),
            ("model.register", "churn"),
            ("model.promote", "fraud-v2"),
        ):
            self.decisions[f"{action}:{resource}"] = self.run.check_permission(action, resource)


def test_audit_record_is_on_disk_before_the_run_starts_and_plugin_checks_are_audited(
    policy: Path, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    peek = AuditPeek(audit)
    small_search(session_for("alice", peek), experiment="exp-1", n_trials=1, plugin_config=rbac_config(policy, audit))
    assert [r["action"] for r in peek.seen_at_start] == ["run.tune"]
    assert peek.decisions["model.register:fraud-v2"].allowed
    assert not peek.decisions["model.register:churn"].allowed
    assert not peek.decisions["model.promote:fraud-v2"].allowed
    logged = records(audit)
    assert [(r["action"], r["resource"], r["decision"]) for r in logged] == [
        ("run.tune", "exp-1", "allow"),
        ("model.register", "fraud-v2", "allow"),
        ("model.register", "churn", "deny"),
        ("model.promote", "fraud-v2", "deny"),
    ]
    assert verify(audit).ok


# -- command line -------------------------------------------------------------------------------


def cli_config(db: Path, policy: Path, audit: Path) -> dict[str, Any]:
    """A two-trial tune of experiment ``exp-cli`` logged to ``db``, with RBAC from ``policy``."""
    return run_config(
        experiment={"name": "exp-cli", "tracking_uri": f"sqlite:///{db}"},
        data={"dataset": "iris", "test_size": 0.2},
        search={"n_trials": 2, "cv": 2},
        plugins={"rbac": {"policy": str(policy), "audit_log": str(audit)}},
    )


def scientist_policy(user: str) -> dict[str, Any]:
    """A policy where only ``user`` may start runs (any ``run.*`` action)."""
    return {"roles": {"scientist": {"permissions": ["run.*"]}}, "users": {user: ["scientist"]}}


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0)


@pytest.mark.slow
def test_cli_denial_exits_3_with_one_line_and_writes_nothing_to_mlflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD", "1")
    me = current_user()
    db, audit = tmp_path / "mlflow.db", tmp_path / "audit.jsonl"
    policy = tmp_path / "policy.toml"
    write_toml(policy, scientist_policy(f"{me}-other"))
    config = tmp_path / "run.toml"
    write_toml(config, cli_config(db, policy, audit))

    code = run_cli("tune", str(config), "-q")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert err == [
        f"error: permission denied: {me!r} may not run.tune on 'exp-cli': {me!r} has no role in {policy} "
        "(rule: default-deny)"
    ]
    assert not db.exists() and not (tmp_path / "mlruns").exists()  # nothing written to MLflow
    assert records(audit)[0]["principal"] == me  # the CLI's principal is the OS user

    if "mlflow" in BUILTIN_PLUGINS:  # positive control: the same config, allowed, does create a run
        import mlflow

        write_toml(policy, scientist_policy(me))
        assert run_cli("tune", str(config), "-q") == 0
        client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}")
        experiment = client.get_experiment_by_name("exp-cli")
        assert experiment is not None and client.search_runs([experiment.experiment_id])
    assert os.path.exists(audit) and verify(audit).ok


# -- with the real MLflow plugin: model.register allowed, model.promote denied ------------------------


@pytest.mark.slow
@pytest.mark.skipif("mlflow" not in BUILTIN_PLUGINS, reason="needs the built-in mlflow plugin")
def test_policy_governs_registration_and_promotion_in_mlflow(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[roles.scientist]\npermissions = ["run.tune", "model.register:fraud-*"]\n'
        '[roles.release]\ninherits = ["scientist"]\npermissions = ["model.promote:fraud-*"]\n'
        '[users]\nalice = ["scientist"]\nrita = ["release"]\n',
        encoding="utf-8",
    )
    audit = tmp_path / "audit.jsonl"
    settings = {
        "rbac": {"policy": str(policy), "audit_log": str(audit)},
        "mlflow": {"tracking_uri": uri, "log_trials": "none", "register_as": "fraud-x", "promote_alias": "champion"},
    }

    def tune_as(principal: str) -> Any:
        session = make_session(EventRecorder(), builtins=["rbac", "mlflow"], principal=principal)
        return small_search(session, n_trials=1, test_size=0.3, experiment="exp-reg", plugin_config=settings)

    alice = tune_as("alice")  # may register, may not promote
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert [str(v.version) for v in client.search_model_versions("name = 'fraud-x'")] == ["1"]
    assert not client.get_registered_model("fraud-x").aliases
    assert any("permission denied" in note for note in alice.summary["notes"])

    tune_as("rita")  # inherits register, and may promote
    assert {k: str(v) for k, v in client.get_registered_model("fraud-x").aliases.items()} == {"champion": "2"}

    decisions = [(r["principal"], r["action"], r["decision"]) for r in records(audit)]
    assert decisions == [
        ("alice", "run.tune", "allow"),
        ("alice", "model.register", "allow"),
        ("alice", "model.promote", "deny"),
        ("rita", "run.tune", "allow"),
        ("rita", "model.register", "allow"),
        ("rita", "model.promote", "allow"),
    ]
    assert verify(audit).ok
