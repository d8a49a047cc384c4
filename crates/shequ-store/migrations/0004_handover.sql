-- Hand-over that never silently skips an interview.
--
-- 1. A change sequence of the store's own: every finalized response version gets the next
--    number when it is written, finalized or imported (triggers below, so every write path
--    is covered). "Since the last export" means change_seq > the highest number the last
--    written bundle covered; the laptop's clock plays no part.
-- 2. Bundles are numbered per device (exports.bundle_seq, carried in the manifest), so the
--    centre can tell which of a device's bundles it has not received (bundle_imports.bundle_seq).
-- 3. Taking the incoming side of a conflict keeps the version it replaced (conflicts.replaced),
--    so it can be restored.

CREATE TABLE sequences (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

ALTER TABLE responses ADD COLUMN change_seq INTEGER;

-- Backfill: the finalized versions already here, in the order they were finalized.
UPDATE responses SET change_seq = o.n
FROM (SELECT instance_id,
             row_number() OVER (ORDER BY coalesce(finalized_at, updated_at), instance_id) AS n
      FROM responses WHERE status = 'finalized') AS o
WHERE o.instance_id = responses.instance_id;

INSERT INTO sequences (name, value)
VALUES ('change', (SELECT coalesce(max(change_seq), 0) FROM responses));

CREATE INDEX responses_by_change_seq ON responses (change_seq) WHERE change_seq IS NOT NULL;

-- A finalized version arrives (finalize, bundle import, demo) or is rewritten (a conflict
-- resolved): it takes the next number. The triggers' own UPDATE sets only change_seq, which
-- is not in the UPDATE OF list, so they never fire themselves.
CREATE TRIGGER responses_change_seq_insert AFTER INSERT ON responses
WHEN NEW.status = 'finalized'
BEGIN
    UPDATE sequences SET value = value + 1 WHERE name = 'change';
    UPDATE responses SET change_seq = (SELECT value FROM sequences WHERE name = 'change')
    WHERE instance_id = NEW.instance_id;
END;

CREATE TRIGGER responses_change_seq_update
AFTER UPDATE OF status, interviewer, respondent, updated_at, finalized_at, discarded_at, repeat_counts
ON responses
WHEN NEW.status = 'finalized'
BEGIN
    UPDATE sequences SET value = value + 1 WHERE name = 'change';
    UPDATE responses SET change_seq = (SELECT value FROM sequences WHERE name = 'change')
    WHERE instance_id = NEW.instance_id;
END;

-- Exports: the bundle's number on this device, and the highest change_seq it covered. Exports
-- recorded before this version had neither; they cover 0, so the first export after the
-- upgrade sends everything once (an export used to be recorded even when its file was never
-- written; the centre recognises what it already has as duplicates).
ALTER TABLE exports ADD COLUMN bundle_seq INTEGER;
ALTER TABLE exports ADD COLUMN covered_seq INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX exports_by_bundle_seq ON exports (bundle_seq);

-- Imports: the bundle's number on its device (NULL for bundles without one) and whether it
-- carried everything (no since_seq), which makes the device's earlier bundles redundant.
ALTER TABLE bundle_imports ADD COLUMN bundle_seq INTEGER;
ALTER TABLE bundle_imports ADD COLUMN bundle_full INTEGER NOT NULL DEFAULT 0;
CREATE INDEX bundle_imports_by_device ON bundle_imports (device_id, bundle_seq);

-- Conflicts: what taking the incoming version overwrote of the stored one (JSON: status,
-- interviewer, respondent, times, repeat counts, answers with their save times), and when it
-- was put back.
ALTER TABLE conflicts ADD COLUMN replaced TEXT;
ALTER TABLE conflicts ADD COLUMN restored_at TEXT;
