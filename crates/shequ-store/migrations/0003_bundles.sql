-- Assessment bundles: devices seen, bundles imported, conflicts kept for the analyst, exports.

CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL
) STRICT;

CREATE TABLE bundle_imports (
    file_sha256 TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    exported_at TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    new_count      INTEGER NOT NULL,
    duplicate_count INTEGER NOT NULL,
    version_count  INTEGER NOT NULL,
    conflict_count INTEGER NOT NULL
) STRICT;

-- The same instance id arrived with other content: the stored row stays, the incoming
-- version is kept here until the analyst decides.
CREATE TABLE conflicts (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL,
    incoming      TEXT NOT NULL,   -- JSON of the incoming response version (bundle format)
    incoming_hash TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    resolved_at   TEXT,
    resolution    TEXT CHECK (resolution IS NULL OR resolution IN ('kept_existing', 'took_incoming')),
    resolved_by   TEXT,
    UNIQUE (instance_id, incoming_hash)
) STRICT;

CREATE TABLE exports (
    id        TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    since     TEXT,
    file      TEXT NOT NULL,
    responses INTEGER NOT NULL,
    encrypted INTEGER NOT NULL,
    sha256    TEXT NOT NULL
) STRICT;
