-- The centre's analysis.
--
-- 1. Survey rounds (调查轮次): every response belongs to one, by name ("2026 年度"). A new
--    response takes the store's current round (setting `current_round`); a new version keeps
--    the round of the version it replaces; a bundle carries each response's round.
--    Existing responses go into a first round named after the year of the first interview.
-- 2. Governance checklists: the selection a community's checklist was last accepted with,
--    and every edit of it, with who, when and why.

CREATE TABLE rounds (
    name       TEXT PRIMARY KEY CHECK (length(trim(name)) > 0),
    created_at TEXT NOT NULL
) STRICT;

ALTER TABLE responses ADD COLUMN round TEXT NOT NULL DEFAULT '';

INSERT INTO rounds (name, created_at)
SELECT substr(min(started_at), 1, 4) || ' 年度', min(started_at) FROM responses HAVING count(*) > 0;

UPDATE responses SET round = (SELECT name FROM rounds) WHERE EXISTS (SELECT 1 FROM rounds);

INSERT OR REPLACE INTO settings (key, value) SELECT 'current_round', name FROM rounds;

CREATE INDEX responses_by_round ON responses (round, status);

CREATE TABLE checklist_accepted (
    community_code TEXT PRIMARY KEY,
    items          TEXT NOT NULL,   -- JSON array of library item ids
    label          TEXT NOT NULL,   -- the composite label it was accepted under
    accepted_at    TEXT NOT NULL,
    actor          TEXT NOT NULL
) STRICT;

CREATE TABLE checklist_edits (
    id             TEXT PRIMARY KEY,
    community_code TEXT NOT NULL,
    item_id        TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('add', 'remove', 'restore', 'priority', 'owner')),
    value          TEXT,
    item           TEXT,            -- JSON of the analyst's own item, for 'add'
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    at             TEXT NOT NULL
) STRICT;
CREATE INDEX checklist_edits_by_community ON checklist_edits (community_code, at);
