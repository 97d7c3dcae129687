"""RBAC policy decisions: role inheritance, globs, groups, default deny, unknown users; policy file
errors; and the meta-test that every permission action the code asks about is catalogued, tested
here and documented."""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from helpers import REPO

from trainhooks.hooks import SettingsError
from trainhooks.hooks.actions import ACTIONS
from trainhooks.plugins.rbac import DEFAULT_DENY, Policy

POLICY = """
[roles.viewer]
permissions = ["run.train:sandbox-*"]

[roles.scientist]
inherits = ["viewer"]
permissions = ["run.tune", "run.train:exp-*", "model.register:fraud-*"]

[roles.release-manager]
inherits = ["scientist"]
permissions = ["model.promote:fraud-*", "model.register"]

[roles.admin]
permissions = ["*"]

[users]
alice = ["scientist"]
rita = ["release-manager"]
root-like = ["admin"]
nobody-roles = []

[groups.ml-team]
members = ["bob", "carol"]
roles = ["viewer"]

[groups.promoters]
members = ["carol"]
roles = ["release-manager"]
"""

# (principal, action, resource, allowed, rule or None when not checked)
CASES = [
    # run.tune: granted to scientist, inherited by release-manager; viewer lacks it
    ("alice", "run.tune", "anything", True, 'roles.scientist.permissions "run.tune"'),
    ("rita", "run.tune", "anything", True, 'roles.scientist.permissions "run.tune"'),
    ("bob", "run.tune", "sandbox-1", False, DEFAULT_DENY),
    # run.train: resource globs; viewer only on sandbox-*, scientist also on exp-*
    ("bob", "run.train", "sandbox-1", True, 'roles.viewer.permissions "run.train:sandbox-*"'),
    ("bob", "run.train", "exp-1", False, DEFAULT_DENY),
    ("alice", "run.train", "exp-1", True, 'roles.scientist.permissions "run.train:exp-*"'),
    ("alice", "run.train", "sandbox-9", True, 'roles.viewer.permissions "run.train:sandbox-*"'),  # inherited
    ("alice", "run.train", "prod", False, DEFAULT_DENY),
    # model.register: glob for scientist, any model for release-manager
    ("alice", "model.register", "fraud-detector", True, 'roles.scientist.permissions "model.register:fraud-*"'),
    ("alice", "model.register", "churn", False, DEFAULT_DENY),
    ("rita", "model.register", "churn", True, 'roles.release-manager.permissions "model.register"'),
    # model.promote: release-manager only, and only fraud-*
    ("rita", "model.promote", "fraud-detector", True, 'roles.release-manager.permissions "model.promote:fraud-*"'),
    ("rita", "model.promote", "churn", False, DEFAULT_DENY),
    ("alice", "model.promote", "fraud-detector", False, DEFAULT_DENY),
    # groups: carol is in two groups and gets both sets of roles
    ("carol", "model.promote", "fraud-x", True, 'roles.release-manager.permissions "model.promote:fraud-*"'),
    ("carol", "run.train", "sandbox-2", True, 'roles.viewer.permissions "run.train:sandbox-*"'),
    # action glob
    ("root-like", "model.promote", "anything", True, 'roles.admin.permissions "*"'),
    # unknown users and users without roles: default deny
    ("mallory", "run.tune", "exp-1", False, DEFAULT_DENY),
    ("mallory", "run.train", "sandbox-1", False, DEFAULT_DENY),
    ("nobody-roles", "run.train", "sandbox-1", False, DEFAULT_DENY),
    # names are case-sensitive: 'Alice' is not 'alice'
    ("Alice", "run.tune", "x", False, DEFAULT_DENY),
]


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return Policy.load(path)


@pytest.mark.parametrize(("principal", "action", "resource", "allowed", "rule"), CASES)
def test_policy_decisions(policy: Policy, principal: str, action: str, resource: str, allowed: bool, rule: str) -> None:
    decision = policy.decide(principal, action, resource)
    assert decision.allowed is allowed, decision.reason
    assert decision.rule == rule


def test_allow_names_the_role_chain_and_assignment(policy: Policy) -> None:
    decision = policy.decide("rita", "run.train", "sandbox-1")
    assert decision.allowed
    assert decision.reason == "'rita' holds role 'release-manager > scientist > viewer' via users.rita"


