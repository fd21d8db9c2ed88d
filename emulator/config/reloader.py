"""Hot reload: validate a new config off the request path, then swap it into the engine whole.

A reload never makes things worse. A config that fails to load leaves the last good one in
place and is reported (`engine.config_error`, health "degraded") until a good one arrives. A
good one is swapped in a single assignment, so a request that already started (an open stream
included) finishes on the config it began with. Threads and idempotency records live in the
store, which a reload never touches.

A load whose nodes are all equal to the current ones (a comment edit, a save without changes)
applies nothing: the generation stays, nothing is logged, and a pending error is cleared.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import replace

from emulator.config.errors import ConfigError, ConfigIssue
from emulator.config.fixtures import SUFFIXES as FIXTURE_SUFFIXES
from emulator.config.fixtures import parse_fixture
from emulator.config.loader import parse_config_bytes, read_config_file
from emulator.config.model import Config, Node
from emulator.core.engine import Engine
from emulator.core.routing import NOTHING_UNLOADED, Unloaded

log = logging.getLogger("emulator")

PUT_SOURCE = "<PUT /_emulator/config>"
DEBOUNCE_MS = 50  # the longest a burst of saves is grouped before a reload
STEP_MS = 20  # quiet time that ends a group of changes
SETTLE_ROUNDS = 5  # re-reads while the file keeps changing under a load


class Changes(msgspec.Struct, frozen=True):
    """Node aliases added, removed and changed between two configs."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    reordered: bool = False

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.reordered)

    def summary(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if names
        ]
        if self.reordered and not parts:
            parts.append("nodes reordered")
        return "; ".join(parts) or "no node changes"

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": list(self.changed),
        }


def _comparable(node: Node) -> Node:
    # Where a node is written is not what it does: moving it in the file changes nothing.
    return replace(node, location=None)


def diff_nodes(old: Config, new: Config) -> Changes:
    """What a swap from `old` to `new` changes, node by node (nodes compare by value)."""
    added = tuple(alias for alias in new.nodes if alias not in old.nodes)
    removed = tuple(alias for alias in old.nodes if alias not in new.nodes)
    changed = tuple(
        alias
        for alias, node in new.nodes.items()
        if alias in old.nodes and _comparable(old.nodes[alias]) != _comparable(node)
    )
    kept_old = [alias for alias in old.nodes if alias in new.nodes]
    kept_new = [alias for alias in new.nodes if alias in old.nodes]
    return Changes(added, removed, changed, reordered=kept_old != kept_new)


class ReloadResult(msgspec.Struct, frozen=True):
    applied: bool
    generation: int
    changes: Changes = msgspec.field(default_factory=Changes)
    error: ConfigError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "generation": self.generation,
            "changes": self.changes.to_dict(),
            "error": str(self.error) if self.error else None,
            "errors": self.error.as_dicts() if self.error else [],
        }


