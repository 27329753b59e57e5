"""Fetch each dataset's raw files from their public source into `<data dir>/<name>/`, the layout the readers expect.

Hub files come through `hf_hub_download` at the revision pinned in the registry (cached in the Hugging Face cache,
resumed when interrupted, with progress bars; `HF_ENDPOINT` selects another Hub, as in the tests). Plain URLs come
through huggingface_hub's `http_get` into the same cache with the same resume and progress bar. Every file is checked
against the registry's sha256 before it is put in place; a file already in place is checked and kept. A file behind a
login (GMB on Kaggle) is never fetched: the exact command and the place to put the file are printed instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from converters.registry import Dataset, HubFile, ManualFile, Source, UrlFile


class FetchError(Exception):
    """One line: what was tried and what to do."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    sha256: str
    recorded: bool  # False: the registry has no checksum for it yet (printed by --record-checksums)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path, source: Source, where: str) -> Fetched:
    actual = sha256_of(path)
    if source.sha256 is not None and actual != source.sha256:
        raise FetchError(f"{path}: sha256 {actual} is not the pinned {source.sha256} of {where}; delete the file "
                         "and fetch again (or, if the source changed on purpose, update converters/registry.py)")
    return Fetched(path, actual, source.sha256 is not None)


def describe(source: Source) -> str:
    if isinstance(source, HubFile):
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
        return f"{endpoint}/{source.repo_type}s/{source.repo_id}/resolve/{source.revision}/{source.path}"
    return source.url if isinstance(source, UrlFile) else source.command


def download_hub(source: HubFile) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(source.repo_id, source.path, repo_type=source.repo_type, revision=source.revision,
                                endpoint=os.environ.get("HF_ENDPOINT")))


def download_url(source: UrlFile) -> Path:
    """Into the Hugging Face cache, under the URL's hash; an `.incomplete` file is resumed where it stopped."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import http_get

    cached = Path(constants.HF_HUB_CACHE) / "urls" / hashlib.sha256(source.url.encode()).hexdigest() / source.save_as
    if cached.exists():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    incomplete = cached.with_name(cached.name + ".incomplete")
    with open(incomplete, "ab") as handle:
        http_get(source.url, handle, resume_size=handle.tell(), displayed_filename=source.save_as)
    incomplete.replace(cached)
    return cached


def place(downloaded: Path, target: Path) -> None:
    """Copy through a partial file, so an interrupted copy never looks like a fetched file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(downloaded, partial)
    partial.replace(target)


def unpack(archive: Path, folder: Path) -> None:
    with zipfile.ZipFile(archive) as members:
        members.extractall(folder)


def fetch_source(entry: Dataset, source: Source, folder: Path) -> Fetched:
    target = folder / source.save_as
    where = describe(source)
    if target.exists():
        return verified(target, source, where)
    if isinstance(source, ManualFile):
        raise FetchError(f"{entry.name}: {source.save_as} needs a Kaggle login (kaggle.com/docs/api): run "
                         f"`{source.command.format(folder=folder)}`, which puts it at {target}; then run this again")
    try:
        downloaded = download_hub(source) if isinstance(source, HubFile) else download_url(source)
    except Exception as error:  # offline, HTTP error, DNS: all end in the same one line
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise FetchError(f"{entry.name}: could not download {where} ({reason}); check the connection (or "
                         f"HF_ENDPOINT), or put the file at {target} by hand and run this again") from None
    fetched = verified(downloaded, source, where)
    place(downloaded, target)
    if getattr(source, "unpack", False):
        unpack(target, folder)
    return Fetched(target, fetched.sha256, fetched.recorded)


def fetch_dataset(entry: Dataset, data_dir: Path) -> list[Fetched]:
    return [fetch_source(entry, source, data_dir / entry.name) for source in entry.sources]
