-- The volunteer registry: records, their licences (for de-duplication), append-only verifications, and the audit
-- log that every change writes in the same transaction.

CREATE TABLE volunteers (
    id bigserial PRIMARY KEY,
    registering_state char(2) NOT NULL CHECK (registering_state ~ '^[A-Z]{2}$'),
    ref text NOT NULL CHECK (length(ref) BETWEEN 1 AND 100),
    category text NOT NULL CHECK (category IN ('img', 'retired', 'student', 'licensed')),
    profession text NOT NULL,
    status text NOT NULL DEFAULT 'registered'
        CHECK (status IN ('registered', 'verified', 'available', 'deployed', 'withdrawn')),
    first_name text NOT NULL,
    last_name text NOT NULL,
    date_of_birth date,
    email text,
    phone text,
    home_state char(2) NOT NULL,
    lat double precision,
    lon double precision,
    npi char(10),
    skills text[] NOT NULL DEFAULT '{}',
    available_from date,
    available_to date,
    max_travel_km integer,
    telehealth_only boolean NOT NULL DEFAULT false,
    -- The whole registration as validated, canonical JSON (keys sorted): what GET returns and what an idempotent
    -- re-registration is compared with.
    profile jsonb NOT NULL,
    credential_level smallint CHECK (credential_level BETWEEN 1 AND 4),
    credential_valid_until date,
    linked_to bigint REFERENCES volunteers (id),
    created_by bigint NOT NULL REFERENCES api_tokens (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    CONSTRAINT volunteers_ref_unique UNIQUE (registering_state, ref),
    CONSTRAINT volunteers_availability CHECK (available_from IS NULL OR available_to IS NULL OR available_from <= available_to)
);

CREATE INDEX volunteers_state_id ON volunteers (registering_state, id);
CREATE INDEX volunteers_state_status ON volunteers (registering_state, status, category, profession);
CREATE INDEX volunteers_npi ON volunteers (npi) WHERE npi IS NOT NULL;
CREATE INDEX volunteers_name_dob ON volunteers (lower(last_name), lower(first_name), date_of_birth)
    WHERE date_of_birth IS NOT NULL;
CREATE INDEX volunteers_skills ON volunteers USING gin (skills);
CREATE INDEX volunteers_valid_until ON volunteers (credential_valid_until) WHERE credential_valid_until IS NOT NULL;

CREATE TABLE volunteer_licenses (
    volunteer_id bigint NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    position smallint NOT NULL,
    jurisdiction char(2) NOT NULL,
    license_type text NOT NULL,
    number text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'inactive', 'expired', 'lapsed', 'suspended', 'revoked')),
    expires date,
    PRIMARY KEY (volunteer_id, position)
);
CREATE INDEX volunteer_licenses_number ON volunteer_licenses (jurisdiction, upper(number));

-- Append-only: rows are never updated or deleted (enforced below).
CREATE TABLE verifications (
    id bigserial PRIMARY KEY,
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    item text NOT NULL CHECK (item IN ('license', 'ecfmg', 'enrollment', 'graduation', 'identity', 'employment', 'privileges')),
    subject text NOT NULL DEFAULT '',
    outcome text NOT NULL CHECK (outcome IN ('verified', 'failed', 'unverifiable')),
    source text NOT NULL,
    reference text NOT NULL,
    verified_by bigint NOT NULL REFERENCES api_tokens (id),
    verified_by_name text NOT NULL,
    verified_at timestamptz NOT NULL DEFAULT now(),
    expires date
);
CREATE INDEX verifications_volunteer ON verifications (volunteer_id, verified_at);

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_token_id bigint REFERENCES api_tokens (id),
    actor_name text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    entity_id bigint,
    state char(2),
    before jsonb,
    after jsonb
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_state ON audit_log (state, id);

CREATE FUNCTION muster_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER verifications_append_only BEFORE UPDATE OR DELETE ON verifications
    FOR EACH ROW EXECUTE FUNCTION muster_append_only();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION muster_append_only();