def test_unknown_principal_denial_says_so(policy: Policy) -> None:
    decision = policy.decide("mallory", "run.tune", "exp")
    assert not decision.allowed
    assert "'mallory' has no role" in decision.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[roles.a]\npermissions = ['run.tunes']\n", "roles.a.permissions[0]: unknown action 'run.tunes'"),
        ("[roles.a]\ninherits = ['b']\n", "roles.a.inherits: unknown role 'b'"),
        ("[users]\nalice = ['ghost']\n", "users.alice: unknown role 'ghost'"),
        ("[groups.g]\nmembers = ['x']\nroles = ['ghost']\n", "groups.g.roles: unknown role 'ghost'"),
        ("[roles.a]\ninherits = ['b']\n[roles.b]\ninherits = ['a']\n", "inheritance cycle a -> b -> a"),
        ("[roles.a]\npermissions = ['run.tune:']\n", "is not ACTION or ACTION:RESOURCE"),
        ("[roles.a]\npermission = ['run.tune']\n", "roles.a.permission: unknown key (did you mean 'permissions'?)"),
        ("[users]\nalice = 'scientist'\n", "users.alice: Input should be a valid list (got 'scientist')"),
        ("default = 'allow'\n", "default: only 'deny' is supported"),
        ("[roles.a\n", "not valid TOML"),
    ],
)
def test_bad_policy_is_one_line_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        Policy.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_policy_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^plugins\.rbac\.policy: file not found: .*nope\.toml$"):
        Policy.load(tmp_path / "nope.toml")


# -- meta-test: every action the code asks about is catalogued, tested and documented ---------------

CHECK_CALLS = {"check_permission": 0, "require_permission": 1}  # call name -> position of the action


def _string_patterns(node: ast.expr, constants: dict[str, set[str]], params: set[str]) -> set[str] | None:
    """Glob patterns an action expression can take; ``None`` if it cannot be told statically."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.JoinedStr):
        return {"".join(v.value if isinstance(v, ast.Constant) else "*" for v in node.values)}
    if isinstance(node, ast.IfExp):
        a, b = _string_patterns(node.body, constants, params), _string_patterns(node.orelse, constants, params)
        return None if a is None or b is None else a | b
    if isinstance(node, ast.Name):
        if node.id in params:
            return set()  # passed through from the caller, whose call is scanned itself
        return constants.get(node.id)
    return None


def checked_actions() -> tuple[dict[str, list[str]], list[str]]:
    """Every action pattern passed to a permission check in core/ and plugins/, with where."""
    found: dict[str, list[str]] = {}
    unknown: list[str] = []
    for path in sorted([*(REPO / "core").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants: dict[str, set[str]] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(getattr(node.value, "value", None), str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = {node.value.value}  # type: ignore[attr-defined]
        parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in CHECK_CALLS:
                continue
            arg = next((k.value for k in node.keywords if k.arg == "action"), None)
            if arg is None:
                position = CHECK_CALLS[name]
                if len(node.args) <= position + 1 and not any(k.arg == "resource" for k in node.keywords):
                    continue  # dispatcher.check_permission(request): not an action call
                arg = node.args[position]
            params: set[str] = set()
            scope = parents.get(node)
            while scope is not None:
                if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
                    params |= {a.arg for a in [*scope.args.args, *scope.args.kwonlyargs]}
                scope = parents.get(scope)
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            patterns = _string_patterns(arg, constants, params)
            if patterns is None:
                unknown.append(where)
                continue
            for pattern in patterns:
                found.setdefault(pattern, []).append(where)
    return found, unknown


def test_every_checked_action_is_catalogued_tested_and_documented() -> None:
    found, unknown = checked_actions()
    assert not unknown, f"permission checks whose action is not a literal (use a string constant): {unknown}"
    assert "run.*" in found or {"run.tune", "run.train"} <= set(found), found  # the core's own check
    docs = (REPO / "docs" / "rbac.md").read_text(encoding="utf-8")
    problems = []
    for pattern, where in sorted(found.items()):
        actions = [name for name in ACTIONS if fnmatchcase(name, pattern)]
        if not actions:
            problems.append(f"{pattern} (asked at {', '.join(where)}) has no entry in hooks/actions.py")
        for action in actions:
            outcomes = {allowed for _, a, _, allowed, _ in CASES if a == action}
            if outcomes != {True, False}:
                problems.append(f"{action}: needs an allowed and a denied case in CASES of this file")
            if f"`{action}`" not in docs:
                problems.append(f"{action}: not documented in docs/rbac.md")
    assert not problems, "\n".join(problems)


def test_catalogue_entries_are_complete() -> None:
    for name, action in ACTIONS.items():
        assert name == action.name and "." in name and ":" not in name
        assert action.description and action.resource and action.asked_by
