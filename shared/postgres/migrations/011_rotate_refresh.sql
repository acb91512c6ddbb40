-- A refresh rotation in one call, committed as one statement: lookup,
-- consume and insert. The store rotates live tokens with a plain
-- statement (shared/postgres/accounts.go) and calls this function for the
-- tokens that statement did not rotate, to tell why and revoke.
-- Outcome 0: rotated (user_id and username set); 1: unknown or revoked;
-- 2: expired (now revoked); 3: already used, so the whole family is now
-- revoked.
CREATE FUNCTION rotate_refresh(p_old bytea, p_new bytea, p_issued timestamptz, p_expires timestamptz, p_now timestamptz)
RETURNS TABLE (outcome int, user_id bigint, username text)
LANGUAGE plpgsql AS $$
DECLARE
    t refresh_tokens%ROWTYPE;
BEGIN
    -- The common case: a live token. The row lock makes a concurrent
    -- rotation of the same token wait, then find it used.
    UPDATE refresh_tokens r SET used_at = p_now
     WHERE r.token_hash = p_old AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > p_now
    RETURNING r.* INTO t;
    IF FOUND THEN
        INSERT INTO refresh_tokens (token_hash, user_id, family, issued_at, expires_at)
        VALUES (p_new, t.user_id, t.family, p_issued, p_expires);
        RETURN QUERY SELECT 0, u.id, u.username FROM users u WHERE u.id = t.user_id;
        RETURN;
    END IF;

    SELECT * INTO t FROM refresh_tokens r WHERE r.token_hash = p_old FOR UPDATE;
    IF NOT FOUND OR t.revoked_at IS NOT NULL THEN
        RETURN QUERY SELECT 1, NULL::bigint, NULL::text;
    ELSIF t.used_at IS NOT NULL THEN
        -- Reuse: someone holds a copy. Revoke every token of the family.
        UPDATE refresh_tokens r SET revoked_at = p_now WHERE r.family = t.family AND r.revoked_at IS NULL;
        RETURN QUERY SELECT 3, NULL::bigint, NULL::text;
    ELSE
        UPDATE refresh_tokens r SET revoked_at = p_now WHERE r.token_hash = p_old;
        RETURN QUERY SELECT 2, NULL::bigint, NULL::text;
    END IF;
END
$$;
