"""Where data files come from: a local folder, else a verified download into a cache.

A data file is described by a `RemoteFile`: its path relative to a data root (``ptb/ptb.train.txt``),
its public URL (optionally a zip archive and the member inside it), its SHA-256 and size.
`fetch(file, data_dir)` returns a local path, looking in this order:

1. the local folder: the ``data_dir`` argument, else the folder named by the environment variable
   ``QHYBRID_DATA`` (`DATA_ENV`), laid out like the project's ``shared/data`` (``ptb/ptb.train.txt``,
   ``mc/mc_train_data.txt``, ...). A file found there whose hash does not match is REFUSED with a
   `DataError` naming the file and both hashes (it is never modified: that folder may be read-only).
2. the cache, ``~/.cache/qhybrid`` (override with ``QHYBRID_CACHE``), same layout. A cached file whose
   hash does not match is deleted and downloaded again.
3. a download into the cache: the bytes go to a temporary file in the destination folder, are
   verified, and only then renamed (`os.replace`, atomic) to the final name, so a partial or corrupt
   download is never used and never left under the final name.

Offline with no local copy, `fetch` raises a `DataError` naming the file, the URL and the variable
to set. Files whose hash we cannot know (we never had a copy: the Amazon and IMDb parts of the UCI
set) carry ``sha256=None`` and are only checked to be non-empty ("unverified").

Hashes of files are computed once per process (cached by path, mtime and size), since PTB is 5 MB.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "QHYBRID_DATA"
CACHE_ENV = "QHYBRID_CACHE"
DOWNLOAD_TIMEOUT_S = 60
_CHUNK = 1 << 20


class DataError(ValueError):
    """A data set cannot be found, downloaded, verified or parsed."""


@dataclass(frozen=True)
class RemoteFile:
    """One data file: where it lives under a data root, where to download it, how to verify it."""
    relpath: str               # path under a data root / the cache, e.g. "ptb/ptb.train.txt"
    url: str                   # the file itself, or a zip archive holding it (see member)
    sha256: str | None         # None: unknown (we never had a copy); only non-emptiness is checked
    size: int | None = None    # bytes, when known (checked before hashing, for a faster refusal)
    member: str | None = None  # name of the file inside the zip at `url`

    @property
    def verified(self) -> bool:
        return self.sha256 is not None


# --- hashing -------------------------------------------------------------------------------------

_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file, computed once per process per (path, mtime, size)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    digest = _HASH_CACHE.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        digest = _HASH_CACHE[key] = h.hexdigest()
    return digest


def _problem(path: Path, spec: RemoteFile) -> str | None:
    """Why `path` is not a good copy of `spec` (None if it is)."""
    size = path.stat().st_size
    if size == 0:
        return "the file is empty"
    if spec.sha256 is None:
        return None
    actual = sha256_file(path)
    if actual != spec.sha256:
        return f"checksum mismatch: expected sha256 {spec.sha256}, got {actual} ({size:,} bytes" + (
            f", expected {spec.size:,})" if spec.size is not None else ")")
    return None


# --- locations -----------------------------------------------------------------------------------

def local_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The local data folder: `data_dir`, else $QHYBRID_DATA, else None."""
    root = data_dir if data_dir is not None else os.environ.get(DATA_ENV) or None
    return Path(root).expanduser() if root is not None else None


def cache_root() -> Path:
    """The download cache: $QHYBRID_CACHE, else ~/.cache/qhybrid."""
    root = os.environ.get(CACHE_ENV) or None
    return Path(root).expanduser() if root else Path.home() / ".cache" / "qhybrid"


def fetch(spec: RemoteFile, data_dir: str | os.PathLike | None = None) -> Path:
    """A verified local path for `spec` (local folder, else cache, else download into the cache)."""
    root = local_root(data_dir)
    if root is not None:
        path = root / spec.relpath
        if path.is_file():
            why = _problem(path, spec)
            if why is not None:
                raise DataError(
                    f"refusing local data file {path}: {why}. It is corrupt or a different version of "
                    f"{spec.relpath}; replace it with the file from {spec.url}, or point {DATA_ENV} / data_dir "
                    "elsewhere (without a local copy the file is downloaded and verified)")
            return path

    path = cache_root() / spec.relpath
    if path.is_file():
        why = _problem(path, spec)
        if why is None:
            return path
        print(f"qhybrid: cached {path} is unusable ({why}); deleting it and downloading again", file=sys.stderr)
        path.unlink()
    _download(spec, path, looked_in=root)
    return path


