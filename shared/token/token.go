// Package token issues and verifies the access JWTs and makes the opaque
// refresh tokens of the auth functions.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/benchwrap/backend/shared/apperr"
)

// MinSecretBytes is the shortest JWT secret accepted: HS256 wants a key at
// least as long as its output.
const MinSecretBytes = 32

// MaxAccessTTL caps the lifetime of access tokens. They are not checked
// against revocation: logout revokes refresh tokens, and an access token
// issued before stays valid until it expires, so it must expire soon.
const MaxAccessTTL = 15 * time.Minute

// Scope is the access token's scope claim, as in the original.
const Scope = "upload"

// Keys signs and verifies access tokens.
type Keys struct {
	secret   []byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// ErrWeakSecret means the JWT secret is missing or too short.
var ErrWeakSecret = fmt.Errorf("JWT secret must be at least %d bytes", MinSecretBytes)

// NewKeys checks the secret and returns Keys. now may be nil (time.Now).
func NewKeys(secret []byte, issuer, audience string, ttl time.Duration, now func() time.Time) (*Keys, error) {
	if len(secret) < MinSecretBytes {
		return nil, ErrWeakSecret
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("JWT issuer and audience must be set")
	}
	if ttl <= 0 || ttl > MaxAccessTTL {
		return nil, fmt.Errorf("access token lifetime must be positive and at most %v (logout does not revoke access tokens)", MaxAccessTTL)
	}
	if now == nil {
		now = time.Now
	}
	return &Keys{secret: secret, issuer: issuer, audience: audience, ttl: ttl, now: now}, nil
}

// Claims are the access token's claims. Username duplicates sub because
// today's client reads it from the (unverified) token.
type Claims struct {
	Username string `json:"username"`
	Scope    string `json:"scope"`
	jwt.RegisteredClaims
}

// Access returns a signed access token for username and its expiry.
func (k *Keys) Access(username string) (string, time.Time, error) {
	now := k.now()
	exp := now.Add(k.ttl)
	c := Claims{
		Username: username,
		Scope:    Scope,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   username,
			Issuer:    k.issuer,
			Audience:  jwt.ClaimStrings{k.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// The original's 401 messages, which clients and tests match.
const (
	MsgMissingHeader   = "Missing Authorization header."
	MsgMalformedHeader = "Malformed Authorization header."
	MsgUnsupported     = "Unsupported authorization scheme."
	MsgInvalid         = "Invalid or expired token."
	MsgNoSubject       = "Token missing subject."
)

// Authenticate checks an Authorization header value and returns the
// username the token was issued to. Only HS256 is accepted; exp, iss and
// aud are required and checked.
func (k *Keys) Authenticate(header string) (string, error) {
	if header == "" {
		return "", apperr.New(apperr.Unauthorized, MsgMissingHeader)
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok {
		return "", apperr.New(apperr.Unauthorized, MsgMalformedHeader)
	}
	if !strings.EqualFold(scheme, "bearer") {
		return "", apperr.New(apperr.Unauthorized, MsgUnsupported)
	}
	var c Claims
	_, err := jwt.ParseWithClaims(strings.TrimSpace(raw), &c, func(*jwt.Token) (any, error) { return k.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(k.issuer),
		jwt.WithAudience(k.audience),
		jwt.WithTimeFunc(k.now),
	)
	if err != nil {
		return "", apperr.Wrap(apperr.Unauthorized, MsgInvalid, err)
	}
	if c.Subject == "" {
		return "", apperr.New(apperr.Unauthorized, MsgNoSubject)
	}
	return c.Subject, nil
}

// NewRefresh returns a new opaque refresh token (32 random bytes,
// base64url: 43 characters, like the original's) and the hash to store.
func NewRefresh() (string, []byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("refresh token: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(b[:])
	return t, HashRefresh(t), nil
}

// RefreshLen is the length of every refresh token NewRefresh makes.
const RefreshLen = 43

// WellFormedRefresh reports whether t could be a token NewRefresh made:
// 43 base64url characters. Anything else is refused without a database
// round trip (or a hash).
func WellFormedRefresh(t string) bool {
	if len(t) != RefreshLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// HashRefresh is the stored form of a refresh token: tokens are never kept
// in clear.
func HashRefresh(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}
