package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
	"unicode/utf8"
)

// MaxIdentifier is PostgreSQL's identifier length in bytes.
const MaxIdentifier = 63

// Label is a file's stem: its base name without the last extension
// ("runs/12345_0_node01.h5" -> "12345_0_node01").
func Label(name string) string {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}

// JobID is the text before the label's first '_', as the original derives
// it (sh5util's default job_<id>.h5 gives "job").
func JobID(label string) string {
	id, _, _ := strings.Cut(label, "_")
	return id
}

// TableName is the full table name of a file: "job_" + label.
func TableName(label string) string {
	return "job_" + strings.ReplaceAll(label, "/", "_")
}

// Identifier fits a name into PostgreSQL's 63 bytes: names that fit are
// kept; longer ones become a prefix plus a short hash of the whole name, so
// distinct long names stay distinct and the result is deterministic. The
// full name is kept in the catalog. Identifiers are always quoted when
// used, so any characters are safe.
func Identifier(name string) string {
	if len(name) <= MaxIdentifier && !strings.ContainsRune(name, 0) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "_" + hex.EncodeToString(sum[:])[:10]
	keep := MaxIdentifier - len(suffix)
	prefix := strings.ReplaceAll(name, "\x00", "")
	if len(prefix) > keep {
		prefix = prefix[:keep]
	}
	// Do not cut a multi-byte character in half.
	for len(prefix) > 0 && !utf8.ValidString(prefix) {
		prefix = prefix[:len(prefix)-1]
	}
	return prefix + suffix
}
