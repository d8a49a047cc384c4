-- Fieldwork: where an interview stopped, its repeat sizes, and recent interviewers.

-- The instance key of the question the worker was on (resume point).
ALTER TABLE responses ADD COLUMN position TEXT NOT NULL DEFAULT '';
-- Instances of each user-sized repeat, JSON object {"rep": 2}.
ALTER TABLE responses ADD COLUMN repeat_counts TEXT NOT NULL DEFAULT '{}';

CREATE INDEX responses_by_status_updated ON responses (status, updated_at);
