"""masks.atomic: the one atomic write behind the results store, the gallery and the SIFT codebook cache."""

import pytest

from masks.atomic import atomic_write


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.txt"
    atomic_write(path, lambda handle: handle.write(b"old"))

    class Boom(Exception):
        pass

    def explode(handle):
        handle.write(b"half")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(path, explode)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_write_creates_folders_and_replaces(tmp_path):
    path = tmp_path / "a" / "b.bin"
    atomic_write(path, lambda handle: handle.write(b"one"))
    atomic_write(path, lambda handle: handle.write(b"two"))
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["b.bin"]
