package devserver

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Role is a login role of the application's database.
type Role struct {
	Name     string
	Password string
}

// ProvisionDatabase splits the privileges of a database between two
// login roles, using a superuser URL (safe to repeat):
//   - owner owns the database and its public schema: the migrations run
//     as it;
//   - app (the functions) is neither superuser nor able to create roles or
//     databases; it may connect, create the users' schemas (which it then
//     owns) and read and write the owner's tables, granted by
//     postgres.GrantApp after each migration.
func ProvisionDatabase(ctx context.Context, superURL, database string, owner, app Role) error {
	c, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return fmt.Errorf("provision database: %w", err)
	}
	defer c.Close(ctx)
	db, o, a := pgx.Identifier{database}.Sanitize(), pgx.Identifier{owner.Name}.Sanitize(), pgx.Identifier{app.Name}.Sanitize()
	var stmts []string
	for _, r := range []Role{owner, app} {
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", r.Name).Scan(&exists); err != nil {
			return fmt.Errorf("provision database: %w", err)
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		stmts = append(stmts, fmt.Sprintf("%s ROLE %s LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD %s",
			verb, pgx.Identifier{r.Name}.Sanitize(), quoteLiteral(r.Password)))
	}
	stmts = append(stmts,
		"ALTER DATABASE "+db+" OWNER TO "+o,
		"REVOKE ALL ON DATABASE "+db+" FROM PUBLIC",
		"GRANT CONNECT, TEMPORARY, CREATE ON DATABASE "+db+" TO "+a,
	)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("provision database: %w", err)
		}
	}
	// Inside the database: the public schema and what is in it belong to
	// the owner (clusters made before the split had them as postgres).
	d, err := pgx.Connect(ctx, replaceDB(superURL, database))
	if err != nil {
		return fmt.Errorf("provision database: %w", err)
	}
	defer d.Close(ctx)
	_, err = d.Exec(ctx, `ALTER SCHEMA public OWNER TO `+o+`;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> `+quoteLiteral(owner.Name)+` LOOP
    EXECUTE format('ALTER %s public.%I OWNER TO %I',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
      r.relname, `+quoteLiteral(owner.Name)+`);
  END LOOP;
END $$`)
	if err != nil {
		return fmt.Errorf("provision database: owner of public: %w", err)
	}
	return nil
}

// replaceDB swaps the database of a postgres:// URL.
func replaceDB(url, db string) string {
	q := ""
	for i := 0; i < len(url); i++ {
		if url[i] == '?' {
			url, q = url[:i], url[i:]
			break
		}
	}
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '/' {
			return url[:i+1] + db + q
		}
	}
	return url
}
