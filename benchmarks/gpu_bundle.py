"""Gather the wheel bundle that `make bench-gpu` installs on the GPU machine, and check that it fits one call there.

    llmner bench bundle                 # download into .whl/ (git-ignored), slim, check the size
    llmner bench bundle --check-only    # check an existing .whl/ against benchmarks/gpu_wheels.txt

The GPU machine has no network and carries at most 64 MiB per call, repository included. Its own stack (torch,
transformers, accelerate, peft, ...) stays: the bundle holds only what Axolotl needs beyond it, for CPython 3.12 on
manylinux x86_64, one wheel per pin of benchmarks/gpu_wheels.txt. There it is installed exactly as
`INSTALL_COMMAND` says (also what the bundle test does here, into a fresh Python 3.12 environment).
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import click

from llmner.core import options
from llmner.core.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
LISTING = Path(__file__).with_name("gpu_wheels.txt")
DEST = ROOT / ".whl"
LIMIT_MIB = 64  # what one call to the GPU machine carries: working tree and wheels together
STAMP = "BUNDLE"  # written into the bundle folder: the listing's digest, so a complete bundle is not fetched again
PLATFORM_ARGS = ["--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:",
                 *[arg for tag in ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
                                   "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")
                   for arg in ("--platform", tag)]]
# The same line runs on the GPU machine (benchmarks/bench_gpu.sh) and in the bundle test here.
INSTALL_COMMAND = ["-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--no-cache-dir",
                   "--upgrade", "--target"]


@dataclass
class Pin:
    name: str
    version: str
    sdist: bool = False
    drop: list[str] = field(default_factory=list)

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"


def read_listing(path: Path = LISTING) -> list[Pin]:
    pins = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        name, version = words[0].split("==")
        options = dict(word.split("=", 1) for word in words[1:])
        pins.append(Pin(name, version, options.get("source") == "sdist",
                        [glob for glob in options.get("drop", "").split(",") if glob]))
    return pins


def listing_digest(path: Path = LISTING) -> str:
    """Names the bundle's contents: caches (here and in the tests) are keyed by it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def wheel_of(folder: Path, pin: Pin) -> list[Path]:
    from packaging.utils import parse_wheel_filename

    return [path for path in folder.glob("*.whl")
            if normalise(str(parse_wheel_filename(path.name)[0])) == normalise(pin.name)]


def pip(*args: str) -> None:
    # The wheels are for the GPU machine's Python, not this one's: no resolution, no dependencies, binaries only.
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"pip {' '.join(args[:3])} …: {result.stderr.strip()[-2000:]}")


def fetch(pins: list[Pin], folder: Path) -> None:
    binaries = [pin.spec for pin in pins if not pin.sdist]
    pip("download", "-q", "--no-deps", *PLATFORM_ARGS, "-d", str(folder), *binaries)
    built = [pin.spec for pin in pins if pin.sdist]
    if built:  # pure-Python projects with no wheel on PyPI: the wheel built here serves any platform
        pip("wheel", "-q", "--no-deps", "-w", str(folder), *built)


def slim(wheel: Path, drop: list[str]) -> int:
    """Rewrite `wheel` without the members matching `drop` (and their RECORD lines); returns bytes saved."""
    before = wheel.stat().st_size
    dropped = lambda name: any(fnmatch.fnmatch(name, glob) for glob in drop)  # noqa: E731
    with tempfile.NamedTemporaryFile(dir=wheel.parent, suffix=".tmp", delete=False) as handle:
        slimmed = Path(handle.name)
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if dropped(info.filename):
                continue
            data = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                data = "".join(line for line in data.decode().splitlines(keepends=True)
                               if not dropped(line.split(",", 1)[0])).encode()
            target.writestr(info, data)
    slimmed.replace(wheel)
    return before - wheel.stat().st_size


def tree_bytes(root: Path = ROOT) -> int:
    """The working tree that travels with the wheels: git's tracked and untracked-but-not-ignored files."""
    result = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, check=True)
    return sum((root / name).stat().st_size for name in result.stdout.decode().split("\0")
               if name and (root / name).is_file())


def check(folder: Path, pins: list[Pin], extra_bytes: int = 0) -> list[tuple[str, int]]:
    """One wheel of the pinned version per pin, nothing else, and the whole under LIMIT_MIB; (wheel, bytes) rows."""
    from packaging.utils import parse_wheel_filename

    rows, problems = [], []
    for pin in pins:
        wheels = wheel_of(folder, pin)
        versions = [str(parse_wheel_filename(w.name)[1]) for w in wheels]
        if versions != [pin.version]:
            problems.append(f"{pin.name}: expected one wheel of {pin.version}, found {versions or 'none'}")
        rows += [(w.name, w.stat().st_size) for w in wheels]
    strays = sorted({w.name for w in folder.glob("*.whl")} - {name for name, _ in rows})
    problems += [f"not in {LISTING.name}: {name}" for name in strays]
    total = sum(size for _, size in rows) + extra_bytes
    if total > LIMIT_MIB * 2**20:
        problems.append(f"bundle and tree are {total / 2**20:.1f} MiB, over the {LIMIT_MIB} MiB of one call")
    if problems:
        raise DataError(folder, None, f"expected one wheel per pin of {LISTING.name}, nothing else, and under "
                                      f"{LIMIT_MIB} MiB with the tree ({'; '.join(problems)})")
    return rows


def build(dest: Path = DEST, listing: Path = LISTING) -> list[tuple[str, int]]:
    """Fetch (unless `dest` already holds this listing's bundle), slim and check; returns the (wheel, bytes) rows."""
    pins = read_listing(listing)
    digest = listing_digest(listing)
    if (dest / STAMP).exists() and (dest / STAMP).read_text().strip() == digest:
        return check(dest, pins)
    staging = Path(tempfile.mkdtemp(prefix="bundle-", dir=dest.parent))
    try:
        fetch(pins, staging)
        for pin in pins:
            for wheel in wheel_of(staging, pin) if pin.drop else []:
                slim(wheel, pin.drop)
        rows = check(staging, pins)
        (staging / STAMP).write_text(digest + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return rows


@click.command()
@options.out_dir("The bundle folder (git-ignored; bench_gpu.sh installs .whl/).", default=".whl")
@click.option("--check-only", is_flag=True, help="Check an existing bundle; download nothing.")
def main(out_dir: str, check_only: bool):
    """Download the wheels the GPU machine installs (benchmarks/gpu_wheels.txt) into --out-dir, or check them, and
    say whether they and the working tree fit one call there."""
    dest = Path(out_dir).resolve()
    rows = check(dest, read_listing()) if check_only else build(dest)
    tree = tree_bytes()
    for name, size in sorted(rows, key=lambda row: -row[1]):
        click.echo(f"{size / 2**20:8.2f} MiB  {name}")
    wheels = sum(size for _, size in rows)
    click.echo(f"{wheels / 2**20:8.2f} MiB  {len(rows)} wheels in {dest}")
    click.echo(f"{tree / 2**20:8.2f} MiB  working tree")
    click.echo(f"{(wheels + tree) / 2**20:8.2f} MiB  of the {LIMIT_MIB} MiB one call to the GPU machine carries")
    check(dest, read_listing(), extra_bytes=tree)

