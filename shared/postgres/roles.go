package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// GrantApp gives role (the functions' login) what it needs of the
// objects the migrations made, now and for later migrations by the same
// owner: read and write rows, use sequences, call functions. It runs as
// the owner, after Migrate; role gets no DDL on them.
func GrantApp(ctx context.Context, owner *pgxpool.Pool, role string) error {
	r := pgx.Identifier{role}.Sanitize()
	_, err := owner.Exec(ctx, `GRANT USAGE ON SCHEMA public TO `+r+`;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO `+r+`;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO `+r+`;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO `+r+`;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO `+r+`;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO `+r+`;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO `+r)
	if err != nil {
		return fmt.Errorf("grant %s: %w", role, err)
	}
	return nil
}

// MigrateAs migrates with the owner's URL and grants the functions' role
// (the user of appURL) its privileges; with the owner's URL empty (one
// role for everything), it migrates through app.
func MigrateAs(ctx context.Context, ownerURL string, app *pgxpool.Pool) error {
	if ownerURL == "" {
		return Migrate(ctx, app)
	}
	owner, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("owner connection: %w", err)
	}
	defer owner.Close()
	if err := Migrate(ctx, owner); err != nil {
		return err
	}
	return GrantApp(ctx, owner, app.Config().ConnConfig.User)
}
