package account

import (
	"strings"
	"testing"
)

// Hashes written by passlib's argon2 handler (the original backend's
// users.txt format), generated with Debian's python3-passlib.
var passlibHashes = []struct {
	hash, password string
}{
	{"$argon2id$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw", "original-pass-42"},
	{"$argon2id$v=19$m=102400,t=2,p=8$tJYyhvCekzJmjBGCkFKK0Q$baM6X48rvACsV+ldk77KWg", "correct horse battery"},
	{"$argon2i$v=19$m=102400,t=2,p=8$KiVkLEXI2TsHwLgX4hwjZA$rBdJxnyH2xQYAtgHXFVFIQ", "legacy-pass-1"},
}

func TestVerifiesPasslibHashes(t *testing.T) {
	for _, c := range passlibHashes {
		ok, err := VerifyPassword(c.password, c.hash)
		if err != nil || !ok {
			t.Errorf("VerifyPassword(%q, %s) = %v, %v; want true", c.password, c.hash, ok, err)
		}
		ok, err = VerifyPassword(c.password+"x", c.hash)
		if err != nil || ok {
			t.Errorf("wrong password accepted for %s: %v, %v", c.hash, ok, err)
		}
	}
}

func TestHashRoundTripAndParams(t *testing.T) {
	h, err := HashPassword("s3cret-password", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry OWASP's minimum parameters", h)
	}
	if ok, err := VerifyPassword("s3cret-password", h); !ok || err != nil {
		t.Fatalf("round trip failed: %v %v", ok, err)
	}
	h2, _ := HashPassword("s3cret-password", DefaultParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestRejectsBadHashes(t *testing.T) {
	for _, h := range []string{
		"",
		"x",
		"$argon2d$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",     // argon2d: unsupported
		"$argon2id$v=16$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",    // old version
		"$argon2id$v=19$m=99999999,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw", // 95 GiB: refused
		"$argon2id$v=19$m=65536,t=300,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",
		"$argon2id$v=19$m=65536,t=3$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",
		"$argon2id$v=19$m=65536,t=3,p=4$!!!$4hJvimFx5VS9rSJjerJUbw",
		"$pbkdf2-sha256$29000$abc$def",
	} {
		if ValidHash(h) {
			t.Errorf("ValidHash(%q) = true", h)
		}
		if _, err := VerifyPassword("x", h); err == nil {
			t.Errorf("VerifyPassword accepted %q", h)
		}
	}
}
