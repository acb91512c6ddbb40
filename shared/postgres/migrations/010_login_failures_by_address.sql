-- Failed logins are counted per (username, client address) and per
-- address, so a stranger's failures no longer lock the owner out.
-- Rows from before this migration have no address; they age out.
ALTER TABLE login_failures ADD COLUMN client_addr text NOT NULL DEFAULT '';
DROP INDEX login_failures_key;
CREATE INDEX login_failures_key ON login_failures (username_key, failed_at);
CREATE INDEX login_failures_addr ON login_failures (client_addr, failed_at);
