-- Emergency orders as versioned rule packs. Every load of changed content and every rescission adds a version;
-- no version is ever changed or removed, so an evaluation at a past date can always be repeated.

CREATE TABLE order_packs (
    instrument_id text NOT NULL CHECK (length(instrument_id) BETWEEN 1 AND 100),
    version integer NOT NULL CHECK (version >= 1),
    -- The instrument's own state, or MULTI for a cross-state mechanism.
    state text NOT NULL CHECK (state ~ '^([A-Z]{2}|MULTI)$'),
    applies_to text[] NOT NULL,
    title text NOT NULL,
    effective_from date NOT NULL,
    -- The last day in force as written in the pack (NULL: open-ended); a rescission caps it in the engine.
    effective_to date,
    -- Set on a rescission version: in force up to the day before.
    rescinded_on date,
    -- The file's own version: line (the document revision).
    revision integer NOT NULL,
    file_name text NOT NULL,
    yaml text NOT NULL,
    sha256 bytea NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    loaded_by bigint REFERENCES api_tokens (id),
    loaded_by_name text NOT NULL,
    PRIMARY KEY (instrument_id, version),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
CREATE INDEX order_packs_applies_to ON order_packs USING gin (applies_to);

CREATE TRIGGER order_packs_append_only BEFORE UPDATE OR DELETE ON order_packs
    FOR EACH ROW EXECUTE FUNCTION muster_append_only();

-- Every daemon LISTENs on muster_orders and reloads its compiled packs when a version is added, whoever added it.
CREATE FUNCTION muster_order_packs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('muster_orders', NEW.instrument_id || ' ' || NEW.version);
    RETURN NULL;
END $$;

CREATE TRIGGER order_packs_notify AFTER INSERT ON order_packs
    FOR EACH ROW EXECUTE FUNCTION muster_order_packs_notify();
