"""Fetch each dataset's raw files from their public source into `<data dir>/<name>/`, the layout the readers expect.

Hub files come through `hf_hub_download` at the revision pinned in the registry (cached in the Hugging Face cache,
resumed when interrupted, with progress bars; `HF_ENDPOINT` selects another Hub, as in the tests). Plain URLs come
through huggingface_hub's `http_get` into the same cache with the same resume and progress bar. Every file is checked
against the registry's sha256 (or git blob id) before it is put in place; a file already in place is checked and kept,
and an archive in place whose members are missing is unpacked again. A dataset pinned by `digest` (its commit and
checksums cannot be known offline) is converted once fetched and refused unless it gives the recorded examples. A
file behind a login (GMB on Kaggle) is never fetched: the exact command and where its file lands are printed instead,
and the zip that command leaves is unpacked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from llmner.converters.registry import Dataset, HubFile, ManualFile, Source, UrlFile, content_digest
from llmner.core.errors import DataError
from llmner.core.io import sha256_of


class FetchError(Exception):
    """One line: what was tried and what to do."""


@dataclass(frozen=True)
class Fetched:
    path: Path
    sha256: str
    recorded: bool  # False: the registry has no checksum for it yet (printed by --record-checksums)


def git_blob_of(path: Path) -> str:
    """The id `git ls-tree` shows for the file: sha1 of a `blob SIZE\\0` header and the bytes."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(path: Path, source: Source, where: str) -> Fetched:
    actual = sha256_of(path)
    if source.sha256 is not None and actual != source.sha256:
        raise FetchError(f"{path}: sha256 {actual} is not the pinned {source.sha256} of {where}; delete the file "
                         "and fetch again (or, if the source changed on purpose, update converters/registry.py)")
    blob = getattr(source, "git_blob", None)
    if blob is not None and (found := git_blob_of(path)) != blob:
        raise FetchError(f"{path}: git blob {found} is not the pinned {blob} of {where}; delete the file and fetch "
                         "again (or, if the source changed on purpose, update converters/registry.py)")
    return Fetched(path, actual, source.sha256 is not None)


def describe(source: Source) -> str:
    """The URL a download requests (the revision quoted as `hf_hub_url` quotes it), or the command to run."""
    if isinstance(source, HubFile):
        from huggingface_hub import hf_hub_url

        return hf_hub_url(source.repo_id, source.path, repo_type=source.repo_type, revision=source.revision,
                          endpoint=os.environ.get("HF_ENDPOINT"))
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


def zip_members(archive: Path) -> list[str]:
    try:
        with zipfile.ZipFile(archive) as members:
            return [name for name in members.namelist() if not name.endswith("/")]
    except zipfile.BadZipFile as error:
        raise FetchError(f"{archive}: expected a zip archive ({error}); delete it and fetch again") from None


def unpack(archive: Path, folder: Path) -> None:
    """Into `folder`, unless every member is already there (an archive in place whose folders are gone is redone)."""
    if all((folder / name).exists() for name in zip_members(archive)):
        return
    with zipfile.ZipFile(archive) as members:
        members.extractall(folder)


def unzip_member(archive: Path, member: str, out: Path) -> Path:
    if member not in zip_members(archive):
        raise FetchError(f"{archive}: expected a zip archive holding {member}; delete it and run the command again")
    with zipfile.ZipFile(archive) as members, members.open(member) as packed, open(out, "wb") as handle:
        shutil.copyfileobj(packed, handle)
    return out


def fetch_manual(entry: Dataset, source: ManualFile, folder: Path) -> Fetched:
    """The file a user fetched with the printed command: the zip that command leaves is unpacked and verified
    before its file is put in place."""
    target = folder / source.save_as
    arrives = folder / (source.arrives_as or source.save_as)
    if arrives.exists() and arrives != target:
        partial = unzip_member(arrives, source.save_as, target.with_name(target.name + ".partial"))
        actual = sha256_of(partial)
        if source.sha256 is not None and actual != source.sha256:
            partial.unlink()
            raise FetchError(f"{arrives}: its {source.save_as} has sha256 {actual}, not the pinned {source.sha256}; "
                             "delete it and run the command again")
        partial.replace(target)
        return Fetched(target, actual, source.sha256 is not None)
    raise FetchError(f"{entry.name}: {source.save_as} needs a Kaggle login (kaggle.com/docs/api): run "
                     f"`{source.command.format(folder=folder)}`, which puts {arrives.name} at {arrives}; then run "
                     "this again" + (f" (it unzips {source.save_as} from it)" if arrives != target else ""))


def fetch_source(entry: Dataset, source: Source, folder: Path) -> Fetched:
    target = folder / source.save_as
    where = describe(source)
    if target.exists():
        fetched = verified(target, source, where)
        if getattr(source, "unpack", False):
            unpack(target, folder)
        return fetched
    if isinstance(source, ManualFile):
        return fetch_manual(entry, source, folder)
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


def check_content(entry: Dataset, folder: Path) -> None:
    """A dataset pinned by `digest`: each split it converts to must hold the recorded examples."""
    for target, make_examples in entry.targets(folder):
        pinned = entry.digest.get(Path(target).stem)
        if pinned is None:
            continue
        try:
            found = content_digest(make_examples())
        except DataError as error:  # the one line of the reader that met it
            raise FetchError(str(error)) from None
        if found != pinned:
            source = entry.present(folder, Path(target).stem) or entry.present(folder, "all")
            raise FetchError(f"{source}: converts to {found[0]} {target} examples, digest {found[1][:12]}, not the "
                             f"pinned {pinned[0]}, digest {pinned[1][:12]} (the copy the published figures come "
                             "from): the source has moved; put that copy in place, or, if the change is wanted, "
                             "record the new digest in converters/registry.py")


def fetch_dataset(entry: Dataset, data_dir: Path) -> list[Fetched]:
    fetched = [fetch_source(entry, source, data_dir / entry.name) for source in entry.sources]
    if entry.digest:
        check_content(entry, data_dir / entry.name)
    return fetched
