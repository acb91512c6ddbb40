package account

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ImportResult says what happened to one line of a users.txt file.
type ImportResult struct {
	Line     int
	Username string // empty when the line could not be parsed
	Status   string // "imported", "exists" or "skipped"
	Reason   string // why it was skipped
}

// Import reads the original backend's users.txt ("username:hash" per
// line) and creates each valid user with its existing hash, so old
// passwords keep working. Lines that are malformed, whose username breaks
// the rules, or whose hash cannot be verified are reported and skipped;
// users that already exist are left alone.
func Import(ctx context.Context, store Store, r io.Reader) ([]ImportResult, error) {
	var out []ImportResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		res := ImportResult{Line: n, Status: "skipped"}
		name, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok:
			res.Reason = "malformed line: no ':' between username and hash"
		case ValidateUsername(name) != nil:
			res.Reason = "username breaks the rules: " + ValidateUsername(name).Error()
		case !ValidHash(hash):
			res.Username = name
			res.Reason = "hash is not an argon2 PHC string this server can verify"
		default:
			res.Username = name
			_, err := store.CreateUser(ctx, name, hash)
			switch {
			case err == nil:
				res.Status = "imported"
			case errors.Is(err, ErrUsernameTaken):
				res.Status = "exists"
			default:
				return out, fmt.Errorf("import line %d: %w", n, err)
			}
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read users file line %d: %w", n+1, err)
	}
	return out, nil
}
