"""The download registry over real HTTP (a `http.server` on 127.0.0.1), and its failure modes."""
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from llms_from_scratch import data
from llms_from_scratch.data import ASSETS, Asset, DownloadError, HashMismatchError, fetch, get

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data (the local mirror) is not here")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

    def do_GET(self):
        if self.path == "/truncated.txt":  # promises 1000 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    "An HTTP server on 127.0.0.1 serving a fresh folder; yields (folder, base URL)."
    root = tmp_path / "served"
    root.mkdir()
    handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    "An empty cache folder and no mirror."
    path = tmp_path / "cache"
    monkeypatch.setenv(data.CACHE_ENV, str(path))
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    return path


def _files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _asset(name, content, urls, **kw):
    return Asset(name, tuple(urls), hashlib.sha256(content).hexdigest(), len(content), **kw)


@needs_shared
def test_url_mirror_serves_registry_file(server, cache, monkeypatch):
    root, base = server
    (root / "the-verdict.txt").write_bytes((SHARED / "the-verdict.txt").read_bytes())
    monkeypatch.setenv(data.MIRROR_ENV, base)
    path = get("the-verdict.txt", progress=False)
    assert path == cache / "the-verdict.txt"
    assert data.sha256_of(path) == ASSETS["the-verdict.txt"].sha256
    assert _files(cache) == ["the-verdict.txt"]  # no temporary files left


@needs_shared
def test_folder_mirror(cache, monkeypatch):
    monkeypatch.setenv(data.MIRROR_ENV, str(SHARED))
    assert data.sha256_of(get("gpt2-vocab.bpe")) == ASSETS["gpt2-vocab.bpe"].sha256


def test_backup_url_used_when_primary_is_missing(server, cache):
    root, base = server
    content = b"the real story"
    (root / "story.txt").write_bytes(content)
    asset = _asset("story.txt", content, [f"{base}/missing.txt", f"{base}/story.txt"])
    assert fetch(asset, progress=False).read_bytes() == content


@needs_shared
def test_zip_member_is_extracted_and_verified(server, cache):
    root, base = server
    with zipfile.ZipFile(root / "sms.zip", "w") as zf:
        zf.write(SHARED / "SMSSpamCollection.tsv", "SMSSpamCollection")
        zf.writestr("readme", "SMS Spam Collection v.1")
    registry = ASSETS["SMSSpamCollection.tsv"]
    asset = Asset(registry.name, (f"{base}/sms.zip",), registry.sha256, registry.size, member=registry.member)
    path = fetch(asset, progress=False)
    assert path.name == "SMSSpamCollection.tsv"
    assert data.sha256_of(path) == registry.sha256
    assert _files(cache) == ["SMSSpamCollection.tsv"]


def test_not_a_zip_is_a_clear_error(server, cache):
    root, base = server
    (root / "page.zip").write_text("<html>Service Unavailable</html>")
    asset = Asset("x.tsv", (f"{base}/page.zip",), "0" * 64, 1, member="x")
    with pytest.raises(DownloadError, match="not a valid zip archive"):
        fetch(asset, progress=False)
    assert _files(cache) == []


def test_wrong_hash_names_file_and_both_hashes_and_leaves_nothing(server, cache):
    root, base = server
    (root / "story.txt").write_bytes(b"tampered")
    asset = Asset("story.txt", (f"{base}/story.txt",), "ab" * 32, 8)
    with pytest.raises(HashMismatchError) as err:
        fetch(asset, progress=False)
    msg = str(err.value)
    assert "story.txt" in msg and "ab" * 32 in msg and hashlib.sha256(b"tampered").hexdigest() in msg
    assert _files(cache) == []


def test_truncated_download_leaves_no_partial_file(server, cache):
    _, base = server
    asset = Asset("truncated.txt", (f"{base}/truncated.txt",), "0" * 64, 1000)
    with pytest.raises(DownloadError, match="truncated.txt"):
        fetch(asset, progress=False)
    assert _files(cache) == []


def test_failed_refetch_keeps_nothing_under_final_name(server, cache):
    "A corrupt cached file is replaced by a verified download, never by a failed one."
    root, base = server
    content = b"good bytes"
    (cache).mkdir()
    (cache / "story.txt").write_bytes(b"corrupt")
    (root / "story.txt").write_bytes(content)
    asset = _asset("story.txt", content, [f"{base}/story.txt"])
    with pytest.warns(UserWarning, match="does not match"):
        assert fetch(asset, progress=False).read_bytes() == content
    assert _files(cache) == ["story.txt"]


def test_unreachable_url_names_url_and_mirror(tmp_path, cache):
    import socket
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/story.txt"
    with pytest.raises(DownloadError) as err:
        fetch(Asset("story.txt", (url,), "0" * 64, 1), progress=False)
    assert url in str(err.value) and data.MIRROR_ENV in str(err.value)
    assert not isinstance(err.value, HashMismatchError)
    assert _files(cache) == []


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        get("verdict.txt")
    for name in ASSETS: assert name in str(err.value)


@needs_shared
def test_tiktoken_gpt2_works_offline_from_mirror(tmp_path):
    "A fresh process, empty caches, no network: tiktoken's gpt2 encoding comes from the mirror."
    env = {**os.environ, data.MIRROR_ENV: str(SHARED), data.CACHE_ENV: str(tmp_path / "cache"),
           "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"), "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    code = "from llms_from_scratch.data import gpt2_encoding; print(gpt2_encoding().encode('Hello, world'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[15496, 11, 995]"
    assert len(_files(tmp_path / "tiktoken")) == 2


def test_unpinned_asset_records_hash_on_first_download_then_verifies(server, cache):
    root, base = server
    (root / "weights.bin").write_bytes(b"first")
    asset = Asset("weights.bin", (f"{base}/weights.bin",), None, None)
    with pytest.warns(UserWarning, match="recorded"):
        path = fetch(asset, progress=False)
    assert (cache / "weights.bin.sha256").read_text().strip() == hashlib.sha256(b"first").hexdigest()
    assert fetch(asset, progress=False) == path  # verified against the record, no warning, no download
    path.write_bytes(b"tampered")
    (root / "weights.bin").write_bytes(b"changed upstream")
    with pytest.warns(UserWarning, match="does not match"):
        with pytest.raises(DownloadError):  # the record still says "first": a changed upstream file is refused
            fetch(asset, progress=False)


@needs_shared
def test_folder_mirror_holds_extracted_member_of_archive_asset(cache, monkeypatch):
    "For a zip asset the mirror holds the kept (extracted) file, not the archive."
    monkeypatch.setenv(data.MIRROR_ENV, str(SHARED))
    path = get("SMSSpamCollection.tsv", progress=False)
    assert data.sha256_of(path) == ASSETS["SMSSpamCollection.tsv"].sha256
