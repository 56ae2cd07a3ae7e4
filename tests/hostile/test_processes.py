"""Issue 15, class 8 (P4) and the walks of class 9: no process of our own, no walk of what is not a package.

`diff -- '--output=X' .` passed an option-looking ref to `git archive`, which wrote X; `diff <ref>`
started `git` although the README says the toolkit starts no process. Refs are now read from history
in Python (dulwich): a ref is looked up, never a command line. `diff / .` walked the whole filesystem
looking for a descriptor; a folder that is not a package is now refused before anything below it is read.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, Runner, assert_no_traceback, assert_usable
from .small import small_package

STARTS_A_PROCESS = {("subprocess", None), ("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"),
                    ("os", "execve"), ("os", "spawnv"), ("os", "posix_spawn"), ("os", "fork"), ("pty", None)}


def test_no_module_of_the_toolkit_can_start_a_process() -> None:
    """Read from the source: no import of subprocess or pty, no os.system/popen/exec*/spawn*/fork."""
    found = []
    for path in sorted((ROOT / "cbj_figures").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                found += [f"{path.name}: import {n}" for n in names if (n.split(".")[0], None) in STARTS_A_PROCESS]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _starts(node):
                found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    assert found == []


def _starts(node: ast.Attribute) -> bool:
    name = node.value.id  # type: ignore[attr-defined]
    return (name, node.attr) in STARTS_A_PROCESS or (name == "os" and node.attr.startswith(("exec", "spawn")))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository (made with dulwich: no git here either) holding the small package in pkg/, two commits."""
    from dulwich import porcelain

    root = tmp_path / "repo"
    pkg = small_package(root / "pkg")
    porcelain.init(str(root))
    author = b"t <t@example.org>"
    porcelain.add(str(root), paths=[str(p) for p in pkg.rglob("*") if p.is_file()])
    porcelain.commit(str(root), message=b"1.0.0", author=author, committer=author)
    porcelain.tag_create(str(root), b"v1.0.0", annotated=False)
    csv = pkg / "data" / "t.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + "c,3\n", encoding="utf-8")
    porcelain.add(str(root), paths=[str(csv)])
    porcelain.commit(str(root), message=b"a row", author=author, committer=author)
    return pkg


@pytest.fixture
def no_git(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose only `git` records that it ran: the toolkit must never run it."""
    folder, marker = tmp_path / "fake-bin", tmp_path / "git-ran"
    folder.mkdir()
    fake = folder / "git"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\nexit 1\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{folder}{os.pathsep}{Path(sys.executable).parent}"}, marker


@pytest.mark.parametrize("ref", ["HEAD~1", "HEAD^", "v1.0.0", "master~1^{commit}"])
def test_diff_reads_a_ref_without_git(ref: str, repo: Path, no_git: tuple[dict[str, str], Path],
                                      cli: Runner) -> None:
    env, marker = no_git
    result = cli("diff", ref, ".", "--json", cwd=repo, env=env)
    assert_usable(result, (0,))
    assert not marker.exists(), f"the toolkit ran git: {marker.read_text()}"
    changes = json.loads(result.out)
    assert changes["bump"] == "minor" and changes["tables"]["t"]["rows_added"] == 1


@pytest.mark.parametrize("ref", ["--output=ESCAPED", "-o", "HEAD --output=ESCAPED", "HEAD:../x", "HEAD~1..HEAD"])
def test_an_option_looking_ref_is_refused(ref: str, repo: Path, no_git: tuple[dict[str, str], Path],
                                          cli: Runner) -> None:
    env, marker = no_git
    before = sorted(p.name for p in repo.parent.parent.iterdir())
    result = cli("diff", "--", ref, ".", cwd=repo, env=env)
    assert_usable(result, (2,))
    assert "not a ref" in result.err or "names no commit" in result.err, result.brief()
    assert sorted(p.name for p in repo.parent.parent.iterdir()) == before and not list(repo.rglob("ESCAPED"))
    assert not marker.exists()


def test_a_symlink_in_history_is_never_created(repo: Path, cli: Runner) -> None:
    """A link committed in the package's history is left out of the exported version, not followed."""
    from dulwich import porcelain

    (repo / "data" / "link").symlink_to("/etc/passwd")
    porcelain.add(str(repo.parent), paths=[str(repo / "data" / "link")])
    author = b"t <t@example.org>"
    porcelain.commit(str(repo.parent), message=b"a link", author=author, committer=author)
    result = cli("diff", "HEAD", ".", "--json", cwd=repo)
    assert_usable(result, (0,))


def test_diff_of_the_filesystem_root_reads_nothing_below_it(cli: Runner) -> None:
    result = cli("diff", "/", ".", cwd=cli.cwd, timeout=30)
    assert_no_traceback(result)
    assert not result.timed_out and result.elapsed < 20, result.brief()
    assert result.rc == 2 and "not a package" in result.err, result.brief()
