// Package account holds the rules for user accounts: who may register,
// how passwords are hashed and checked, the login lock-out, and how
// refresh tokens rotate. Storage is behind the Store interface.
package account

import (
	"fmt"
	"strings"
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
	l := strings.ToLower(u)
	if strings.HasPrefix(l, "pg_") || l == "public" {
		return apperr.New(apperr.Invalid, "username: this name is reserved.")
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
