"""A version of the package from git history, read without starting a process (dulwich, pure Python).

Why not `git archive`: the toolkit starts no process of its own, and a ref that looks like an option
(`--output=X`) must never reach a command line. Here a ref is only ever looked up: a branch, tag or
(abbreviated) commit id, followed by `~N` and `^N` steps; anything else is refused. The tree of the
package's folder at that commit is written into a fresh folder, within the archive budgets of safeio
(members, bytes); symlinks and submodules in history are left out, never followed or created.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from cbj_figures import safeio

_STEP = re.compile(r"(~|\^)(\d*)")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+@-]*$")  # refs/heads/x, v1.0.0, origin/main, 3cd95bb, HEAD
_FILE, _EXECUTABLE, _FOLDER = 0o100644, 0o100755, 0o040000


class NotARef(ValueError):
    """The name is not a ref or commit of the repository (or not a name we look up)."""


def _repo(folder: Path) -> tuple[Any, str]:
    """(the repository holding `folder`, the folder's path inside it: "" at its top)."""
    try:
        from dulwich.errors import NotGitRepository
        from dulwich.repo import Repo
    except ImportError:
        raise NotARef("reading git history needs dulwich: pip install 'cbj-figures[git]'") from None
    try:
        repo = Repo.discover(str(folder))
    except NotGitRepository:
        raise NotARef(f"{folder} is not inside a git repository") from None
    prefix = Path(folder).resolve().relative_to(Path(repo.path).resolve()).as_posix()
    return repo, "" if prefix == "." else prefix


def commit_of(repo: Any, ref: str) -> Any:
    """The commit `ref` names: NAME followed by `~N` / `^N` steps (as git reads them); NotARef otherwise."""
    from dulwich.objectspec import parse_commit

    base = re.split(r"[~^]", ref, maxsplit=1)[0]
    steps = ref[len(base):].removesuffix("^{commit}")
    if not _NAME.match(base) or ".." in base or _STEP.sub("", steps):
        raise NotARef(f"{ref!r} is not a ref, tag or commit id (NAME, then ~N or ^N)")
    try:
        commit = parse_commit(repo, base)
        for kind, count in _STEP.findall(steps):
            n = int(count) if count else 1
            if kind == "~":
                for _ in range(n):
                    commit = repo[commit.parents[0]]
            elif n:  # ^0 is the commit itself
                commit = repo[commit.parents[n - 1]]
    except (KeyError, IndexError, ValueError) as e:
        raise NotARef(f"{ref!r} names no commit of {repo.path} ({type(e).__name__})") from None
    return commit


def export(folder: Path, ref: str, dest: Path) -> Path:
    """Write the tree of `folder` (inside its repository) at commit `ref` into the fresh folder `dest`."""
    repo, prefix = _repo(Path(folder))
    try:
        tree = repo[commit_of(repo, ref).tree]
        for part in PurePosixPath(prefix).parts if prefix else ():
            mode, sha = tree[part.encode()]
            if mode != _FOLDER:
                raise NotARef(f"{prefix} is not a folder at {ref}")
            tree = repo[sha]
        dest.mkdir(parents=True, exist_ok=False)
        _write_tree(repo, tree, dest, budget=[safeio.MAX_MEMBERS, safeio.MAX_ARCHIVE])
    except KeyError:
        raise NotARef(f"{prefix or '.'} does not exist at {ref}") from None
    finally:
        repo.close()
    return dest


def _write_tree(repo: Any, tree: Any, dest: Path, budget: list[int]) -> None:
    """Files and folders of `tree` below `dest` (iteratively); the budget of members and bytes is shared."""
    stack = [(tree, dest)]
    while stack:
        tree, here = stack.pop()
        for entry in tree.iteritems():
            name = entry.path.decode("utf-8", "surrogateescape")
            safeio.relpath(name, "file in git history")  # no `..`, `/` or empty name, whatever the tree says
            budget[0] -= 1
            if budget[0] < 0:
                raise safeio.UnsafeInput("too-large", f"more than {safeio.MAX_MEMBERS:,} files at this commit")
            if entry.mode == _FOLDER:
                (here / name).mkdir()
                stack.append((repo[entry.sha], here / name))
            elif entry.mode in (_FILE, _EXECUTABLE):
                data = repo[entry.sha].as_raw_string()
                budget[1] -= len(data)
                if budget[1] < 0:
                    raise safeio.UnsafeInput("too-large", f"the files at this commit exceed {safeio.MAX_ARCHIVE:,} "
                                             "bytes")
                with open(here / name, "xb") as fh:  # a new file in a folder of our own: nothing to follow
                    fh.write(data)
            # a symlink (0o120000) or a submodule (0o160000) is left out: never followed, never created
