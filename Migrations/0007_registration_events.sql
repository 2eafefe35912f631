-- Registration events leave the registering transaction.
--
-- A NOTIFY makes its transaction take PostgreSQL's notify lock at commit and hold it through the WAL flush, so
-- every registration that notified committed one after another, each waiting for its own flush: commits could
-- not share a flush, and registrations per second were bounded by the disk's flush latency. The insert trigger
-- is therefore dropped. musterd announces what it registered just after the commit, with the function below, in
-- a transaction of its own that writes nothing and so need not wait for a flush. The events are the same as
-- before (one per volunteer up to 100 at once, else one count per state). Status changes keep their trigger.
DROP TRIGGER volunteers_event_insert ON volunteers;

-- Planned afresh at each call: a plan cached while the table was small scans it whole once it has grown.
CREATE FUNCTION muster_announce_registrations(ids bigint[]) RETURNS integer LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan AS $$
DECLARE
    item record;
    announced integer := 0;
BEGIN
    IF cardinality(ids) <= 100 THEN
        FOR item IN
            SELECT id, registering_state, status, credential_level FROM volunteers WHERE id = ANY(ids) ORDER BY id
        LOOP
            PERFORM pg_notify('muster_events', json_build_object(
                'type', 'volunteer', 'change', 'registered', 'id', item.id, 'state', item.registering_state,
                'status', item.status, 'credentialLevel', item.credential_level)::text);
            announced := announced + 1;
        END LOOP;
    ELSE
        FOR item IN
            SELECT registering_state, count(*) AS total FROM volunteers WHERE id = ANY(ids) GROUP BY 1 ORDER BY 1
        LOOP
            PERFORM pg_notify('muster_events', json_build_object(
                'type', 'volunteers', 'change', 'registered', 'state', item.registering_state,
                'count', item.total)::text);
            announced := announced + item.total;
        END LOOP;
    END IF;
    RETURN announced;
END $$;
