-- Facilities, their staffing requests, and assignments (offers) of volunteers to requests. PostgreSQL itself
-- guarantees that no volunteer is ever actively booked twice for overlapping dates.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE facilities (
    id bigserial PRIMARY KEY,
    state char(2) NOT NULL CHECK (state ~ '^[A-Z]{2}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('hospital', 'alternate_care_site', 'nursing_home', 'clinic')),
    lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    -- What the site provides, e.g. supervision, hospital_setting, telehealth.
    provides text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by_name text NOT NULL
);
CREATE INDEX facilities_state ON facilities (state);

CREATE TABLE staffing_requests (
    id bigserial PRIMARY KEY,
    facility_id bigint NOT NULL REFERENCES facilities (id),
    state char(2) NOT NULL,
    profession text NOT NULL,
    skills text[] NOT NULL DEFAULT '{}',
    max_credential_level integer NOT NULL CHECK (max_credential_level BETWEEN 1 AND 4),
    count integer NOT NULL CHECK (count BETWEEN 1 AND 10000),
    starts date NOT NULL,
    ends date NOT NULL,
    priority integer NOT NULL CHECK (priority BETWEEN 1 AND 5),
    notes text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by_name text NOT NULL,
    CHECK (ends >= starts)
);
CREATE INDEX staffing_requests_open ON staffing_requests (state) WHERE status = 'open';

CREATE TABLE assignments (
    id bigserial PRIMARY KEY,
    request_id bigint NOT NULL REFERENCES staffing_requests (id),
    volunteer_id bigint NOT NULL REFERENCES volunteers (id),
    period daterange NOT NULL,
    status text NOT NULL CHECK (status IN ('offered', 'accepted', 'confirmed', 'declined', 'expired', 'released')),
    -- The legal basis the round found (instrument and provision) and the conditions attached.
    basis text NOT NULL,
    conditions text[] NOT NULL DEFAULT '{}',
    distance_km integer NOT NULL,
    round_id bigint NOT NULL,
    offered_at timestamptz NOT NULL DEFAULT now(),
    deadline timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- No volunteer is actively booked twice for overlapping dates: enforced here, whatever the code path.
    CONSTRAINT assignments_no_double_booking EXCLUDE USING gist (volunteer_id WITH =, period WITH &&)
        WHERE (status IN ('offered', 'accepted', 'confirmed'))
);
CREATE INDEX assignments_request ON assignments (request_id);
CREATE INDEX assignments_volunteer ON assignments (volunteer_id);

CREATE SEQUENCE match_rounds;
