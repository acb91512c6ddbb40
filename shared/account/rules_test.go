package account

import (
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/apperr"
)

func TestValidateUsername(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"Bob_the-2nd", true},
		{"abcd", false},                  // too short
		{strings.Repeat("a", 21), false}, // too long
		{strings.Repeat("a", 20), true},
		{"bob/x", false},      // would reach bob's prefix
		{"b:x\nalice", false}, // users.txt injection
		{"zz\nqqqq", false},
		{"al ice", false},
		{"alice.", false},
		{"al..ce", false},
		{"ålice", false},
		{"pg_admin", false}, // PostgreSQL reserves pg_ schemas
		{"PG_Admin", false},
		{"public", false},
		{"publicx", true},
	} {
		err := ValidateUsername(c.name)
		if (err == nil) != c.ok {
			t.Errorf("ValidateUsername(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid || !strings.HasPrefix(err.Error(), "username") {
				t.Errorf("ValidateUsername(%q): error %q should be Invalid and name the field", c.name, err)
			}
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for _, c := range []struct {
		pw string
		ok bool
	}{
		{"1234567", false},
		{"12345678", true},
		{strings.Repeat("é", 8), true}, // counted in characters, not bytes
		{strings.Repeat("x", 128), true},
		{strings.Repeat("x", 129), false},
		{"\xff\xfe12345678", false},
	} {
		err := ValidatePassword(c.pw)
		if (err == nil) != c.ok {
			t.Errorf("ValidatePassword(%q) = %v, want ok=%v", c.pw, err, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "password") {
			t.Errorf("error %q does not name the field", err)
		}
	}
}
