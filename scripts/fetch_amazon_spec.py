"""Fetch Amazon's official files the tests check against, pinned by commit and sha256.

The tests compare the feed writer, the report parser and the simulator with Amazon's own XML
schemas and SP-API models. Those files are Amazon's, so the repository does not carry them: a
fresh clone downloads them from their public sources instead. Every file is pinned to an exact
commit or git blob and to its sha256, so a moved branch, a changed mirror or a tampered
download is refused rather than quietly changing what the tests check against. Files are
cached per pin set, so a second run reads nothing from the network.

Prints the folder holding the files (the layout tests/amazon_spec.py expects) on stdout, for
`export SHIPFEED_AMAZON_SPEC="$(python scripts/fetch_amazon_spec.py)"`; exits 1 with the
reason on stderr when a file cannot be had. Standard library only: it runs before anything is
installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Amazon's XML feed schemas (release_4_1), as a public mirror fetched them from Amazon; the xsd/
# folder exists only in this commit of that repository.
XSD_REPO = "ScaleLeap/amazon-mws-api-sdk"
XSD_COMMIT = "8b3c665731998ab17288013c40e3ff1c1b836125"
# Amazon's SP-API models. Their commit was not recorded where the copies came from, so they are
# addressed by git blob id, which names the exact bytes whatever the commit.
MODELS_REPO = "amzn/selling-partner-api-models"
RAW_BLOB = "application/vnd.github.raw"
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Pinned:
    """One file: where it goes in the spec folder, where it comes from, what it must hash to."""

    path: str
    url: str
    sha256: str
    accept: str | None = None


def _at_commit(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def _blob(repo: str, blob: str) -> str:
    return f"https://api.github.com/repos/{repo}/git/blobs/{blob}"


PINNED: tuple[Pinned, ...] = (
    Pinned(
        "xsd/amzn-base.xsd",
        _at_commit(XSD_REPO, XSD_COMMIT, "xsd/amzn-base.xsd"),
        "e02537b7295048932b4fe1ac3e64c3f2149d8c66c42597f6cfb2d36eda5b8683",
    ),
    Pinned(
        "xsd/amzn-header.xsd",
        _at_commit(XSD_REPO, XSD_COMMIT, "xsd/amzn-header.xsd"),
        "2b7d24c65ffcf8d5ed8a56d8476e4a7bf61ec7e9c2134116cda4d00d88d60842",
    ),
    Pinned(
        "xsd/OrderFulfillment.xsd",
        _at_commit(XSD_REPO, XSD_COMMIT, "xsd/OrderFulfillment.xsd"),
        "5671030af583bb4cc9c23a311ced2f730202bdc5b719ae5f384c1ff174598233",
    ),
    Pinned(
        "xsd/ProcessingReport.xsd",
        _at_commit(XSD_REPO, XSD_COMMIT, "xsd/ProcessingReport.xsd"),
        "fb68f2095bcd1b3d83e204e3351f35f58f7627f71acbe116424c49aa94b2a685",
    ),
    Pinned(
        "feeds_2021-06-30.json",
        _blob(MODELS_REPO, "3340749767e2d882f00e1fdefa5e39726c377388"),
        "ab235b4a0e5ce21083b885dd4f2b8cae7a6f597d7adf2647b47b90d6f5098a16",
        accept=RAW_BLOB,
    ),
    Pinned(
        "ordersV0.json",
        _blob(MODELS_REPO, "566fc81b44eba8b28cc8dd22f4766f359e608cb3"),
        "027ac6f5c97126647c6925db9be09f78c7c741cd1d8727a5367374a1846bedc5",
        accept=RAW_BLOB,
    ),
)


class FetchError(Exception):
    """A pinned file could not be had: unreachable, or not the bytes that were pinned."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shipfeed" / "amazon-spec"


def pin_set_id(pinned: Sequence[Pinned]) -> str:
    """Names the cache folder after what is pinned, so a changed pin never reads old files."""
    text = "".join(f"{p.path} {p.sha256}\n" for p in sorted(pinned, key=lambda p: p.path))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(url: str, accept: str | None) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "shipfeed-fetch-amazon-spec"})
    if accept is not None:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return bytes(answer.read())
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"cannot download {url}: {exc}") from exc


def fetch(pinned: Sequence[Pinned], cache: Path, mirror: str | None = None) -> Path:
    """Every pinned file in one folder, downloading only those not already cached intact.

    A file is moved into place only after its sha256 matched, so the folder never holds a
    file that was not pinned; a mismatch stops everything and names the file.
    """
    folder = cache / pin_set_id(pinned)
    for pin in pinned:
        target = folder / pin.path
        if target.is_file() and _sha256(target) == pin.sha256:
            continue
        url = mirror.rstrip("/") + "/" + pin.path if mirror else pin.url
        data = _download(url, None if mirror else pin.accept)
        got = hashlib.sha256(data).hexdigest()
        if got != pin.sha256:
            raise FetchError(f"refused {pin.path} from {url}: sha256 {got}, pinned {pin.sha256}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--cache", type=Path, default=None, help="cache folder (default ~/.cache/shipfeed)"
    )
    parser.add_argument(
        "--mirror",
        default=None,
        help="fetch every file from MIRROR/<path> instead (same layout); hashes still checked",
    )
    args = parser.parse_args(argv)
    try:
        folder = fetch(PINNED, args.cache or default_cache(), args.mirror)
    except FetchError as exc:
        print(f"fetch_amazon_spec: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
