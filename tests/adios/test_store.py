import json

import pytest

from adios import store


def test_atomic_write_replaces_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "r.json"
    store.atomic_write_json(path, {"a": 1})
    store.atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.txt"
    store.atomic_write_text(path, "old")

    class Boom(Exception):
        pass

    def explode(handle):
        handle.write(b"half")
        raise Boom

    with pytest.raises(Boom):
        store._atomic(path, explode)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]
