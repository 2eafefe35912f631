-- Events: every change a subscriber may be told about is published with pg_notify on `muster_events`, from
-- triggers, so it reaches every daemon on this database whatever wrote it, and only once the change has committed.
-- Payloads are small JSON objects with ids and scope only (state, facility), never names or contact details; the
-- daemons decide who may see each one.

CREATE FUNCTION muster_assignment_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    request staffing_requests%ROWTYPE;
    volunteer_state text;
BEGIN
    SELECT * INTO request FROM staffing_requests WHERE id = NEW.request_id;
    SELECT registering_state INTO volunteer_state FROM volunteers WHERE id = NEW.volunteer_id;
    PERFORM pg_notify('muster_events', json_build_object(
        'type', 'offer', 'id', NEW.id, 'status', NEW.status, 'requestId', NEW.request_id,
        'facilityId', request.facility_id, 'state', request.state, 'volunteerId', NEW.volunteer_id,
        'volunteerState', volunteer_state, 'round', NEW.round_id)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER assignments_event_insert AFTER INSERT ON assignments
    FOR EACH ROW EXECUTE FUNCTION muster_assignment_event();
CREATE TRIGGER assignments_event_update AFTER UPDATE OF status ON assignments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION muster_assignment_event();

CREATE FUNCTION muster_request_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('muster_events', json_build_object(
        'type', 'request', 'id', NEW.id, 'status', NEW.status, 'facilityId', NEW.facility_id, 'state', NEW.state,
        'profession', NEW.profession, 'count', NEW.count, 'priority', NEW.priority)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER staffing_requests_event_insert AFTER INSERT ON staffing_requests
    FOR EACH ROW EXECUTE FUNCTION muster_request_event();
CREATE TRIGGER staffing_requests_event_update AFTER UPDATE OF status ON staffing_requests
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION muster_request_event();

-- Volunteers change in bulk (imports, expiry sweeps), so these triggers run once per statement: up to 100 changed
-- records are announced one by one, more as one count per state.
CREATE FUNCTION muster_volunteers_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
    item record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT count(*) INTO changed FROM new_rows;
        IF changed <= 100 THEN
            FOR item IN SELECT id, registering_state, status, credential_level FROM new_rows ORDER BY id LOOP
                PERFORM pg_notify('muster_events', json_build_object(
                    'type', 'volunteer', 'change', 'registered', 'id', item.id, 'state', item.registering_state,
                    'status', item.status, 'credentialLevel', item.credential_level)::text);
            END LOOP;
        ELSE
            FOR item IN SELECT registering_state, count(*) AS total FROM new_rows GROUP BY 1 ORDER BY 1 LOOP
                PERFORM pg_notify('muster_events', json_build_object(
                    'type', 'volunteers', 'change', 'registered', 'state', item.registering_state,
                    'count', item.total)::text);
            END LOOP;
        END IF;
    ELSE
        SELECT count(*) INTO changed FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.status IS DISTINCT FROM o.status OR n.credential_level IS DISTINCT FROM o.credential_level;
        IF changed BETWEEN 1 AND 100 THEN
            FOR item IN
                SELECT n.id, n.registering_state, n.status, n.credential_level FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE n.status IS DISTINCT FROM o.status OR n.credential_level IS DISTINCT FROM o.credential_level
                ORDER BY n.id
            LOOP
                PERFORM pg_notify('muster_events', json_build_object(
                    'type', 'volunteer', 'change', 'status', 'id', item.id, 'state', item.registering_state,
                    'status', item.status, 'credentialLevel', item.credential_level)::text);
            END LOOP;
        ELSIF changed > 100 THEN
            FOR item IN
                SELECT n.registering_state, count(*) AS total FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE n.status IS DISTINCT FROM o.status OR n.credential_level IS DISTINCT FROM o.credential_level
                GROUP BY 1 ORDER BY 1
            LOOP
                PERFORM pg_notify('muster_events', json_build_object(
                    'type', 'volunteers', 'change', 'status', 'state', item.registering_state, 'count', item.total)::text);
            END LOOP;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER volunteers_event_insert AFTER INSERT ON volunteers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION muster_volunteers_event();
CREATE TRIGGER volunteers_event_update AFTER UPDATE ON volunteers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION muster_volunteers_event();

-- A hospital token is scoped to a facility that exists. NOT VALID: checked for every new token, without failing
-- the migration on a database that already holds a token for a facility id never created.
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_facility_exists
    FOREIGN KEY (facility_id) REFERENCES facilities (id) NOT VALID;
