"""The base content of a comparison: a directory, or the pack as it was at a git revision.

`base_content(ref, root)` yields a directory holding `catalog/`, `rules/` and `proposals/`: the
directory `ref` itself, or those folders extracted (`git archive`) from revision `ref` of the
repository that holds the content root `root` into a temporary directory, removed afterwards. A
content root that is a subdirectory of its repository is handled (`git rev-parse --show-prefix`).
"""
from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .pack import PACK_FOLDERS

GIT_TIMEOUT_S = 60


class BaseNotFound(ValueError):
    """REF is neither a directory nor a revision of the content's git repository."""


@contextmanager
def base_content(ref: str, root: Path) -> Iterator[tuple[Path, str]]:
    """(directory of the base pack, how to name it in reports) for `--base REF`."""
    as_dir = Path(ref).expanduser()
    if as_dir.is_dir():
        yield as_dir.resolve(), f"directory {as_dir.resolve()}"
        return
    commit, prefix, top = resolve_revision(ref, root)
    with tempfile.TemporaryDirectory(prefix="configurator-base-") as tmp:
        extract(top, commit, prefix, Path(tmp))
        yield Path(tmp), f"git {ref} ({commit[:12]})"


def _git(root: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=not binary, timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise BaseNotFound("git is not installed, so --base can only be a directory") from None


def resolve_revision(ref: str, root: Path) -> tuple[str, str, Path]:
    """(commit id, the content root's path inside the repository ('' or 'dir/'), the
    repository's top directory)."""
    if not root.is_dir():
        raise BaseNotFound(f"the content directory {root} does not exist")
    inside = _git(root, "rev-parse", "--show-toplevel", "--show-prefix")
    if inside.returncode != 0:
        raise BaseNotFound(f"`{ref}` is not a directory, and the content directory {root} is not "
                           "in a git repository, so it cannot be a git revision either")
    top, _, prefix = inside.stdout.rstrip("\n").partition("\n")
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0 or not found.stdout.strip():
        raise BaseNotFound(f"`{ref}` is neither a directory nor a git revision of the repository "
                           f"holding {root} (try HEAD, a branch, a tag or a commit id)")
    return found.stdout.strip(), prefix.strip(), Path(top)


def extract(top: Path, commit: str, prefix: str, target: Path) -> list[str]:
    """Write the pack folders of `commit` (under `prefix`, a path from the repository's top
    directory `top`) into `target`; returns the folders found."""
    tree = f"{commit}:{prefix}" if prefix else f"{commit}:"
    listing = _git(top, "ls-tree", "--name-only", tree)
    if listing.returncode != 0:
        raise BaseNotFound(f"revision {commit[:12]} has no folder {prefix.rstrip('/') or '.'}")
    present = [name for name in listing.stdout.splitlines() if name in PACK_FOLDERS]
    if not present:
        return []
    archive = _git(top, "archive", "--format=tar", tree, *present, binary=True)
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise BaseNotFound(f"git archive of {commit[:12]} failed: {message}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return present
