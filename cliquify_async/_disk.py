"""The user's own disk, where the harvest and downloads write: never through a symlink (or,
for a file appended to, a hard link) the SDK did not create, temporary files created
exclusively, and one live harvest per output (an OS file lock)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, Final

from .errors import OutputError, OutputLockedError

_NOFOLLOW: Final = os.O_NOFOLLOW | os.O_CLOEXEC


def open_fd(path: Path, flags: int, mode: int = 0o644) -> int:
    """os.open with O_NOFOLLOW: OutputError instead of following a symlink at `path`."""
    try:
        return os.open(path, flags | _NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise OutputError(
            f"{path} is a symlink the harvest did not create; remove it to harvest here"
        ) from None


def create_exclusive(path: Path) -> BinaryIO:
    """`path` created anew for writing (a temporary file of the SDK's own): whatever a crash
    or anyone else left at that name is removed, never followed, and the file is opened
    O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink planted in between fails the open."""
    path.unlink(missing_ok=True)
    try:
        return os.fdopen(open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb")
    except FileExistsError:
        raise OutputError(f"{path} appeared while the harvest was creating it") from None


def read_own(path: Path) -> bytes | None:
    """The bytes of a file the SDK wrote, None if it is missing; OutputError for a symlink."""
    try:
        fd = open_fd(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        return file.read()


def replace_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (a crash leaves the old file or the new one),
    through a temporary `.<name>.tmp` of its own; a symlink at `path` is replaced, not
    followed."""
    temporary = path.with_name(f".{path.name}.tmp")
    with create_exclusive(temporary) as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def refuse_link(path: Path, *, in_place: bool = False) -> None:
    """OutputError if `path` is a symlink, or for a file written `in_place` (appended to, not
    replaced) a hard link to a file elsewhere: the harvest writes only into what it created."""
    try:
        found = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(found.st_mode) or (in_place and found.st_nlink > 1):
        raise OutputError(f"{path} is a link the harvest did not create; remove it to harvest here")


def make_folder(path: Path) -> Path:
    """`path` as a folder, created if missing (with its parents); OutputError for a symlink."""
    refuse_link(path)
    path.mkdir(parents=True, exist_ok=True)
    refuse_link(path)
    return path


class OutputLock:
    """An exclusive OS lock (fcntl.flock) on the lock file `path`: held from `acquire` to
    `release`, so a second harvest into the same output is refused while the first lives. The
    OS drops it when the holder ends however it ends (kill -9 too): a leftover file never
    blocks."""

    def __init__(self, path: Path, output: str) -> None:
        self._path = path
        self._output = output
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or OutputLockedError at once if another live harvest holds it."""
        import fcntl  # POSIX: imported here so the package still imports elsewhere

        fd = open_fd(self._path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputLockedError(
                f"{self._output} is in use by another harvest that is still running "
                f"(it holds {self._path.name}); wait for it to end, or harvest elsewhere"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (closing the file releases it); safe to call more than once."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
