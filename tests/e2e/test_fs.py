"""`fs/*` against the real server process, on real files in a temp dir (codex 0.169's behaviour,
observed on the binary). Every answer and notification is checked against the upstream schema
by the client."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.conftest import Servers
from tests.support.client import RpcClient


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory of its own (the server's data dir and HOME are siblings of it)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


async def client_for(servers: Servers) -> RpcClient:
    client = await servers.stdio()
    await client.initialize()
    return client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_read_file_answers_the_content_as_base64(servers: Servers, work: Path) -> None:
    (work / "a.txt").write_bytes(b"hello\x00\xff")
    client = await client_for(servers)
    result = await client.call("fs/readFile", {"path": str(work / "a.txt")})
    assert base64.b64decode(result["dataBase64"]) == b"hello\x00\xff"


async def test_read_file_of_a_large_file_round_trips(servers: Servers, work: Path) -> None:
    data = os.urandom(7 * 1024 * 1024 + 5)  # more than two read chunks, not a multiple of 3
    (work / "big.bin").write_bytes(data)
    client = await client_for(servers)
    result = await client.call("fs/readFile", {"path": str(work / "big.bin")}, timeout=60)
    assert base64.b64decode(result["dataBase64"]) == data


async def test_a_relative_path_is_refused_naming_the_field(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    reply = await client.request("fs/writeFile", {"path": "rel/a.txt", "dataBase64": b64(b"x")})
    assert reply.code == -32602
    assert "`path`" in reply.message
    assert "absolute" in reply.message
    assert not Path("rel/a.txt").exists()


async def test_a_missing_file_is_refused_naming_the_path_and_reason(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    missing = work / "missing.txt"
    reply = await client.request("fs/readFile", {"path": str(missing)})
    assert reply.code == -32600
    assert reply.message == f"`{missing}`: No such file or directory (os error 2)"


async def test_reading_a_directory_is_refused(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    reply = await client.request("fs/readFile", {"path": str(work)})
    assert (reply.code, reply.message) == (-32600, f"path `{work}` is not a file")


async def test_write_file_replaces_the_content_and_keeps_the_mode(
    servers: Servers, work: Path
) -> None:
    target = work / "a.sh"
    target.write_bytes(b"old")
    target.chmod(0o750)
    client = await client_for(servers)
    await client.call("fs/writeFile", {"path": str(target), "dataBase64": b64(b"new content")})
    assert target.read_bytes() == b"new content"
    assert target.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in work.iterdir()) == ["a.sh"]  # no temp file left


async def test_invalid_base64_changes_nothing(servers: Servers, work: Path) -> None:
    target = work / "a.txt"
    target.write_bytes(b"old")
    client = await client_for(servers)
    reply = await client.request("fs/writeFile", {"path": str(target), "dataBase64": "!!no"})
    assert reply.code == -32600
    assert reply.message.startswith("fs/writeFile requires valid base64 dataBase64")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in work.iterdir()) == ["a.txt"]


async def test_writing_onto_a_directory_is_refused(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    reply = await client.request("fs/writeFile", {"path": str(work), "dataBase64": b64(b"x")})
    assert (reply.code, reply.message) == (-32600, f"`{work}`: Is a directory (os error 21)")
    assert list(work.iterdir()) == []


async def test_create_directory_makes_parents_unless_not_recursive(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    await client.call("fs/createDirectory", {"path": str(work / "a" / "b")})
    await client.call("fs/createDirectory", {"path": str(work / "a" / "b")})  # exists: fine
    assert (work / "a" / "b").is_dir()
    reply = await client.request(
        "fs/createDirectory", {"path": str(work / "c" / "d"), "recursive": False}
    )
    assert reply.code == -32600
    assert "No such file or directory" in reply.message
    assert not (work / "c").exists()


async def test_get_metadata_follows_symlinks_and_says_it_is_one(
    servers: Servers, work: Path
) -> None:
    (work / "a.txt").write_text("x")
    (work / "link").symlink_to("a.txt")
    client = await client_for(servers)
    meta = await client.call("fs/getMetadata", {"path": str(work / "link")})
    assert (meta["isFile"], meta["isDirectory"], meta["isSymlink"]) == (True, False, True)
    assert meta["modifiedAtMs"] == (work / "a.txt").stat().st_mtime_ns // 1_000_000
    folder = await client.call("fs/getMetadata", {"path": str(work)})
    assert (folder["isFile"], folder["isDirectory"], folder["isSymlink"]) == (False, True, False)


async def test_read_directory_lists_child_names_and_kinds(servers: Servers, work: Path) -> None:
    (work / "a.txt").write_text("x")
    (work / "sub").mkdir()
    client = await client_for(servers)
    result = await client.call("fs/readDirectory", {"path": str(work)})
    entries = sorted((e["fileName"], e["isDirectory"], e["isFile"]) for e in result["entries"])
    assert entries == [("a.txt", False, True), ("sub", True, False)]
    reply = await client.request("fs/readDirectory", {"path": str(work / "a.txt")})
    assert reply.code == -32600
    assert "Not a directory (os error 20)" in reply.message


async def test_remove_deletes_trees_and_ignores_missing_paths_unless_not_forced(
    servers: Servers, work: Path
) -> None:
    (work / "d" / "e").mkdir(parents=True)
    (work / "d" / "e" / "f.txt").write_text("x")
    client = await client_for(servers)
    reply = await client.request("fs/remove", {"path": str(work / "d"), "recursive": False})
    assert reply.code == -32600
    assert "Directory not empty" in reply.message
    assert (work / "d" / "e" / "f.txt").exists()
    await client.call("fs/remove", {"path": str(work / "d")})
    assert not (work / "d").exists()
    await client.call("fs/remove", {"path": str(work / "d")})
    reply = await client.request("fs/remove", {"path": str(work / "d"), "force": False})
    assert reply.code == -32600
    assert "No such file or directory" in reply.message


async def test_copy_copies_files_and_trees_with_symlinks_kept(servers: Servers, work: Path) -> None:
    src = work / "src"
    (src / "in").mkdir(parents=True)
    (src / "in" / "a.txt").write_text("a")
    (src / "link").symlink_to("in/a.txt")
    client = await client_for(servers)
    reply = await client.request(
        "fs/copy", {"sourcePath": str(src), "destinationPath": str(work / "dst")}
    )
    assert (reply.code, reply.message) == (
        -32600,
        "fs/copy requires recursive: true when sourcePath is a directory",
    )
    assert not (work / "dst").exists()
    await client.call(
        "fs/copy",
        {"sourcePath": str(src), "destinationPath": str(work / "dst"), "recursive": True},
    )
    assert (work / "dst" / "in" / "a.txt").read_text() == "a"
    assert os.readlink(work / "dst" / "link") == "in/a.txt"
    await client.call(
        "fs/copy",
        {"sourcePath": str(src / "in" / "a.txt"), "destinationPath": str(work / "b.txt")},
    )
    assert (work / "b.txt").read_text() == "a"


async def test_copying_a_directory_into_itself_is_refused(servers: Servers, work: Path) -> None:
    (work / "src").mkdir()
    client = await client_for(servers)
    reply = await client.request(
        "fs/copy",
        {
            "sourcePath": str(work / "src"),
            "destinationPath": str(work / "src" / "inner"),
            "recursive": True,
        },
    )
    assert reply.message == "fs/copy cannot copy a directory to itself or one of its descendants"
    assert list((work / "src").iterdir()) == []


async def test_watch_reports_changes_below_the_path(servers: Servers, work: Path) -> None:
    (work / "sub").mkdir()
    client = await client_for(servers)
    result = await client.call(
        "fs/watch", {"path": str(work / "sub" / ".." / "sub"), "watchId": "w1"}
    )
    assert result == {"path": str((work / "sub").resolve())}
    (work / "sub" / "f.txt").write_text("x")
    changed = await client.wait_notification("fs/changed")
    assert changed["params"]["watchId"] == "w1"
    assert str((work / "sub" / "f.txt").resolve()) in changed["params"]["changedPaths"]


async def test_watch_of_a_path_not_yet_created_reports_its_creation(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    target = work / "later.txt"
    await client.call("fs/watch", {"path": str(target), "watchId": "w"})
    (work / "other.txt").write_text("ignored")
    target.write_text("x")
    changed = await client.wait_notification("fs/changed")
    assert changed["params"]["changedPaths"] == [str(target.resolve())]


async def test_a_second_watch_with_the_same_id_is_refused(servers: Servers, work: Path) -> None:
    client = await client_for(servers)
    await client.call("fs/watch", {"path": str(work), "watchId": "w1"})
    reply = await client.request("fs/watch", {"path": str(work), "watchId": "w1"})
    assert (reply.code, reply.message) == (-32600, "watchId already exists: w1")


async def test_unwatch_stops_notifications_and_accepts_unknown_ids(
    servers: Servers, work: Path
) -> None:
    client = await client_for(servers)
    await client.call("fs/watch", {"path": str(work), "watchId": "w1"})
    await client.call("fs/unwatch", {"watchId": "w1"})
    await client.call("fs/unwatch", {"watchId": "w1"})
    (work / "f.txt").write_text("x")
    await client.call("fs/watch", {"path": str(work / "f.txt"), "watchId": "w2"})
    (work / "f.txt").write_text("y")
    await client.wait_notification("fs/changed")
    assert {m["params"]["watchId"] for m in client.notifications_named("fs/changed")} == {"w2"}


async def test_a_watched_write_file_reports_the_file_only_not_its_temporary(
    servers: Servers, work: Path
) -> None:
    """Codex writes in place and reports the file; our atomic write's temporary file beside it
    is ours to hide."""
    client = await client_for(servers)
    await client.call("fs/watch", {"path": str(work), "watchId": "w"})
    await client.call("fs/writeFile", {"path": str(work / "c.txt"), "dataBase64": b64(b"hi")})
    changed = await client.wait_notification("fs/changed")
    assert changed["params"]["changedPaths"] == [str((work / "c.txt").resolve())]
