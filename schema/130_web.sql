-- The web server (docs/web.md): the team password and which nights are public.
-- Credentials live in their own schema: user queries (CatScan, SQL, TAP) may read only the
-- tables of `main` (catscan.safety.allowed_tables), so the hash is never served.
CREATE SCHEMA private;

CREATE TABLE private.team_access (
    id INTEGER PRIMARY KEY CHECK (id = 1),   -- one team password
    password_hash VARCHAR NOT NULL,          -- scrypt$N$r$p$salt$hash (catscan.web.access)
    session_secret VARCHAR NOT NULL,         -- signs browser session cookies
    set_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- A released night's sources, scans and images are public (no login needed).
ALTER TABLE nights ADD COLUMN released BOOLEAN DEFAULT false;
