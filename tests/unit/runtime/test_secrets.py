"""Keys on disk: owner-only, created once, and an older version's key moved, not replaced."""

from __future__ import annotations

from pathlib import Path

from runtime.secrets import read_or_create_key
from runtime.settings import Settings


def test_a_key_is_created_once_owner_only(tmp_path: Path):
    path = tmp_path / "secrets" / "k.key"
    key = read_or_create_key(path)
    assert len(key) == 64 and read_or_create_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["k.key"]  # no temp file left


def test_loose_permissions_are_tightened(tmp_path: Path):
    path = tmp_path / "secrets" / "k.key"
    path.parent.mkdir(mode=0o755)
    path.write_text("abc\n")
    path.chmod(0o644)
    assert read_or_create_key(path) == b"abc"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_a_legacy_key_is_moved_and_keeps_its_value(tmp_path: Path):
    legacy = tmp_path / "pseudonym.key"
    legacy.write_text("oldkey\n")
    s = Settings(home=tmp_path, pseudonym_key=None)
    assert s.resolved_pseudonym_key() == b"oldkey"
    assert not legacy.exists()
    assert (tmp_path / "secrets" / "pseudonym.key").read_text().strip() == "oldkey"
    assert s.resolved_pseudonym_key() == b"oldkey"


def test_with_two_different_keys_the_one_under_secrets_wins(tmp_path: Path):
    legacy = tmp_path / "pseudonym.key"
    legacy.write_text("old")
    current = tmp_path / "secrets" / "pseudonym.key"
    current.parent.mkdir(mode=0o700)
    current.write_text("new")
    assert read_or_create_key(current, legacy=legacy) == b"new"
    assert legacy.exists()  # not deleted: it differs, an operator decides


def test_environment_keys_win(tmp_path: Path):
    s = Settings(home=tmp_path, pseudonym_key="p", metrics_endpoint_key="m")
    assert s.resolved_pseudonym_key() == b"p" and s.resolved_metrics_endpoint_key() == b"m"
    assert not (tmp_path / "secrets").exists()
