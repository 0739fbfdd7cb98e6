"""Fetching files into the cache with pooch, trying mirrors in order, verifying sha256.

A cached file is re-hashed before use; a file that does not match is removed, never
parsed. A file that is cached and verified is used without any network request.
Downloads go through ``pooch.retrieve`` (pooch's ``HTTPDownloader``, which streams to a
temporary file and moves it into place only when its hash matches), inside a staging
folder of this download (``.maligrad-partial-<pid>-<random>`` next to the file) that is
renamed into place and removed, so nothing half-written is ever left in the cache. A
staging folder left by a killed download is removed by the next fetch into that folder.

Example (no network: ``download=False`` only looks in the cache)::

    >>> import tempfile
    >>> from maligrad.data.download import fetch, status
    >>> from maligrad.data.registry import get_spec
    >>> root = tempfile.mkdtemp()
    >>> status(get_spec("mnist"), root)[0][1]
    'missing'
    >>> try:
    ...     fetch(get_spec("mnist"), root=root, download=False)
    ... except Exception as e:
    ...     print(type(e).__name__)
    DownloadError
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from ._checks import check_bool, check_path
from .errors import DownloadError
from .registry import ENV_DIR, ENV_URL, DatasetSpec, RemoteFile

logger = logging.getLogger("maligrad.data")

TIMEOUT_S = 30.0
"""Seconds pooch's downloader waits for a server before the next mirror is tried."""

STALE_AFTER_S = 600.0
"""A staging folder not written to for this long belongs to a dead download."""

_PARTIAL = ".maligrad-partial-"


def cache_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``root`` if given, else ``$MALIGRAD_DATA_DIR``, else pooch's OS cache.

    >>> str(cache_dir("/tmp/somewhere"))
    '/tmp/somewhere'
    """
    if root is not None:
        return Path(check_path(root, "root")).expanduser()
    env = os.environ.get(ENV_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("maligrad"))


def sha256_of(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, file: RemoteFile) -> str:
    """``"verified"``, ``"missing"`` or a reason the file at ``path`` is bad."""
    if path.is_dir():
        return "a directory, not a file"
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "not a regular file"
    size = path.stat().st_size
    if size != file.size:
        return f"bad size: {size} bytes, expected {file.size}"
    digest = sha256_of(path)
    if digest != file.sha256:
        return f"bad sha256: {digest}, expected {file.sha256}"
    return "verified"


def status(spec: DatasetSpec, root: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """Each file of ``spec`` with its state in the cache (see `check_file`)."""
    folder = cache_dir(root)
    return [(folder / f.key, check_file(folder / f.key, f)) for f in spec.files]


def _progressbar() -> bool:
    return importlib.util.find_spec("tqdm") is not None


def _reason(exc: BaseException) -> str:
    """A one-line reason for a failed download."""
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():
        return "sha256 mismatch: the download was rejected and removed"
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"HTTP {response.status_code} {getattr(response, 'reason', '') or ''}".strip()
    text = str(exc)
    if "Failed to resolve" in text or "NameResolutionError" in text:
        text = "could not resolve the host name"
    else:
        errno = re.search(r"\[Errno -?\d+\] ([^\"')]+)", text)
        if errno:
            text = errno.group(1).strip()
        elif "timed out" in text.lower():
            text = "timed out"
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 200 else text[:197] + "..."


def _remove_bad(path: Path, state: str) -> None:
    logger.warning("removing %s (%s); it will be downloaded again", path, state)
    try:
        path.unlink()
    except OSError as exc:
        raise DownloadError(
            f"{path} is not the canonical file ({state}) and cannot be removed: {exc}.\n"
            f"Replace it by hand, or use a writable cache folder ({ENV_DIR} or root=)."
        ) from None


def _writable_folder(folder: Path, file: RemoteFile) -> None:
    """Make sure a download could be stored in ``folder`` before asking any mirror."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"cannot be created: {exc}"
    else:
        if os.access(folder, os.W_OK):
            return
        reason = "is not writable"
    raise DownloadError(
        f"{file.key} is not in the cache, and the cache folder {folder} {reason}.\n"
        f"Use a writable cache folder ({ENV_DIR} or root=), or place the file by hand at "
        f"{folder / file.key} ({file.size} bytes, sha256 {file.sha256})."
    )