class Reloader:
    """Loads configs and swaps them into the engine; one reload at a time."""

    def __init__(
        self,
        engine: Engine,
        path: str | os.PathLike[str] | None,
        *,
        fixtures: str | os.PathLike[str] | None = None,
    ) -> None:
        self.engine = engine
        self.path = Path(path) if path is not None else None
        self.fixtures = Path(fixtures).absolute() if fixtures is not None else None
        self._lock = asyncio.Lock()
        self._logged_error: str | None = None
        self.last_error: ConfigError | None = None  # `engine.config_error`, whole
        self._applied_text: bytes | None = None  # the last PUT body applied, while it is current
        # The file as it was when last read (at start: as the config was loaded), to tell a save
        # that no watch has reported yet (see `watch`) from one already applied.
        self._read_as = _signature(self.path)

    async def reload(self) -> ReloadResult:
        """Read the config file again and apply it if it loads; keep the last good one if not."""
        async with self._lock:
            try:
                config = await asyncio.to_thread(self._load_settled)
            except ConfigError as exc:
                return self._fail(exc)
            return self._apply(config)

    async def apply_text(self, data: bytes, source: str = PUT_SOURCE) -> ReloadResult:
        """Validate a whole YAML document and apply it, as if the file had been saved."""
        async with self._lock:
            try:
                config = await asyncio.to_thread(parse_config_bytes, data, source)
            except ConfigError as exc:
                # A rejected upload is answered to its sender; the running config is not at fault.
                return ReloadResult(False, self.engine.generation, error=exc)
            result = self._apply(config)
            self._applied_text = data
            return result

    async def source_text(self) -> str | None:
        """The YAML the running config came from: the file as it is now (with a pending error,
        the text that error is about), or the last PUT body applied. None if unreadable."""
        source = self.engine.config.path
        if source == PUT_SOURCE and self._applied_text is not None:
            return self._applied_text.decode("utf-8-sig", errors="replace")
        if source is None or self.path is None:
            return None
        try:
            data = await asyncio.to_thread(read_config_file, self.path)
        except ConfigError:
            return None
        return data.decode("utf-8-sig", errors="replace")

    def _load_settled(self) -> Config:
        """Load the file; if it changed while loading (a burst of saves), load it again."""
        if self.path is None:
            raise ConfigError([ConfigIssue(None, "this config did not come from a file")])
        self._read_as = _signature(self.path)
        data = read_config_file(self.path)
        for _ in range(SETTLE_ROUNDS):
            config = parse_config_bytes(data, os.fspath(self.path))
            again = read_config_file(self.path)
            if again == data:
                return config
            data = again
        return parse_config_bytes(data, os.fspath(self.path))

    def _apply(self, config: Config) -> ReloadResult:
        engine = self.engine
        changes = diff_nodes(engine.config, config)
        recovered = engine.config_error is not None
        engine.config_error = None
        engine.unloaded = NOTHING_UNLOADED
        self.last_error = None
        self._logged_error = None
        self._applied_text = None
        same_source = (config.path, config.version) == (engine.config.path, engine.config.version)
        if not changes and same_source:
            if recovered:
                log.info(
                    "config is valid again; nodes unchanged (generation %d)", engine.generation
                )
            return ReloadResult(False, engine.generation, changes)
        # No await between these lines: a request sees the old config or the new one, whole.
        engine.config = config
        engine.overrides.retain(config.nodes)  # a removed node's overrides go with it
        engine.generation += 1
        engine.loaded_at = engine.clock.now()
        log.info(
            "config reloaded from %s (generation %d): %s",
            config.path,
            engine.generation,
            changes.summary(),
        )
        return ReloadResult(True, engine.generation, changes)

    def _fail(self, error: ConfigError) -> ReloadResult:
        message = str(error)
        self.engine.config_error = message
        self.engine.unloaded = Unloaded(
            {a: api for a, api in error.nodes.items() if a not in self.engine.config.nodes},
            error.summary(),
        )
        self.last_error = error
        if message != self._logged_error:  # a burst of equally broken saves logs once
            self._logged_error = message
            log.warning(
                "config error, still serving generation %d:\n%s", self.engine.generation, message
            )
        return ReloadResult(False, self.engine.generation, error=error)

    def watched(self) -> list[Path]:
        """The directories to watch: the config file's (and, when it is a symlink, its
        target's), and the fixtures directory if any."""
        dirs = []
        if self.path is not None:
            dirs.append(self.path.absolute().parent)
            target = self.path.resolve().parent
            if target != dirs[0] and target.is_dir():
                dirs.append(target)
        if self.fixtures is not None and self.fixtures.is_dir():
            dirs.append(self.fixtures)
        return dirs

    def saved_since_read(self) -> bool:
        """Whether the config file was saved (or removed) since it was last read."""
        return self.path is not None and _signature(self.path) != self._read_as

    def is_config(self, path: str) -> bool:
        """The config file, or the file it links to (a symlinked nodes.yaml is edited there)."""
        if self.path is None:
            return False
        changed = Path(path)
        return changed == self.path.absolute() or changed == self.path.resolve()

    def is_fixture(self, path: str) -> bool:
        """A fixture file (not an editor's or the recorder's hidden temporary file)."""
        file = Path(path)
        return (
            self.fixtures is not None
            and file.parent == self.fixtures
            and file.suffix in FIXTURE_SUFFIXES
            and not file.name.startswith(".")
        )

    async def changed(self, paths: set[str]) -> None:
        """React to a group of file changes reported by the watcher."""
        for path in sorted(Path(p) for p in paths if self.is_fixture(p)):
            # Replay nodes read fixtures when they answer, so there is nothing to swap: say
            # whether the new file is usable, so a broken edit shows before a request fails.
            await asyncio.to_thread(check_fixture_file, path)  # file I/O off the event loop
        if any(self.is_config(p) for p in paths):
            await self.reload()


