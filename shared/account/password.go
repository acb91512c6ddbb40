package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultParams meet OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Upper bounds on the cost of hashes we agree to verify, so a stored hash
// (e.g. an imported one) cannot make a login allocate gigabytes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	maxThreads   = 64
)

// HashPassword returns the PHC string of password under p, waiting as
// long as it takes for a slot of the process's default Hasher.
func HashPassword(password string, p Params) (string, error) {
	return defaultHasher.Hash(context.Background(), password, p)
}

// VerifyPassword reports whether password matches the PHC string, waiting
// as long as it takes for a slot of the process's default Hasher.
func VerifyPassword(password, encoded string) (bool, error) {
	return defaultHasher.Verify(context.Background(), password, encoded)
}

// Hash returns the PHC string of password under p, computed in a slot.
func (h *Hasher) Hash(ctx context.Context, password string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	var key []byte
	if err := h.run(ctx, p, func() { key = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen) }); err != nil {
		return "", err
	}
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// phc is a parsed argon2 PHC string.
type phc struct {
	variant string // argon2id or argon2i
	params  Params
	salt    []byte
	key     []byte
}

var errBadHash = errors.New("not an argon2 PHC string")

// parsePHC accepts the strings written by HashPassword and by passlib's
// argon2 handler ($argon2id$v=19$m=65536,t=3,p=4$salt$hash).
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	// "", variant, v=19, m=..,t=..,p=.., salt, hash
	if len(parts) != 6 || parts[0] != "" {
		return phc{}, errBadHash
	}
	h := phc{variant: parts[1]}
	if h.variant != "argon2id" && h.variant != "argon2i" {
		return phc{}, fmt.Errorf("unsupported variant %q: %w", h.variant, errBadHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, fmt.Errorf("unsupported version %q: %w", parts[2], errBadHash)
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return phc{}, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return phc{}, errBadHash
		}
		switch k {
		case "m":
			h.params.Memory = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return phc{}, errBadHash
			}
			h.params.Threads = uint8(n)
		default:
			return phc{}, errBadHash
		}
	}
	p := h.params
	if p.Memory < 8 || p.Memory > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Threads > maxThreads {
		return phc{}, fmt.Errorf("cost parameters out of range: %w", errBadHash)
	}
	var err error
	if h.salt, err = decodeB64(parts[4]); err != nil || len(h.salt) < 8 {
		return phc{}, errBadHash
	}
	if h.key, err = decodeB64(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return phc{}, errBadHash
	}
	return h, nil
}

// decodeB64 reads standard base64 with or without padding (PHC omits it).
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// ValidHash reports whether s is a hash VerifyPassword can check.
func ValidHash(s string) bool {
	_, err := parsePHC(s)
	return err == nil
}

// Verify reports whether password matches the PHC string, computed in a
// slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	ph, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	var key []byte
	err = h.run(ctx, ph.params, func() {
		if ph.variant == "argon2i" {
			key = argon2.Key([]byte(password), ph.salt, ph.params.Time, ph.params.Memory, ph.params.Threads, uint32(len(ph.key)))
		} else {
			key = argon2.IDKey([]byte(password), ph.salt, ph.params.Time, ph.params.Memory, ph.params.Threads, uint32(len(ph.key)))
		}
	})
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, ph.key) == 1, nil
}
