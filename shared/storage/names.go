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

// MaxSegmentBytes is the longest part of a key between slashes that
// MinIO stores (a file name on its disks: NAME_MAX).
const MaxSegmentBytes = 255

// Key is the object key for a sanitised name of a user. A name longer
// than MaxSegmentBytes is cut into parts of that size joined by '/', so
// that MinIO can store every name S3 allows; shorter names (all that the
// original accepted) keep the key "<user>/<name>".
func Key(username, safeName string) string {
	var b strings.Builder
	b.WriteString(Prefix(username))
	for len(safeName) > MaxSegmentBytes {
		b.WriteString(safeName[:MaxSegmentBytes])
		b.WriteByte('/')
		safeName = safeName[MaxSegmentBytes:]
	}
	b.WriteString(safeName)
	return b.String()
}

// NameOfKey is the sanitised name Key made key from, when key is one of
// the user's keys in that form.
func NameOfKey(username, key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, Prefix(username))
	if !ok {
		return "", false
	}
	name := strings.ReplaceAll(rest, "/", "")
	if safe, err := SanitizeName(name); err != nil || safe != name || Key(username, name) != key {
		return "", false
	}
	return name, true
}

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
