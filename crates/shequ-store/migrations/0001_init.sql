-- Shequ schema, version 1. Timestamps are UTC, RFC 3339 with milliseconds ("…Z").
-- Identifiers are UUID v7 text minted on the device that created the record.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE communities (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    street        TEXT NOT NULL DEFAULT '',
    district      TEXT NOT NULL DEFAULT '',
    housing_form  TEXT NOT NULL,
    households    INTEGER CHECK (households IS NULL OR households > 0),
    target_sample INTEGER NOT NULL CHECK (target_sample > 0),
    is_demo       INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE instruments (
    id               TEXT PRIMARY KEY,
    form_id          TEXT NOT NULL,
    version          TEXT NOT NULL,
    title            TEXT NOT NULL,
    default_language TEXT,
    languages        TEXT NOT NULL,   -- JSON array of XLSForm language names
    definition       TEXT NOT NULL,   -- JSON of shequ_core::FormDefinition
    content_sha256   TEXT NOT NULL,   -- of the definition JSON: same version, other content = conflict
    source_name      TEXT,
    imported_at      TEXT NOT NULL,
    UNIQUE (form_id, version)
) STRICT;

CREATE TABLE responses (
    instance_id   TEXT PRIMARY KEY,
    root_id       TEXT NOT NULL,
    deprecated_id TEXT,               -- the version this one replaces; may arrive later in a merge
    instrument_id TEXT NOT NULL REFERENCES instruments (id),
    community_id  TEXT NOT NULL REFERENCES communities (id),
    status        TEXT NOT NULL CHECK (status IN ('draft', 'finalized')),
    interviewer   TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    respondent    TEXT NOT NULL DEFAULT '',
    started_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finalized_at  TEXT,
    discarded_at  TEXT
) STRICT;
CREATE INDEX responses_by_community ON responses (community_id, status);
CREATE INDEX responses_by_root ON responses (root_id);
CREATE INDEX responses_by_deprecated ON responses (deprecated_id) WHERE deprecated_id IS NOT NULL;

CREATE TABLE answers (
    instance_id TEXT NOT NULL REFERENCES responses (instance_id) ON DELETE CASCADE,
    question    TEXT NOT NULL,
    value       TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (instance_id, question)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    id        TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    device_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field     TEXT,
    old_value TEXT,
    new_value TEXT
) STRICT;
CREATE INDEX audit_by_entity ON audit (entity, entity_id);
