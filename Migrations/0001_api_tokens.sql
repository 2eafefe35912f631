-- API tokens: who may speak to musterd, in which role and scope.
-- Only the SHA-256 of each token is stored; the token itself is shown once, at creation.
CREATE TABLE api_tokens (
    id bigserial PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('admin', 'state', 'hospital')),
    state char(2) CHECK (state ~ '^[A-Z]{2}$'),
    facility_id bigint,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    token_prefix text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_tokens_scope CHECK (
        (role = 'admin' AND state IS NULL AND facility_id IS NULL)
        OR (role = 'state' AND state IS NOT NULL AND facility_id IS NULL)
        OR (role = 'hospital' AND state IS NULL AND facility_id IS NOT NULL)
    )
);
