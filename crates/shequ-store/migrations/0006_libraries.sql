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

-- 3. Community clusters (社区群): members with the day they joined (and left), the rotating
--    chair's turns as history (a turn once recorded is never rewritten), joint meetings and
--    their follow-ups.

CREATE TABLE clusters (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    social_type  TEXT NOT NULL,
    starts       TEXT NOT NULL,   -- the first day of round 1
    months       INTEGER NOT NULL CHECK (months BETWEEN 1 AND 12),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE cluster_members (
    cluster_id     TEXT NOT NULL REFERENCES clusters (id),
    community_code TEXT NOT NULL,
    joined         TEXT NOT NULL,
    left_on        TEXT CHECK (left_on IS NULL OR left_on > joined),
    PRIMARY KEY (cluster_id, community_code, joined)
) STRICT;

CREATE TABLE chair_turns (
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    round      INTEGER NOT NULL CHECK (round > 0),
    starts     TEXT NOT NULL,
    chair      TEXT NOT NULL,
    PRIMARY KEY (cluster_id, round)
) STRICT;

CREATE TABLE meetings (
    id         TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters (id),
    held_on    TEXT NOT NULL,
    round      INTEGER NOT NULL,
    data       TEXT NOT NULL,   -- chair, attendees, minutes, decisions (JSON)
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE follow_ups (
    id         TEXT PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    action     TEXT NOT NULL CHECK (length(trim(action)) > 0),
    owner      TEXT NOT NULL,
    due        TEXT,
    status     TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
    updated_at TEXT NOT NULL
) STRICT;

-- 4. The good-case library (案例库): what a community or cluster did that worked, tagged in
--    the same vocabulary, linked to the checklist items it carries out.

CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    title          TEXT NOT NULL CHECK (length(trim(title)) > 0),
    cluster_id     TEXT REFERENCES clusters (id),
    community_code TEXT,
    data           TEXT NOT NULL,   -- summary, tags, checklist items (JSON)
    created_at     TEXT NOT NULL
) STRICT;
