"""A stand-in for the Hugging Face Hub on 127.0.0.1, for the fetch tests (never the network).

    python -m tests.hub_standin ROOT PORT_FILE [SECONDS]

serves ROOT/{repo_type}s/{repo_id}/{revision}/{path} at the Hub's own URL layout
`/{repo_type}s/{repo_id}/resolve/{revision}/{path}`, the revision folder named as `hf_hub_url` quotes it
(`refs%2Fconvert%2Fparquet`): a client that sends the revision unquoted names no folder and gets 404. HEAD answers
with the headers `huggingface_hub.file_download.get_hf_file_metadata` reads: `X-Repo-Commit`, `ETag` and
`Content-Length`; GET honours `Range`, so interrupted downloads resume. Plain files under ROOT/raw/ are served as
they are (the stand-in for plain URLs). It writes its port to PORT_FILE and stops after SECONDS (default 120) at
the latest; the tests stop it by PID first.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def resolve(root: Path, url_path: str) -> tuple[Path, str] | None:
    """(file, revision) for a Hub URL or a /raw/ URL; None when it names nothing."""
    path = urlsplit(url_path).path
    if path.startswith("/raw/"):
        file = root / unquote(path.removeprefix("/"))
        return (file, "raw") if file.is_file() else None
    if "/resolve/" not in path:
        return None
    repo, _, rest = path.partition("/resolve/")
    revision, _, file_path = rest.partition("/")  # kept quoted: `refs/convert/parquet` unquoted is refused
    file = root / repo.strip("/") / revision / unquote(file_path)
    return (file, unquote(revision)) if file.is_file() else None


class Handler(BaseHTTPRequestHandler):
    root: Path

    def log_message(self, *args):  # quiet: pytest shows the test's own output
        pass

    def headers_for(self, file: Path, revision: str, length: int) -> None:
        self.send_header("X-Repo-Commit", hashlib.sha1(revision.encode()).hexdigest())
        self.send_header("ETag", f'"{hashlib.sha256(file.read_bytes()).hexdigest()}"')
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def found(self):
        found = resolve(self.root, self.path)
        if found is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
        return found

    def do_HEAD(self):
        if found := self.found():
            self.send_response(200)
            self.headers_for(found[0], found[1], found[0].stat().st_size)

    def do_GET(self):
        if not (found := self.found()):
            return
        data = found[0].read_bytes()
        start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.headers_for(found[0], found[1], len(data) - start)
        self.wfile.write(data[start:])


def main(root: str, port_file: str, seconds: float = 120) -> None:
    Handler.root = Path(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Path(port_file).write_text(str(server.server_address[1]))
    threading.Event().wait(seconds)  # bounded: never outlives a forgotten test
    server.shutdown()


@contextlib.contextmanager
def running(root: Path, port_file: Path, seconds: float):
    """The stand-in serving `root` in its own process; yields its endpoint, stops it by PID."""
    process = subprocess.Popen([sys.executable, "-m", "tests.hub_standin", str(root), str(port_file), str(seconds)],
                               cwd=Path(__file__).resolve().parent.parent)
    try:
        for _ in range(100):  # bounded wait for the port
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 120)
