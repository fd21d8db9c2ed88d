"""Small real filesystems for fault tests: a tmpfs that fills up, a directory mounted read-only.

Both need root and a kernel that lets this process mount (a container may not); the fixtures
skip with the reason when they cannot.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)


def _skip_unless_root() -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a filesystem needs root")


@contextmanager
def tmpfs(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of `size_kib` KiB mounted at `path` (created) for the block."""
    _skip_unless_root()
    path.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield path
    finally:
        _run("umount", "-l", str(path))


@contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` bind-mounted over itself read-only for the block (writes fail with EROFS)."""
    _skip_unless_root()
    if _run("mount", "--bind", str(path), str(path)).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        remount = _run("mount", "-o", "remount,ro,bind", str(path))
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
        yield path
    finally:
        _run("umount", "-l", str(path))


def fill(directory: Path, leave_bytes: int) -> Path:
    """Fill `directory`'s filesystem with one file until about `leave_bytes` stay free."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    filler = directory / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave_bytes))
    return filler
