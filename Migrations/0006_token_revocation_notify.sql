-- A revoked token stops working on every open connection of every daemon: the revocation is published on
-- `muster_tokens` (the token id only), and each daemon refuses that token's next command.

CREATE FUNCTION muster_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('muster_tokens', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER api_tokens_revoked AFTER UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION muster_token_revoked();
