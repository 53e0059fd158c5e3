"""Session cookies are sealed (never the token in clear) and expire; CSRF tokens bind to a seed."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from cryptography.fernet import Fernet

from circlet.web.sessions import KEY_FILE, SessionCodec, new_csrf_seed, session_key

TOKEN = "CCIPAT_0123456789abcdef"


def codec() -> SessionCodec:
    return SessionCodec(b"k" * 32)


def test_a_sealed_session_opens_to_the_token_and_hides_it() -> None:
    cookie = codec().seal(TOKEN)
    assert TOKEN not in cookie
    assert codec().open(cookie) == TOKEN


def test_forged_damaged_or_foreign_cookies_do_not_open() -> None:
    cookie = codec().seal(TOKEN)
    assert codec().open(cookie[:-4] + "AAAA") is None
    assert codec().open("not a cookie") is None
    assert codec().open(None) is None
    assert SessionCodec(b"x" * 32).open(cookie) is None
    other = Fernet(Fernet.generate_key()).encrypt(b'{"t": "CCIPAT_x"}').decode()
    assert codec().open(other) is None


def test_old_sessions_expire() -> None:
    cookie = codec().seal(TOKEN)
    time.sleep(1.1)
    assert codec().open(cookie, max_age_s=60) == TOKEN
    assert codec().open(cookie, max_age_s=0) is None


def test_csrf_token_matches_only_its_seed_and_key() -> None:
    seed = new_csrf_seed()
    token = codec().csrf_token(seed)
    assert codec().check_csrf(seed, token)
    assert not codec().check_csrf(new_csrf_seed(), token)
    assert not SessionCodec(b"x" * 32).check_csrf(seed, token)
    assert not codec().check_csrf(seed, None)
    assert not codec().check_csrf(None, token)
    assert not codec().check_csrf(seed, "")


def test_key_file_is_private_and_reused(tmp_path: Path) -> None:
    first = session_key(tmp_path)
    assert len(first) == 32
    mode = stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert session_key(tmp_path) == first


def test_configured_secret_wins_over_the_key_file(tmp_path: Path) -> None:
    derived = session_key(tmp_path, "s3cret")
    assert derived == session_key(tmp_path / "elsewhere", "s3cret")
    assert derived != session_key(tmp_path, "other")
    assert not (tmp_path / KEY_FILE).exists()
