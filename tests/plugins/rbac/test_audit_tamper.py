"""Each way of tampering with an audit log, caught by the real ``trainhooks audit verify``: one line
naming the record and the check that failed, exit 1 (0 intact, 2 cannot check without the key).

Cases: a keyed chain rebuilt without the key (old HMACs kept, HMACs stripped, another key), an
unkeyed chain rebuilt behind the head file's back, records cut off the end, the file emptied, a
middle record edited and rehashed (keyed and not), an unkeyed record slipped into a keyed log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_forgery import KEY, key_file, read_records, rebuild, rewrite_head, write_log, write_records

from trainhooks.plugins.rbac.audit import record_hash
from trainhooks.plugins.rbac.audit_key import KEY_ENV

pytestmark = pytest.mark.slow  # each case runs the installed CLI

EDIT = {2: {"principal": "admin", "decision": "allow"}}


def rebuilt_keeping_old_hmacs(log: Path) -> None:
    rewrite_head(log, rebuild(log, EDIT, keep_macs=True))


def rebuilt_unkeyed(log: Path) -> None:
    rewrite_head(log, rebuild(log, EDIT))


def rebuilt_with_another_key(log: Path) -> None:
    rewrite_head(log, rebuild(log, EDIT, key=b"x" * 32), key=b"x" * 32)


def rebuilt_behind_the_head_files_back(log: Path) -> None:
    rebuild(log, EDIT)


def truncated(log: Path) -> None:
    write_records(log, read_records(log)[:3])


def emptied(log: Path) -> None:
    log.write_bytes(b"")


def middle_record_edited_and_rehashed(log: Path) -> None:
    records = read_records(log)
    records[2]["principal"] = "admin"
    records[2]["hash"] = record_hash(records[2])
    write_records(log, records)


def unkeyed_record_appended(log: Path) -> None:
    records = read_records(log)
    forged = {**records[-1], "seq": 6, "principal": "admin", "keyed": False, "mac": None, "prev": records[-1]["hash"]}
    forged["hash"] = record_hash(forged)
    write_records(log, [*records, forged])


HMAC_MISMATCH = "HMAC does not match (rebuilt without the key, or the key changed)"
CHAIN_BROKEN_AT_4 = (
    "record 4: chain broken (prev hash differs from record 3's hash: record 3 was edited and rehashed, or replaced)"
)

# (tamper, log keyed?, key given to verify?, exit code, the line after "<status>: <log>: ")
CASES: dict[str, tuple[Callable[[Path], None] | None, bool, bool, int, str]] = {
    "keyed rebuilt keeping the old HMACs": (rebuilt_keeping_old_hmacs, True, True, 1, f"record 2: {HMAC_MISMATCH}"),
    "keyed rebuilt with HMACs stripped": (
        rebuilt_unkeyed,
        True,
        True,
        1,
        "record 5: not keyed, but a key was given (written or rebuilt without the key)",
    ),
    "keyed rebuilt with another key": (rebuilt_with_another_key, True, True, 1, f"record 1: {HMAC_MISMATCH}"),
    "unkeyed rebuilt, head file left": (
        rebuilt_behind_the_head_files_back,
        False,
        False,
        1,
        "record 5: hash differs from the head file's (the log was rewritten)",
    ),
    "unkeyed truncated": (truncated, False, False, 1, "log has 3 records but the head file says 5 (truncated)"),
    "keyed truncated": (truncated, True, True, 1, "log has 3 records but the head file says 5 (truncated)"),
    "keyed truncated, no key": (truncated, True, False, 1, "log has 3 records but the head file says 5 (truncated)"),
    "unkeyed emptied": (emptied, False, False, 1, "log has 0 records but the head file says 5 (emptied)"),
    "keyed emptied": (emptied, True, True, 1, "log has 0 records but the head file says 5 (emptied)"),
    "unkeyed middle record edited and rehashed": (
        middle_record_edited_and_rehashed,
        False,
        False,
        1,
        CHAIN_BROKEN_AT_4,
    ),
    "keyed middle record edited and rehashed": (
        middle_record_edited_and_rehashed,
        True,
        True,
        1,
        f"record 3: {HMAC_MISMATCH}",
    ),
    "keyed middle record edited and rehashed, no key": (
        middle_record_edited_and_rehashed,
        True,
        False,
        1,
        CHAIN_BROKEN_AT_4,
    ),
    "unkeyed record appended to a keyed log": (
        unkeyed_record_appended,
        True,
        True,
        1,
        "record 6: not keyed, but record 1 before it is (written without the key)",
    ),
    "keyed log verified without the key": (
        None,
        True,
        False,
        2,
        f"5 keyed records and the head file cannot be checked without the key (set {KEY_ENV})",
    ),
}
STATUS = {1: "broken", 2: "cannot check"}


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.mark.parametrize("case", list(CASES))
def test_cli_verify_names_each_tamper_in_one_line(case: str, tmp_path: Path, run_cli) -> None:
    tamper, keyed, key_given, code, line = CASES[case]
    log = tmp_path / "audit.jsonl"
    write_log(log, 5, key=KEY if keyed else None)
    if tamper is not None:
        tamper(log)
    env = {KEY_ENV: str(key_file(tmp_path))} if key_given else {}

    done = run_cli("audit", "verify", str(log), env=env)

    assert (done.returncode, done.stdout) == (code, f"{STATUS[code]}: {log}: {line}\n"), done.stderr
    assert done.stderr == ""


def test_cli_verify_intact_keyed_log_with_the_key_file_option(tmp_path: Path, run_cli) -> None:
    log = tmp_path / "audit.jsonl"
    written = write_log(log, 5, key=KEY)
    done = run_cli("audit", "verify", "--key-file", str(key_file(tmp_path)), "--json", str(log))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report == {
        "ok": True,
        "status": "ok",
        "records": 5,
        "keyed": 5,
        "head": written[-1]["hash"],
        "line": None,
        "problem": None,
    }


def test_a_rebuild_that_rewrites_the_head_file_too_needs_a_head_kept_elsewhere(tmp_path: Path, run_cli) -> None:
    """Unkeyed, someone who can write both files can rebuild both: only an anchored head catches it."""
    log = tmp_path / "audit.jsonl"
    anchored = write_log(log, 5)[-1]["hash"]
    rebuilt_unkeyed(log)
    assert run_cli("audit", "verify", str(log)).returncode == 0
    done = run_cli("audit", "verify", "--expect-head", anchored, str(log))
    assert done.returncode == 1
    assert done.stdout == (
        f"broken: {log}: expected head {anchored} not found (records were deleted, or the log rewritten)\n"
    )


def test_cli_refuses_a_key_file_others_can_read(tmp_path: Path, run_cli) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log, 1, key=KEY)
    loose = key_file(tmp_path, mode=0o644)
    done = run_cli("audit", "verify", str(log), env={KEY_ENV: str(loose)})
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {KEY_ENV}: {loose} is readable or writable by others (mode 0644); make it owner-only: chmod 600\n"
    )
