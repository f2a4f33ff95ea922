-- Events move to a rowid table keyed by a time-ordered integer:
--
--     id = ts * 1048576 + slot
--
-- where slot is the low 20 bits of the dedupe key, or, when another event of
-- the same millisecond already holds them, the next free slot (wrapping
-- within the millisecond). ts is id's high bits, so it is exact. Appending
-- to a rowid table is SQLite's cheapest insert (the keyed table it replaces
-- re-balanced three pages at every split); the dedupe check is the seek on
-- id and a comparison of dkey. Times are stored from 1900 to 2199.
-- Range queries on time use id: ts >= a  <=>  id >= a * 1048576.
--
-- The rows are copied by code (store.go, copyEventsToRowid): slots are
-- assigned there the way the writer assigns them.

DROP VIEW events_v;
ALTER TABLE events RENAME TO events_0003;

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,          -- ts * 1048576 + slot, see above
    ts          INTEGER GENERATED ALWAYS AS (id >> 20) VIRTUAL,
    dkey        INTEGER NOT NULL,             -- dedupe key: a 63-bit hash of what identifies the event
    minute      INTEGER GENERATED ALWAYS AS ((id >> 20) / 60000) VIRTUAL,
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    type_id     INTEGER NOT NULL REFERENCES event_types (id),
    recipient   TEXT    NOT NULL,
    ip_id       INTEGER REFERENCES ips (id),
    code        INTEGER,                      -- SMTP basic code
    enhanced    INTEGER,                      -- RFC 3463 code as class*100000 + subject*1000 + detail (4.7.650 = 407650)
    reply       TEXT,
    group_id    INTEGER REFERENCES reply_groups (id),
    message_id  TEXT,
    attempt     INTEGER,
    word_id     INTEGER REFERENCES words (id), -- the source's own word for the type
    class_id    INTEGER REFERENCES words (id), -- mail class or stream, when the source has one
    source_id   INTEGER NOT NULL REFERENCES sources (id),
    line        INTEGER NOT NULL
);

CREATE VIEW events_v AS
SELECT strftime('%Y-%m-%dT%H:%M:%fZ', e.ts / 1000.0, 'unixepoch') AS time,
       e.ts, e.minute, p.name AS provider, t.name AS type, w.word AS original_type,
       e.recipient, substr(e.recipient, instr(e.recipient, '@') + 1) AS recipient_domain, i.ip AS sending_ip,
       e.code AS smtp_code,
       CASE WHEN e.enhanced IS NOT NULL
            THEN printf('%d.%d.%d', e.enhanced / 100000, e.enhanced / 1000 % 100, e.enhanced % 1000) END AS enhanced_code,
       e.reply, g.reason, g.temporary, g.rule_id, g.key AS reply_group,
       e.message_id, e.attempt, c.word AS class,
       s.format, s.name AS source, e.line, s.run_id
FROM events e
JOIN providers p ON p.id = e.provider_id
JOIN event_types t ON t.id = e.type_id
JOIN sources s ON s.id = e.source_id
LEFT JOIN ips i ON i.id = e.ip_id
LEFT JOIN reply_groups g ON g.id = e.group_id
LEFT JOIN words w ON w.id = e.word_id
LEFT JOIN words c ON c.id = e.class_id;
