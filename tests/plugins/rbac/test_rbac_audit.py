"""The audit log's hash chain: it verifies when intact and names the first edited, deleted,
reordered or incomplete record; ``trainhooks audit verify`` reports it; concurrent writers keep it whole.
Keys, the head file and each tamper through the real CLI: test_audit_key.py, test_audit_tamper.py."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from audit_forgery import write_log

from trainhooks.cli.app import main
from trainhooks.plugins.rbac import AuditError, AuditLog, verify


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_intact_chain_verifies_and_reports_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = write_log(path)
    result = verify(path)
    assert result.ok and result.records == 5
    assert result.head == written[-1]["hash"]
    assert [json.loads(line)["seq"] for line in lines(path)] == [1, 2, 3, 4, 5]
    assert written[1]["prev"] == written[0]["hash"]
    assert set(written[0]) >= {"time", "principal", "action", "resource", "decision", "rule", "plugins", "prev", "hash"}
    assert written[0]["keyed"] is False and written[0]["mac"] is None


def test_edited_record_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path)
    content = lines(path)
    content[2] = content[2].replace('"decision":"allow"', '"decision":"deny"')
    path.write_text("".join(content), encoding="utf-8")
    result = verify(path)
    assert not result.ok and result.line == 3 and result.records == 2
    assert result.problem == "record 3: hash does not match its content (edited)"


def test_edit_with_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    from trainhooks.plugins.rbac.audit import record_hash

    path = tmp_path / "audit.jsonl"
    write_log(path)
    content = lines(path)
    record = json.loads(content[1])
    record["principal"] = "mallory"
    record["hash"] = record_hash(record)  # a forger fixes this record's own hash...
    content[1] = json.dumps(record, separators=(",", ":")) + "\n"
    path.write_text("".join(content), encoding="utf-8")
    result = verify(path)  # ...but the next record still points at the old one
    assert not result.ok and result.line == 3
    assert result.problem == (
        "record 3: chain broken (prev hash differs from record 2's hash: record 2 was edited and rehashed, or replaced)"
    )


def test_deleted_record_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path)
    content = lines(path)
    del content[1]
    path.write_text("".join(content), encoding="utf-8")
    result = verify(path)
    assert not result.ok and result.line == 2
    assert result.problem.startswith("record 2: expected seq 2, found seq 3")


def test_deleted_first_record_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path)
    path.write_text("".join(lines(path)[1:]), encoding="utf-8")
    result = verify(path)
    assert not result.ok and result.line == 1 and result.problem.startswith("record 1: expected seq 1, found seq 2")


def test_reordered_records_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path)
    content = lines(path)
    content[2], content[3] = content[3], content[2]
    path.write_text("".join(content), encoding="utf-8")
    result = verify(path)
    assert not result.ok and result.line == 3 and result.problem.startswith("record 3: expected seq 3, found seq 4")


def test_deleted_tail_is_caught_by_the_head_file_and_the_expected_head(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = write_log(path)
    assert verify(path, expect_head=written[1]["hash"]).ok  # an older head still in the log is fine
    path.write_text("".join(lines(path)[:3]), encoding="utf-8")
    result = verify(path)  # a shorter chain is still a chain, but not the one the head file records
    assert not result.ok and result.records == 3 and result.line is None
    assert result.problem == "log has 3 records but the head file says 5 (truncated)"
    result = verify(path, expect_head=written[-1]["hash"])
    assert not result.ok and result.records == 3
    Path(f"{path}.head").unlink()  # with the head file gone too, only a head kept elsewhere catches it
    result = verify(path, expect_head=written[-1]["hash"])
    assert not result.ok and result.problem == f"head file {path}.head is missing (deleted?)"


def test_incomplete_last_line_is_reported_and_blocks_appends(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_log(path, 2)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"seq":3,')
    result = verify(path)
    assert not result.ok and result.line == 3 and "incomplete" in result.problem
    with pytest.raises(AuditError, match="incomplete"):
        write_log(path, 1)
    assert verify(path).records == 2  # nothing appended after the damage


def _append_many(path: str, worker: int) -> None:
    log = AuditLog(path)
    for i in range(20):
        log.append(principal=f"w{worker}", action="run.train", resource=str(i), allowed=True, rule=None, reason="")


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0
    result = verify(path)
    assert result.ok and result.records == 60


def run_cli(*args: str) -> int:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    return int(info.value.code or 0)


def test_cli_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINHOOKS_DISABLE_PLUGIN_AUTOLOAD", "1")
    path = tmp_path / "audit.jsonl"
    written = write_log(path)
    assert run_cli("audit", "verify", str(path)) == 0
    assert capsys.readouterr().out.strip() == f"ok: {path}: 5 records, head {written[-1]['hash']}"

    content = lines(path)
    del content[3]
    path.write_text("".join(content), encoding="utf-8")
    assert run_cli("audit", "verify", str(path)) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"broken: {path}: record 4: expected seq 4, found seq 5") and "\n" not in out

    assert run_cli("audit", "verify", "--json", str(path)) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["line"] == 4 and report["records"] == 3

    assert run_cli("audit", "verify", str(tmp_path / "missing.jsonl")) == 2
    assert "missing.jsonl" in capsys.readouterr().err
