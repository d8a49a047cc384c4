-- Sharing cluster and library records between stores (bundle format version 2), the annual
-- project-needs lists of clusters, and neighbour lists for proposing clusters by adjacency.

-- A device's age public key, announced in its bundles, so the centre can write back to it.
ALTER TABLE devices ADD COLUMN recipient TEXT;

-- 1. A cluster's annual project-needs list (年度项目需求清单), matched against the libraries
--    and taken to the project matching meeting.
CREATE TABLE project_needs (
    id         TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    year       INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    term       TEXT NOT NULL,   -- a vocabulary key (group:choice), '' when none fits
    title      TEXT NOT NULL CHECK (length(trim(title)) > 0),
    note       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('listed', 'matched', 'dropped')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- 2. Neighbouring communities (组团联建 by adjacency), one row per pair, codes in order.
CREATE TABLE neighbours (
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    CHECK (a < b),
    PRIMARY KEY (a, b)
) STRICT;

-- 3. Where each shared record stands: its content hash, its version and the versions it
--    descends from (JSON list), and the version last sent in a written bundle.
CREATE TABLE shared_versions (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    content_sha TEXT NOT NULL,
    version     TEXT NOT NULL,
    ancestors   TEXT NOT NULL,
    sent        TEXT,
    PRIMARY KEY (kind, id)
) STRICT;

-- 4. Concurrent edits of a shared record: the stored record stays, the incoming one waits
--    here for the analyst (kept or taken, audited).
CREATE TABLE shared_conflicts (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    record_id        TEXT NOT NULL,
    incoming         TEXT NOT NULL,   -- the record as it travelled (JSON)
    incoming_version TEXT NOT NULL,
    stored_version   TEXT NOT NULL,   -- '' when it clashed with another record
    device_id        TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    resolution       TEXT CHECK (resolution IN ('kept', 'took_incoming')),
    resolved_at      TEXT,
    UNIQUE (kind, record_id, incoming_version)
) STRICT;
