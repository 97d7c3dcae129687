"""Who the command line's principal is: the account of the effective uid, whatever ``LOGNAME``,
``USER`` or ``USERNAME`` say, checked with real processes against a locked-down setup (required
plugin, pinned policy and audit log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from builders import run_config, write_toml

pwd = pytest.importorskip("pwd", reason="POSIX accounts")

FORGED = {"LOGNAME": "admin", "USER": "admin", "LNAME": "admin", "USERNAME": "admin"}


def real_account() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


@pytest.mark.slow
def test_login_variables_cannot_make_the_cli_run_as_admin(tmp_path: Path, run_cli) -> None:
    me = real_account()
    assert me != "admin", "the test needs an account other than 'admin'"
    policy, audit = tmp_path / "policy.toml", tmp_path / "audit.jsonl"
    write_toml(policy, {"roles": {"all": {"permissions": ["*"]}}, "users": {"admin": ["all"]}})
    config = tmp_path / "run.toml"
    db = tmp_path / "mlflow.db"
    write_toml(
        config,
        run_config(experiment={"name": "exp-locked", "tracking_uri": f"sqlite:///{db}"}, data={"dataset": "iris"}),
    )
    locked_down = {
        "TRAINHOOKS_REQUIRE_PLUGINS": "rbac",
        "TRAINHOOKS_RBAC_POLICY": str(policy),
        "TRAINHOOKS_RBAC_AUDIT_LOG": str(audit),
    }

    done = run_cli("tune", str(config), "-q", env={**locked_down, **FORGED})

    assert done.returncode == 3, done.stderr
    assert done.stderr.strip() == (
        f"error: permission denied: {me!r} may not run.tune on 'exp-locked': {me!r} has no role in {policy} "
        "(rule: default-deny)"
    )
    (record,) = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert (record["principal"], record["decision"]) == (me, "deny")  # no forged 'admin' allow record
    assert not db.exists()


CHILD = """
import os, sys
from trainhooks.session import current_user
os.seteuid(int(sys.argv[1]))
print(current_user())
"""


def unused_uid() -> int:
    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing the effective uid needs root")
@pytest.mark.parametrize("account", ["nobody", "no passwd entry"])
def test_the_principal_is_the_effective_uids_account(account: str) -> None:
    if account == "nobody":
        try:
            uid, expected = pwd.getpwnam("nobody").pw_uid, "nobody"
        except KeyError:
            pytest.skip("no 'nobody' account")
    else:
        uid = unused_uid()
        expected = str(uid)
    env = {**os.environ, **FORGED}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(uid)], capture_output=True, text=True, env=env, timeout=120, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected  # the real uid (root) and LOGNAME=admin do not count
