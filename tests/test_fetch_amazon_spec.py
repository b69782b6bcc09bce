"""scripts/fetch_amazon_spec.py: pinned files come over real HTTP, are hash-checked, and cached.

The real sources are not reachable from every machine that runs the tests, so a small HTTP
server on loopback plays them, serving from memory what a temp folder would hold.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from amazon_spec import NEEDED, official

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "fetch_amazon_spec.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_amazon_spec", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


fetcher = _load_script()


@dataclass
class Source:
    """A loopback HTTP server answering GET /<path> from `files`, recording every request."""

    url: str
    files: dict[str, bytes]
    requests: list[tuple[str, str | None]] = field(default_factory=list)


@pytest.fixture
def source() -> Iterator[Source]:
    served = Source("", {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            served.requests.append((path, self.headers.get("Accept")))
            body = served.files.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def pin(source: Source, path: str, content: bytes, accept: str | None = None) -> Any:
    source.files[path] = content
    digest = hashlib.sha256(content).hexdigest()
    return fetcher.Pinned(path, f"{source.url}/{path}", digest, accept)


def test_pinned_files_are_downloaded_into_one_folder(source: Source, tmp_path: Path) -> None:
    pins = [pin(source, "xsd/a.xsd", b"<a/>"), pin(source, "m.json", b"{}")]
    folder = fetcher.fetch(pins, tmp_path)
    assert (folder / "xsd" / "a.xsd").read_bytes() == b"<a/>"
    assert (folder / "m.json").read_bytes() == b"{}"


def test_a_second_fetch_reads_the_cache_not_the_network(source: Source, tmp_path: Path) -> None:
    pins = [pin(source, "xsd/a.xsd", b"<a/>")]
    first = fetcher.fetch(pins, tmp_path)
    second = fetcher.fetch(pins, tmp_path)
    assert first == second
    assert len(source.requests) == 1


def test_a_file_whose_sha256_differs_is_refused_and_not_kept(
    source: Source, tmp_path: Path
) -> None:
    good = pin(source, "xsd/a.xsd", b"<a/>")
    source.files["xsd/a.xsd"] = b"<a>tampered</a>"
    with pytest.raises(fetcher.FetchError, match=r"refused xsd/a\.xsd .*sha256"):
        fetcher.fetch([good], tmp_path)
    assert not list(tmp_path.rglob("*a.xsd*"))


def test_a_damaged_cached_file_is_downloaded_again(source: Source, tmp_path: Path) -> None:
    pins = [pin(source, "m.json", b"{}")]
    folder = fetcher.fetch(pins, tmp_path)
    (folder / "m.json").write_bytes(b"{broken")
    fetcher.fetch(pins, tmp_path)
    assert (folder / "m.json").read_bytes() == b"{}"
    assert len(source.requests) == 2


def test_a_missing_file_is_an_error_naming_its_address(source: Source, tmp_path: Path) -> None:
    gone = fetcher.Pinned("m.json", f"{source.url}/m.json", "0" * 64)
    with pytest.raises(fetcher.FetchError, match=f"cannot download {source.url}/m.json"):
        fetcher.fetch([gone], tmp_path)


def test_a_blob_address_is_asked_for_raw_bytes(source: Source, tmp_path: Path) -> None:
    fetcher.fetch([pin(source, "m.json", b"{}", accept=fetcher.RAW_BLOB)], tmp_path)
    assert source.requests == [("m.json", fetcher.RAW_BLOB)]


def test_changing_a_pin_uses_a_new_cache_folder(source: Source, tmp_path: Path) -> None:
    before = fetcher.fetch([pin(source, "m.json", b"{}")], tmp_path)
    after = fetcher.fetch([pin(source, "m.json", b"[]")], tmp_path)
    assert before != after
    assert (after / "m.json").read_bytes() == b"[]"


def test_every_file_the_tests_read_is_pinned_to_a_commit_or_blob() -> None:
    assert sorted(p.path for p in fetcher.PINNED) == sorted(NEEDED)
    for p in fetcher.PINNED:
        assert re.search(r"/[0-9a-f]{40}(/|$)", p.url), p.url
        assert re.fullmatch(r"[0-9a-f]{64}", p.sha256), p.path


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


def serve_official_files(source: Source) -> None:
    for name in NEEDED:
        source.files[name] = official(name).read_bytes()


def test_the_pins_match_amazons_files_and_the_command_prints_their_folder(
    source: Source, tmp_path: Path
) -> None:
    serve_official_files(source)
    done = run_script("--mirror", source.url, "--cache", str(tmp_path))
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    for name in NEEDED:
        assert (folder / name).read_bytes() == official(name).read_bytes()


def test_the_command_refuses_a_tampered_file_with_exit_1(source: Source, tmp_path: Path) -> None:
    serve_official_files(source)
    source.files["xsd/amzn-base.xsd"] += b"<!-- changed -->"
    done = run_script("--mirror", source.url, "--cache", str(tmp_path))
    assert done.returncode == 1
    assert "refused xsd/amzn-base.xsd" in done.stderr
    assert done.stdout == ""
