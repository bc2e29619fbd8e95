"""One demo per directory: an OS lock on DIR/demo.lock that names the holder's PID and ports."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from domains.errors import InterlinkError

LOCK_FILE = "demo.lock"
#: What the lock file may name besides the PID, and how the refusal shows each.
PORT_LABELS = {
    "whois": "WHOIS 127.0.0.1:{}",
    "http": "HTTP http://127.0.0.1:{}/",
    "epp": "EPP sandbox :{}",
}
log = logging.getLogger(__name__)


class DemoAlreadyRunning(InterlinkError):
    """Another demo holds the directory's lock; the text names its PID and ports."""

    def __init__(self, directory: Path, holder: Mapping[str, object]) -> None:
        self.directory = directory
        self.holder = dict(holder)
        pid = holder.get("pid")
        ports = [label.format(holder[key]) for key, label in PORT_LABELS.items() if key in holder]
        where = ", ".join(ports) if ports else "its ports are not known yet"
        super().__init__(
            f"a demo already runs in {directory} (PID {pid or 'unknown'}; {where}); quit it "
            "first, or run another one elsewhere with `interlink demo --dir OTHER_DIR`"
        )


class DemoLock:
    """An exclusive flock on DIR/demo.lock, held while the demo runs.

    The kernel drops the lock when the process ends, however it ends, so a lock file left by a
    killed demo blocks nothing. The file is never deleted (deleting it would let two demos lock
    two different files); its content is only what the holder says about itself.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._facts: dict[str, object] = {}

    @classmethod
    @contextlib.contextmanager
    def hold(cls, directory: Path) -> Iterator[DemoLock]:
        """Lock `directory` for this process (creating it if need be) until the block ends.

        Raises DemoAlreadyRunning, having changed nothing, when another process holds it.
        """
        lock = cls.take(directory)
        try:
            yield lock
        finally:
            lock.release()

    @classmethod
    def take(cls, directory: Path) -> DemoLock:
        """Lock `directory` now; DemoAlreadyRunning (nothing changed) if another demo has it."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOCK_FILE
        # Opening an existing file neither truncates nor writes it: a refused demo leaves the
        # running demo's lock file exactly as it was. The descriptor is not inherited.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise DemoAlreadyRunning(directory, holder) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock.record(pid=os.getpid())
        return lock

    def record(self, **facts: object) -> None:
        """Add facts (pid, whois, http, epp ports) to the lock file; None values are skipped."""
        self._facts.update({key: value for key, value in facts.items() if value is not None})
        if self._fd is None:
            return
        data = json.dumps(self._facts).encode()
        try:
            # One write from offset 0, then cut what an older, longer text left behind.
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))
        except OSError as exc:  # the lock still holds; only the refusal message says less
            log.warning("cannot write the demo lock file: %s", exc.strerror or exc)

    def release(self) -> None:
        """Empty the lock file and let go of the lock (safe to call twice)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the only descriptor drops the flock


def _read(fd: int) -> dict[str, object]:
    """The facts in a lock file ({} if it holds none yet or is garbled)."""
    try:
        facts = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return facts if isinstance(facts, dict) else {}