# --- downloading ---------------------------------------------------------------------------------

_NETWORK_ERRORS = (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException)


def _stream(url: str, out) -> int:
    """Copy `url` into the open binary file `out`; the number of bytes (checked against Content-Length)."""
    n = 0
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        headers = getattr(response, "headers", None)
        expected = headers.get("Content-Length") if headers is not None else None
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)
            n += len(chunk)
    if expected is not None and str(expected).isdigit() and int(expected) != n:
        raise DataError(f"incomplete download of {url}: got {n:,} of {int(expected):,} bytes")
    return n


def _member_bytes(archive: Path, spec: RemoteFile) -> bytes:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise DataError(f"downloaded {spec.url} is not a valid zip archive ({e})") from None
    with zf:
        names = zf.namelist()
        if spec.member in names:
            return zf.read(spec.member)
        base = Path(spec.member).name  # tolerate a different top folder; skip macOS resource forks
        matches = [n for n in names if Path(n).name == base and "__MACOSX" not in n]
        if len(matches) != 1:
            raise DataError(f"archive {spec.url} has no member {spec.member!r} (members: {names})")
        return zf.read(matches[0])


def _download(spec: RemoteFile, dest: Path, looked_in: Path | None) -> None:
    """Download `spec` to a temporary file next to `dest`, verify it, then rename it to `dest`."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as e:
        raise DataError(f"cannot write to the data cache {dest.parent} ({e}); set {CACHE_ENV} to a writable "
                        f"folder, or {DATA_ENV} to a folder holding {spec.relpath}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                _stream(spec.url, out)
            except _NETWORK_ERRORS as e:
                where = (f"{looked_in / spec.relpath} (data_dir / ${DATA_ENV})" if looked_in is not None
                         else f"no local folder (${DATA_ENV} unset)")
                raise DataError(
                    f"data file {spec.relpath} is not available locally and downloading it failed.\n"
                    f"  looked in: {where}; the cache {dest}\n"
                    f"  download URL: {spec.url} ({type(e).__name__}: {e})\n"
                    f"  fix: set {DATA_ENV}=/path/to/data (a folder holding {spec.relpath}), pass data_dir=..., "
                    f"or put the file at {dest}") from None
        if spec.member is not None:
            tmp.write_bytes(_member_bytes(tmp, spec))
        size = tmp.stat().st_size
        if size == 0:
            raise DataError(f"downloaded {spec.relpath} from {spec.url} is empty")
        if spec.sha256 is not None:
            actual = sha256_file(tmp)
            if actual != spec.sha256:
                raise DataError(
                    f"downloaded {spec.relpath} from {spec.url} failed verification: expected sha256 "
                    f"{spec.sha256}, got {actual} ({size:,} bytes). Nothing was saved; try again later, or "
                    f"set {DATA_ENV} to a folder with a good copy")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after a successful os.replace
    note = "" if spec.verified else " (unverified: no known checksum)"
    print(f"qhybrid: downloaded {spec.url} -> {dest}{note}", file=sys.stderr)


_CONTROL = bytes(sorted(set(range(32)) - {9, 10, 11, 12, 13} | {127}))   # control bytes that text never holds


def binary_reason(data: bytes) -> str | None:
    """Why `data` looks like binary data rather than text (NUL bytes, control bytes), or None."""
    if b"\x00" in data:
        return "it contains NUL bytes"
    sample = data[: 1 << 16]
    n = len(sample) - len(sample.translate(None, _CONTROL))
    if n > max(2, len(sample) // 100):
        return f"{n / len(sample):.0%} of its first {len(sample):,} bytes are control characters"
    return None


def read_user_text(path: str | os.PathLike, what: str = "a data file") -> str:
    """`read_text` for a file the user names: refused (DataError) when it holds binary data, not text."""
    data = Path(path).read_bytes()
    why = binary_reason(data)
    if why is not None:
        raise DataError(f"{path} looks binary ({why}), not text; {what} is UTF-8 (or Latin-1) text: one sentence "
                        f"per line for task=lm, 'sentence<TAB>label' per line for task=classification")
    return _decode(data)


def read_text(path: str | os.PathLike) -> str:
    """A file's text: UTF-8, else Latin-1 (never fails on odd bytes)."""
    return _decode(Path(path).read_bytes())


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
