"""The team password, done properly: a salted scrypt hash in the database (schema
``private``, never readable by user queries), checked in constant time; browsers log in
once and keep a session the server can end (catscan.web.sessions), VO clients send HTTP
Basic with the user ``team``. Guessing is slowed per client and for the whole server
(catscan.web.throttle); nothing secret is logged."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from ..errors import CatscanError
from .sessions import LiveSessions
from .throttle import PasswordThrottle

USER = "team"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1        # ~50 ms and 16 MiB per check
SALT_BYTES, HASH_BYTES = 16, 32
MIN_LENGTH = 8
VERIFIED_KEPT_S = 300.0                             # a checked Basic password, remembered


class PasswordError(CatscanError):
    """A team password that cannot be set."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex), the form stored in private.team_access."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=HASH_BYTES, maxmem=64 * 1024 * 1024)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a stored hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(expected), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def set_password(con, password: str) -> None:
    """Store the team password's hash (and a new cookie secret: every browser session
    ends) in the database; ``con`` is a writable connection."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the team password needs at least {MIN_LENGTH} characters")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM private.team_access")
        con.execute("INSERT INTO private.team_access (id, password_hash, session_secret) "
                    "VALUES (1, ?, ?)", [hash_password(password), secrets.token_hex(32)])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def stored_access(con) -> tuple[str, str] | None:
    """(password hash, session secret), or None when no team password was set."""
    rows = con.execute("SELECT password_hash, session_secret FROM private.team_access "
                       "WHERE id = 1").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


@dataclass
class TeamAccess:
    """What the server checks requests against. ``password_hash`` None: no password set,
    every page is open (the server says so when it starts)."""

    password_hash: str | None
    session_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    sessions: LiveSessions = field(default_factory=LiveSessions)
    throttle: PasswordThrottle = field(default_factory=PasswordThrottle)
    _verified: dict[bytes, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_connection(cls, con) -> TeamAccess:
        stored = stored_access(con)
        return cls(None) if stored is None else cls(stored[0], stored[1])

    def reload(self, con) -> None:
        """After a write job: a password set by ``catscan passwd`` through the server
        applies at once, and every browser must log in again (as after a restart)."""
        stored = stored_access(con)
        password_hash = None if stored is None else stored[0]
        if password_hash != self.password_hash:
            with self._lock:
                self.password_hash = password_hash
                self._verified.clear()
            self.sessions = LiveSessions()

    @property
    def open(self) -> bool:
        return self.password_hash is None

    def remembered(self, password: str) -> bool:
        """Whether ``password`` was checked right in the last VERIFIED_KEPT_S seconds
        (known by its SHA-256): no scrypt and no throttle for it."""
        key = hashlib.sha256(password.encode()).digest()
        with self._lock:
            seen = self._verified.get(key)
        return seen is not None and time.monotonic() - seen < VERIFIED_KEPT_S

    def check_password(self, password: str) -> bool:
        """The password against the stored hash; a success is remembered by the password's
        SHA-256 (scrypt costs ~50 ms, and VO clients send it every request)."""
        if self.password_hash is None or self.remembered(password):
            return True
        ok = verify_password(password, self.password_hash)
        if ok:
            with self._lock:
                self._verified = {hashlib.sha256(password.encode()).digest(): time.monotonic()}
        return ok


def basic_password(header: str | None) -> str | None:
    """The password of an ``Authorization: Basic`` header for the user ``team``; "" for
    any other user or a malformed header (a failed attempt), None without such a header."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    user, sep, password = decoded.partition(":")
    return password if sep and hmac.compare_digest(user, USER) else ""
