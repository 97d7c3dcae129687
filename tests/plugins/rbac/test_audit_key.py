"""The audit key and the head file from the writer's side: keyed runs, appends that refuse to
continue a log that disagrees with its head file (so the evidence stays), an interrupted append,
logs written before keys and head files existed, and key files that are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from audit_forgery import KEY, key_file, read_records, write_log, write_records

from trainhooks import ConfigError, PermissionDenied
from trainhooks.hooks import SettingsError
from trainhooks.plugins.rbac import AuditError, verify
from trainhooks.plugins.rbac.audit import LEGACY_FIELDS, record_hash
from trainhooks.plugins.rbac.audit_key import KEY_ENV, load_key
from trainhooks.plugins.rbac.head import Head, write_head
from trainhooks.testing import EventRecorder, make_session, small_search


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


def head_file(log: Path) -> dict:
    return json.loads(Path(f"{log}.head").read_text(encoding="utf-8"))


def test_keyed_records_say_so_and_verify_only_with_the_key(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    written = write_log(log, 3, key=KEY)
    assert all(r["keyed"] is True and len(r["mac"]) == 64 for r in written)
    assert head_file(log) == {"records": 3, "head": written[-1]["hash"], "keyed": True, "mac": head_file(log)["mac"]}
    assert verify(log, key=KEY).ok and verify(log, key=KEY).keyed == 3
    without = verify(log)
    assert without.status == "unchecked" and not without.ok
    wrong = verify(log, key=b"y" * 32)
    assert wrong.problem == "record 1: HMAC does not match (rebuilt without the key, or the key changed)"


def test_a_keyed_log_refuses_an_unkeyed_append(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 2, key=KEY)
    before = log.read_bytes()
    with pytest.raises(AuditError, match=f"keyed \\(HMAC\\) and no key was given: set {KEY_ENV}"):
        write_log(log, 1)
    assert log.read_bytes() == before


@pytest.mark.parametrize("cut", [3, 0], ids=["truncated", "emptied"])
def test_append_refuses_a_cut_log_so_the_evidence_stays(tmp_path: Path, cut: int) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 5)
    write_records(log, read_records(log)[:cut])
    with pytest.raises(AuditError, match=r"log has \d records but the head file says 5"):
        write_log(log, 1)
    assert len(read_records(log)) == cut and head_file(log)["records"] == 5
    assert "head file says 5" in verify(log).problem


def test_append_refuses_a_log_whose_head_file_was_deleted(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 2)
    Path(f"{log}.head").unlink()
    with pytest.raises(AuditError, match=r"head file .*audit\.jsonl\.head is missing"):
        write_log(log, 1)


def test_an_append_interrupted_before_its_head_file_is_not_tampering(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 2, key=KEY)
    saved = tmp_path / "head-after-2"
    shutil.copy(f"{log}.head", saved)
    write_log(log, 1, key=KEY)
    shutil.copy(saved, f"{log}.head")  # as if the process died between the record and the head file
    assert verify(log, key=KEY).ok
    write_log(log, 1, key=KEY)  # the next append goes on, and brings the head file up to date
    assert head_file(log)["records"] == 4 and verify(log, key=KEY).records == 4


def test_a_log_from_before_keys_and_head_files_still_verifies_and_grows_keyed(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    old: list[dict] = []
    for record in write_log(tmp_path / "new.jsonl", 2):  # the same records, without keyed and mac
        legacy = {field: record[field] for field in LEGACY_FIELDS}
        legacy["prev"] = old[-1]["hash"] if old else legacy["prev"]
        legacy["hash"] = record_hash(legacy)
        old.append(legacy)
    write_records(log, old)
    assert verify(log).ok and verify(log).records == 2  # no head file expected of it
    write_log(log, 2, key=KEY)  # the key turned on later: unkeyed records may only come first
    assert verify(log, key=KEY).ok and verify(log, key=KEY).keyed == 2
    assert head_file(log)["keyed"] is True


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (b"short\n", 0o600, "the key is 5 bytes; at least 16 are needed"),
        (KEY, 0o640, "is readable or writable by others (mode 0640); make it owner-only: chmod 600"),
        (None, 0o600, "cannot read"),
    ],
    ids=["too short", "group-readable", "missing"],
)
def test_bad_key_files_are_one_line_naming_the_variable(
    tmp_path: Path, content: bytes | None, mode: int, message: str
) -> None:
    path = key_file(tmp_path, content, mode) if content is not None else tmp_path / "absent.key"
    with pytest.raises(SettingsError) as caught:
        load_key(path)
    assert str(caught.value).startswith(f"{KEY_ENV}: {path}") and message in str(caught.value)
    assert "\n" not in str(caught.value)


POLICY = '[roles.scientist]\npermissions = ["run.tune:exp-*"]\n[users]\nalice = ["scientist"]\n'


def test_a_run_with_the_key_writes_keyed_records_and_a_bad_key_file_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy, log = tmp_path / "policy.toml", tmp_path / "audit.jsonl"
    policy.write_text(POLICY, encoding="utf-8")
    settings = {"rbac": {"policy": str(policy), "audit_log": str(log)}}

    def run() -> object:
        session = make_session(EventRecorder(), builtins=["rbac"], principal="alice")
        return small_search(session, experiment="exp-1", n_trials=1, plugin_config=settings)

    monkeypatch.setenv(KEY_ENV, str(key_file(tmp_path)))
    run()
    (record,) = read_records(log)
    assert record["keyed"] is True and verify(log, key=KEY).ok

    monkeypatch.delenv(KEY_ENV)  # the service lost its key: the keyed log refuses, the run is denied
    with pytest.raises(PermissionDenied, match=r"AuditError: .*keyed \(HMAC\) and no key was given"):
        run()

    monkeypatch.setenv(KEY_ENV, str(tmp_path / "absent.key"))
    with pytest.raises(ConfigError, match=f"^{KEY_ENV}: {tmp_path / 'absent.key'}: cannot read"):
        run()
    assert len(read_records(log)) == 1


def test_a_head_file_rewritten_to_hide_a_truncation_fails_with_the_key(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 5, key=KEY)
    kept = read_records(log)[:3]
    write_records(log, kept)
    write_head(log, Head(3, kept[-1]["hash"], mac="0" * 64))  # claims keyed, cannot sign
    forged = verify(log, key=KEY)
    assert forged.problem == "head file: HMAC does not match (rewritten without the key, or the key changed)"
    assert verify(log).status == "unchecked"  # without the key the forged head cannot be told apart
    write_head(log, Head(3, kept[-1]["hash"]))  # or unkeyed
    assert verify(log, key=KEY).problem == "head file: not keyed, but the log is (rewritten without the key)"
    assert verify(log).problem == "head file: not keyed, but the log is (rewritten without the key)"
