// Package storage holds the rules for users' objects: how a client's
// object name becomes a key under the user's prefix, what a presigned URL
// answer contains, and how listings are paged. The object store itself is
// behind the Objects interface.
package storage

import (
	"strings"

	"github.com/benchwrap/backend/shared/apperr"
)

// MaxKeyBytes is S3's limit for a key; a user's prefix and the name
// together must fit in it.
const MaxKeyBytes = 1024

// MaxNameBytes bounds a sanitised object name before the prefix is added;
// Key checks the whole key against MaxKeyBytes.
const MaxNameBytes = MaxKeyBytes

// MsgInvalidName is the original's message for every rejected name.
const MsgInvalidName = "Invalid object name."

// SanitizeName applies the original's rule: every character outside
// [A-Za-z0-9._-] becomes '_' (so '/' cannot reach another prefix); empty
// names and names containing ".." are refused, as are names longer than
// MaxNameBytes after that.
func SanitizeName(name string) (string, error) {
	s := replaceUnsafe(name)
	if s == "" || strings.Contains(s, "..") || len(s) > MaxNameBytes {
		return "", apperr.New(apperr.BadRequest, MsgInvalidName)
	}
	return s, nil
}

func replaceUnsafe(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		if r < 0x80 && safeByte(byte(r)) {
			b.WriteByte(byte(r))
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// Prefix is the folder every key of a user lives under.
func Prefix(username string) string { return username + "/" }

// Key is the object key for a sanitised name of a user.
func Key(username, safeName string) string { return Prefix(username) + safeName }

// MaxBenchmarkName bounds the benchmark name stored as object metadata.
const MaxBenchmarkName = 128

// SanitizeBenchmark makes a benchmark name safe as an HTTP header value
// (object metadata): the object-name alphabet, cut to MaxBenchmarkName
// bytes. It never refuses: the name is informative, not a path.
func SanitizeBenchmark(name string) string {
	s := replaceUnsafe(name)
	if len(s) > MaxBenchmarkName {
		s = s[:MaxBenchmarkName]
	}
	return s
}
