-- Files fetched from price sources (package pricing), kept so a settled
-- SMARD block is fetched once. key: smard/<filter>/<region>/<resolution>/
-- <block start ms>, or .../index for the last index fetched.
CREATE TABLE price_blocks (
    key        text        PRIMARY KEY,
    body       bytea       NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