def fetch_file(
    file: RemoteFile,
    urls: list[str],
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> Path:
    """Return the verified path of ``file`` in the cache, downloading it if needed.

    ``urls`` are tried in order with ``pooch.retrieve``. A cached file with the wrong
    size or sha256 is removed first. Raises [`DownloadError`][maligrad.data.DownloadError]
    when the file is missing and ``download`` is false, or when every URL fails.
    """
    folder = cache_dir(root)
    path = folder / file.key
    state = check_file(path, file)
    if state == "verified":
        return path
    if state in ("a directory, not a file", "not a regular file"):
        raise DownloadError(
            f"{path} is {state.replace(', not a file', '')}, where the file {file.key} "
            f"belongs.\nMove it away (it is not removed: it may hold your files), or use "
            f"another cache folder ({ENV_DIR} or root=)."
        )
    if state != "missing":
        _remove_bad(path, state)
    if not download:
        raise DownloadError(_guidance(file, folder, [], intro="not in the cache"))
    _writable_folder(path.parent, file)

    import pooch
    import requests

    remove_stale_partials(path.parent)
    staging = path.parent / f"{_PARTIAL}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    failures: list[tuple[str, str]] = []
    try:
        for url in urls:
            downloader = pooch.HTTPDownloader(progressbar=_progressbar(), timeout=TIMEOUT_S)
            try:
                fetched = pooch.retrieve(
                    url,
                    known_hash=file.known_hash,
                    fname=path.name,
                    path=staging,
                    downloader=downloader,
                )
            except (ValueError, OSError, requests.exceptions.RequestException) as exc:
                failures.append((url, _reason(exc)))
                logger.warning("could not fetch %s: %s", url, failures[-1][1])
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(exist_ok=True)
                continue
            os.replace(fetched, path)
            return path
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    raise DownloadError(_guidance(file, folder, failures, intro="could not be downloaded"))


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: the process exists
        return True
    return True


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the staging folders of killed downloads in ``folder``; return them.

    A staging folder is stale when the process in its name is gone, or when nothing in
    it was written for `STALE_AFTER_S` seconds (a live download keeps writing, or
    times out after `TIMEOUT_S`). Another process's download in progress is kept.
    """
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(_PARTIAL) or not entry.is_dir():
            continue
        pid_text = entry.name[len(_PARTIAL) :].split("-", 1)[0]
        owner = int(pid_text) if pid_text.isdigit() else None
        try:
            newest = max([entry.stat().st_mtime] + [p.stat().st_mtime for p in entry.iterdir()])
        except OSError:  # removed meanwhile
            continue
        dead = owner is not None and owner != os.getpid() and not _pid_alive(owner)
        if dead or now - newest > STALE_AFTER_S:
            logger.info("removing %s, left by a download that was killed", entry)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _guidance(file: RemoteFile, folder: Path, failures: list[tuple[str, str]], intro: str) -> str:
    lines = [f"{file.key} {intro}."]
    if failures:
        lines.append("Mirrors tried, in order:")
        lines.extend(f"  {url}\n      -> {reason}" for url, reason in failures)
    elif intro == "not in the cache":
        lines.append("download=False, so no mirror was tried.")
    else:
        lines.append("No mirror is configured for it.")
    lines += [
        f"Cache folder: {folder}",
        "To fix it, either:",
        f"  * place the file by hand at {folder / file.key}",
        f"    ({file.size} bytes, sha256 {file.sha256}), or",
        f"  * set {ENV_URL} to a mirror laid out like the cache folder, e.g.",
        f"    {ENV_URL}=https://example.org/datasets  serving .../{file.key}",
        f"  (set {ENV_DIR} or pass root= to use another cache folder).",
    ]
    return "\n".join(lines)


def fetch(
    spec: DatasetSpec,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    filenames: list[str] | None = None,
) -> dict[str, Path]:
    """Fetch (or find) every file of ``spec``, or just ``filenames``; map base name to path."""
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"spec must be a DatasetSpec (see get_spec), got {type(spec).__name__}")
    check_bool(download, "download")
    files = spec.files if filenames is None else tuple(spec.file(n) for n in filenames)
    return {f.filename: fetch_file(f, spec.urls(f), root, download) for f in files}
