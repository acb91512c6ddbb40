// Package account holds the rules for user accounts: who may register,
// how passwords are hashed and checked, the login lock-out, and how
// refresh tokens rotate. Storage is behind the Store interface.
package account

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/benchwrap/backend/shared/apperr"
)

// Username and password limits. A username becomes a storage prefix and a
// database schema, so its alphabet is restricted.
const (
	MinUsername = 5
	MaxUsername = 20
	MinPassword = 8
	MaxPassword = 128
)

// ValidateUsername checks the username rule: 5-20 characters of
// [A-Za-z0-9_-], not a name PostgreSQL reserves for its own schemas.
func ValidateUsername(u string) error {
	if len(u) < MinUsername || len(u) > MaxUsername {
		return apperr.New(apperr.Invalid, fmt.Sprintf("username: must be %d to %d characters.", MinUsername, MaxUsername))
	}
	for i := 0; i < len(u); i++ {
		if !usernameByte(u[i]) {
			return apperr.New(apperr.Invalid, "username: only letters A-Z and a-z, digits, '_' and '-' are allowed.")
		}
	}
	if Reserved(u) {
		return apperr.New(apperr.Invalid, "username: this name is reserved.")
	}
	return nil
}

// reservedNames are schema names PostgreSQL owns. A username names the
// user's schema, so a user called information_schema would have tables
// written into a system schema.
var reservedNames = []string{"public", "information_schema"}

// Reserved reports whether a username collides, in any letter case, with
// a reserved or system schema name: public, information_schema, or pg_*
// (pg_catalog, pg_toast, pg_temp_N, and any future one).
func Reserved(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "pg_") || slices.Contains(reservedNames, l)
}

// CheckText refuses control characters (NUL, newline, DEL, C1 controls)
// and invalid UTF-8 in a username or password with a 400 naming the
// field. It runs before anything else, so such input never reaches the
// database, which cannot store NUL in text and would answer 503.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return apperr.New(apperr.BadRequest, field+": must be valid UTF-8.")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return apperr.New(apperr.BadRequest, fmt.Sprintf("%s: must not contain control characters (found U+%04X).", field, r))
		}
	}
	return nil
}

func usernameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// ValidatePassword checks the length rule, counted in characters like the
// original (code points).
func ValidatePassword(p string) error {
	if !utf8.ValidString(p) {
		return apperr.New(apperr.Invalid, "password: must be valid UTF-8.")
	}
	if n := utf8.RuneCountInString(p); n < MinPassword || n > MaxPassword {
		return apperr.New(apperr.Invalid, fmt.Sprintf("password: must be %d to %d characters.", MinPassword, MaxPassword))
	}
	return nil
}

// Key is the case-insensitive identity of a username: uniqueness and the
// lock-out counter use it.
func Key(username string) string { return strings.ToLower(username) }
