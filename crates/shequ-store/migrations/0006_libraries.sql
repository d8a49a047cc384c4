-- The district's libraries and the matches made from them.
--
-- 1. The resource library (资源库) and the expert library (专家库). The record itself is JSON
--    (`data`, the app's own type); the columns beside it are what identifies an entry, so the
--    same resource or expert cannot be entered twice.
-- 2. Matches (供需对接): a community's need or problem met by a resource or an expert, with
--    its status and outcome; every change is audited.

CREATE TABLE resources (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL CHECK (length(trim(name)) > 0),
    street         TEXT NOT NULL,
    community_code TEXT NOT NULL,   -- '' when it belongs to the street, not a community
    data           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (kind, name, street, community_code)
) STRICT;

CREATE TABLE experts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL CHECK (length(trim(name)) > 0),
    organisation TEXT NOT NULL,
    data         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (name, organisation)
) STRICT;

CREATE TABLE matches (
    id             TEXT PRIMARY KEY,
    community_code TEXT NOT NULL,
    term           TEXT NOT NULL,
    supplier_id    TEXT NOT NULL,
    supplier_name  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('proposed', 'agreed', 'in_progress', 'done')),
    outcome        TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (community_code, term, supplier_id)
) STRICT;
CREATE INDEX matches_by_supplier ON matches (supplier_id, status);
