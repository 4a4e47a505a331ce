"""Writing outputs without ever losing a user's files or leaving half-written ones behind.

Files are written under a temporary name and renamed. A command's output directory is claimed
before anything is simulated (:class:`OutputDirectory`):

* it must be new, empty, or one scenelab wrote before (recognised by the marker file
  :data:`MARKER`, which lists the files scenelab wrote there); a directory holding anything else is
  refused unless the user passes ``force`` (``--force``), and then scenelab only adds its own files
  beside the user's;
* the filesystem root, the home directory and the working directory (or any folder holding it)
  are always refused;
* writability is checked by creating (and removing) a probe file before the simulation starts;
* a lock file beside the directory lets one command at a time write it: a second one is refused at
  once instead of silently losing;
* outputs are assembled in a staging directory beside the target and then moved in: into a new
  directory by one rename, into an earlier scenelab directory file by file (each an atomic
  replace), removing only files the earlier marker lists. Staging directories left by a killed run
  are removed by the next command that claims the same directory.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from scenelab.errors import OutputError

MARKER = ".scenelab-output.json"
"""File in every directory scenelab writes, listing the files it wrote there."""

_STAGING_TAG = ".scenelab-staging"
_LEGACY_OUTPUTS = {
    "site_day.parquet",
    "neighbourhood_month.parquet",
    "city_day.parquet",
    "survey.csv",
    "summary.json",
    "report.html",
    "compare.csv",
    "outcomes.csv",
}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as Parquet via a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give normal permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_text(text: str, path: Path) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def strict_json(value: object) -> object:
    """Return ``value`` as plain JSON data: NaN and infinite floats become ``None`` (``null``).

    ``summary.json`` must be strict JSON: an undefined quantity (a share of nobody, a mean over
    no days) is written as ``null``, never as the non-standard ``NaN``. Mapping keys become
    strings, dates ISO text, NumPy scalars Python numbers, anything else its ``str``.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, dt.date):  # datetime and pandas.Timestamp too
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # NumPy scalars
        try:
            return strict_json(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def dump_json(value: object) -> str:
    """Serialise ``value`` as strict, indented JSON (NaN/inf -> null; dates as ISO text)."""
    return json.dumps(strict_json(value), indent=2, allow_nan=False) + "\n"


def read_marker(directory: Path) -> dict[str, object] | None:
    """Return the marker of a folder scenelab wrote, or ``None`` if it has none (or a bad one)."""
    try:
        data = json.loads((directory / MARKER).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("written_by") != "scenelab":
        return None
    if not isinstance(data.get("files"), list):
        return None
    return data


def _refuse_special(resolved: Path, shown: str) -> None:
    if resolved.parent == resolved:
        raise OutputError(f"{shown}: refusing to write into the filesystem root; name a new folder")
    if resolved == Path.home().resolve():
        raise OutputError(f"{shown}: refusing to write into the home directory; name a new folder")
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputError(
            f"{shown}: refusing to write into the working directory or a folder that holds it; "
            "name a new folder, e.g. out/run1"
        )


def _refuse_foreign(folder: Path, shown: str, allowed: bool, whose: str) -> None:
    """Refuse a non-empty ``folder`` unless ``allowed`` (it is ours, or the user said --force)."""
    entries = sorted(p.name for p in folder.iterdir())
    if not entries or allowed:
        return
    listed = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    raise OutputError(
        f"{shown}: holds files {whose} ({len(entries)} entries: {listed}); choose a new or empty "
        "folder, or pass --force to write beside them (nothing already there is deleted)"
    )


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _probe_writable(folder: Path, shown: str) -> None:
    """Create and remove a file in ``folder``; raise :class:`OutputError` if that fails."""
    if not folder.is_dir():
        raise OutputError(f"{shown}: {folder} is not a directory, so nothing can be written there")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".scenelab-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"{shown}: cannot write in {folder} ({exc.strerror or exc}); choose another --out"
        ) from None


class OutputDirectory:
    """A claimed output directory: checked now, locked by ``with``, filled by :meth:`staged`.

    Args:
        out: The directory to write.
        force: Write into a non-empty directory scenelab did not write (its files are kept).
        command: What writes it (recorded in the marker).

    Raises:
        OutputError: If the directory must not or cannot be written (said before any work).
    """

    def __init__(self, out: str | Path, force: bool = False, command: str = "run") -> None:
        self.shown = str(out)
        self.path = Path(out).expanduser()
        self.resolved = self.path.resolve()
        self.command = command
        self.force = force
        self._lock_fd: int | None = None
        self._lock_path = self.resolved.parent / f".{self.resolved.name}.scenelab-lock"
        _refuse_special(self.resolved, self.shown)
        if self.resolved.exists() or self.resolved.is_symlink():
            if not self.resolved.is_dir():
                raise OutputError(f"{self.shown}: exists and is not a directory; choose a folder")
            self._check_foreign()
            _probe_writable(self.resolved, self.shown)
        else:
            _probe_writable(_nearest_existing(self.resolved.parent), self.shown)

    def _check_foreign(self) -> None:
        ours = read_marker(self.resolved) is not None
        _refuse_foreign(self.resolved, self.shown, ours or self.force, "scenelab did not write")

    # -- locking -------------------------------------------------------------------------------

    def __enter__(self) -> OutputDirectory:
        self.resolved.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputError(
                        f"{self.shown}: another scenelab command is writing this folder "
                        f"(lock {self._lock_path}); wait for it to finish or choose another --out"
                    ) from None
                raise
            # The holder before us may have removed the lock file after we opened it: only a
            # lock on the file that is still at the path excludes others.
            try:
                same = os.fstat(fd).st_ino == os.stat(self._lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        self._remove_stale_staging()
        if self.resolved.is_dir():  # re-check under the lock: another command may have written it
            self._check_foreign()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            try:
                os.unlink(self._lock_path)
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None

    def _remove_stale_staging(self) -> None:
        """Remove staging folders of earlier, killed commands (we hold the lock: none is live)."""
        name = re.escape(self.resolved.name)
        current = re.compile(rf"^\.{name}\.scenelab-staging-[A-Za-z0-9_]+$")
        legacy = re.compile(rf"^\.{name}\.[A-Za-z0-9_]{{8}}$")  # from scenelab 0.1 (mkdtemp)
        for entry in self.resolved.parent.iterdir():
            if not entry.is_dir() or entry.is_symlink():
                continue
            if current.match(entry.name) and (entry / _STAGING_TAG).exists():
                shutil.rmtree(entry, ignore_errors=True)
            elif legacy.match(entry.name):
                names = {p.name for p in entry.iterdir()}
                ours = all(
                    n in _LEGACY_OUTPUTS or (n.startswith(".") and n.endswith(".tmp"))
                    for n in names
                )
                if ours and all((entry / n).is_file() for n in names):
                    shutil.rmtree(entry, ignore_errors=True)

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """Yield a staging folder; on success its files are moved into the output directory."""
        if self._lock_fd is None:
            raise RuntimeError("OutputDirectory.staged() needs the directory claimed with `with`")
        staging = Path(
            tempfile.mkdtemp(
                dir=self.resolved.parent, prefix=f".{self.resolved.name}.scenelab-staging-"
            )
        )
        (staging / _STAGING_TAG).write_text(f"{os.getpid()}\n", encoding="utf-8")
        try:
            yield staging
            self._install(staging)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _marker(self, files: list[str]) -> str:
        from scenelab.provenance import version

        return dump_json(
            {
                "written_by": "scenelab",
                "version": version(),
                "command": self.command,
                "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "files": sorted(files),
            }
        )

    def _install(self, staging: Path) -> None:
        (staging / _STAGING_TAG).unlink()
        files = sorted(p.name for p in staging.iterdir())
        if not self.resolved.exists():
            atomic_text(self._marker(files), staging / MARKER)
            os.chmod(staging, 0o777 & ~_umask())
            try:
                staging.rename(self.resolved)
                return
            except OSError as exc:
                if not self.resolved.is_dir():
                    raise OutputError(f"{self.shown}: cannot be created ({exc})") from None
                self._check_foreign()  # someone made it meanwhile: treat as an existing folder
        previous = read_marker(self.resolved)
        old = set(previous["files"]) if previous else set()  # type: ignore[arg-type]
        for name in files:
            source, target = staging / name, self.resolved / name
            if target.is_dir() and not target.is_symlink():
                if name not in old:
                    raise OutputError(
                        f"{self.shown}: {name} is a folder scenelab did not write; "
                        "move it or choose another --out"
                    )
                shutil.rmtree(target)
            os.replace(source, target)
        for name in old - set(files):
            target = self.resolved / str(name)
            if "/" in str(name) or str(name) in ("", ".", ".."):
                continue  # a marker names plain files only; ignore anything else it claims
            if target.is_file() or target.is_symlink():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
        atomic_text(self._marker(files), self.resolved / MARKER)


def check_output_file(path: str | Path, first_line: str, force: bool = False) -> Path:
    """Check that a single output file may be (over)written; return it as a :class:`Path`.

    A missing file, or one whose first line is ``first_line`` (written by scenelab), may be
    written; any other existing file only with ``force``.

    Raises:
        OutputError: If the file belongs to someone else, or its folder cannot be written.
    """
    target = Path(path).expanduser()
    if target.exists():
        if target.is_dir():
            raise OutputError(f"{path}: is a folder; give a file name")
        try:
            with target.open(encoding="utf-8", errors="replace") as fh:
                head = fh.readline().rstrip("\n")
        except OSError as exc:
            raise OutputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        if head != first_line and not force:
            raise OutputError(
                f"{path}: exists and was not written by scenelab; choose another file or pass "
                "--force to overwrite it"
            )
    _probe_writable(_nearest_existing(target.resolve().parent), str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def check_workspace(out: str | Path, own: tuple[str, ...], force: bool = False) -> Path:
    """Check a folder that a resumable command (an experiment, a calibration) fills over time.

    Such a folder is written in place (so a killed run can resume), not staged; so before any work
    it must be new, empty, one this command used before (it holds one of ``own``, e.g. its
    database), or ``force`` must be given. The working directory, home and ``/`` are refused.

    Raises:
        OutputError: If the folder must not or cannot be written.
    """
    path = Path(out).expanduser()
    resolved = path.resolve()
    _refuse_special(resolved, str(out))
    if resolved.exists():
        if not resolved.is_dir():
            raise OutputError(f"{out}: exists and is not a directory; choose a folder")
        ours = any((resolved / name).exists() for name in own)
        _refuse_foreign(resolved, str(out), ours or force, "this command did not write")
        _probe_writable(resolved, str(out))
    else:
        _probe_writable(_nearest_existing(resolved.parent), str(out))
    return path