def check_fixture_file(path: Path) -> None:
    if not path.is_file():
        log.info("fixture removed: %s", path.name)
        return
    try:
        parse_fixture(path.read_bytes().decode("utf-8-sig"), str(path))
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        log.warning("fixture %s cannot be replayed:\n%s", path.name, exc)
    else:
        log.info("fixture changed: %s", path.name)


async def watch(
    reloader: Reloader,
    stop: asyncio.Event,
    *,
    debounce: int = DEBOUNCE_MS,
    step: int = STEP_MS,
) -> None:
    """Reload whenever the config file changes, until `stop` is set.

    The file's directory is watched, not the file: editors that save through a temporary file
    and a rename, `sed -i`, and delete-then-recreate all replace the file's inode.

    watchfiles' `watch` runs on a thread of its own and hands each batch of changes to the
    event loop (its `awatch` would wait on anyio's worker threads instead, and importing anyio's
    backend was a twentieth of every start). A save made before the watch began is not missed:
    when the thread first hears from the watch (a change, or CATCH_UP_MS of quiet), it asks for a
    reload if the file was saved since it was last read (a config uploaded meanwhile with
    `PUT /_emulator/config` stays until the file really changes).
    """
    dirs = reloader.watched()
    if not dirs:
        return
    loop = asyncio.get_running_loop()
    batches: asyncio.Queue[set[str] | None] = asyncio.Queue()
    halt = threading.Event()

    def report(paths: set[str]) -> None:
        loop.call_soon_threadsafe(batches.put_nowait, paths)

    async def on_stop() -> None:
        await stop.wait()
        batches.put_nowait(None)

    thread = threading.Thread(
        target=_watching,
        args=(reloader, dirs, halt, report, debounce, step),
        name="config-watcher",
        daemon=True,  # it sees `halt` within one step, but must never hold up an exit
    )
    thread.start()
    stopper = asyncio.create_task(on_stop())
    try:
        while (paths := await batches.get()) is not None:
            await reloader.changed(paths)
    finally:
        halt.set()
        stopper.cancel()


CATCH_UP_MS = 300  # the watch thread's first report comes this soon at the latest


def _watching(
    reloader: Reloader,
    dirs: list[Path],
    halt: threading.Event,
    report: Callable[[set[str]], None],
    debounce: int,
    step: int,
) -> None:
    """The watch thread: report each batch of changed paths until `halt` is set."""
    from watchfiles import watch as watch_files  # loaded only when watching

    # watchfiles logs every batch at INFO; our own line per reload says what mattered.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)

    def keep(_: object, path: str) -> bool:
        return reloader.is_config(path) or reloader.is_fixture(path)

    while not halt.is_set():
        caught_up = False  # saves made before this watch began are not reported by it
        try:
            for changes in watch_files(
                *dirs,
                watch_filter=keep,
                debounce=debounce,
                step=step,
                stop_event=halt,
                rust_timeout=CATCH_UP_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=False,
            ):
                paths = {path for _, path in changes}
                if not caught_up and reloader.saved_since_read():
                    assert reloader.path is not None
                    paths.add(str(reloader.path.absolute()))
                caught_up = True
                if paths:
                    report(paths)
        except Exception as exc:  # a watched directory went away, inotify limits, ...
            log.warning("watching %s failed (%s); retrying", ", ".join(map(str, dirs)), exc)
            halt.wait(1.0)


def _signature(path: Path | None) -> tuple[int, int, int] | None:
    """What changes when a file is saved: its inode, size and modification time (None: no
    file)."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns
