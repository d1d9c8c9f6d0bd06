from __future__ import annotations

import stat

import pytest

from cimprovider.http.auth import UsersFile, hash_password, verify_password


def test_hash_is_salted_and_verifies():
    a, b = hash_password("secret", n=2**10), hash_password("secret", n=2**10)
    assert a != b
    assert verify_password("secret", a) and not verify_password("Secret", a)
    assert not verify_password("secret", "garbage")


def test_users_file_round_trip_and_mode(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.add("alice", "pw", "admin")
    users.add("bob", "pw2", "reader")
    loaded = users.load()
    assert {u.name: u.role for u in loaded.values()} == {"alice": "admin", "bob": "reader"}
    assert "pw" not in (tmp_path / "users.json").read_text()
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600
    users.remove("bob")
    assert set(users.load()) == {"alice"}
    with pytest.raises(KeyError):
        users.remove("bob")


def test_bad_role_and_bad_name_are_refused(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    with pytest.raises(ValueError):
        users.add("carol", "pw", "root")
    with pytest.raises(ValueError):
        users.add("a:b", "pw", "admin")


def test_corrupt_users_file_is_reported(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid"):
        UsersFile(path).load()
