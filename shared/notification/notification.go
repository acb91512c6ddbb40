// Package notification reads S3/MinIO bucket notifications: which objects
// were created, with the fields the analysis needs to be idempotent and to
// respect event order.
package notification

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Event is one record of a notification, decoded.
type Event struct {
	Name      string // e.g. s3:ObjectCreated:Put
	Bucket    string
	Key       string // URL-decoded
	ETag      string // without quotes
	Size      int64
	Sequencer string
}

// Created reports an object-creation event.
func (e Event) Created() bool { return strings.HasPrefix(e.Name, "s3:ObjectCreated:") }

// IsProfile reports an object the analysis takes: an HDF5 profile.
func (e Event) IsProfile() bool { return strings.HasSuffix(e.Key, ".h5") }

type record struct {
	EventName string `json:"eventName"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string          `json:"key"`
			Size      json.RawMessage `json:"size"`
			ETag      string          `json:"eTag"`
			Sequencer string          `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// ErrNotNotification means the body is not a bucket notification at all.
var ErrNotNotification = errors.New("not a bucket notification")

// Rejected is a record that cannot be used, with what could be read of
// it, so it can be acknowledged and recorded.
type Rejected struct {
	Bucket, Key, ETag string
	Reason            string
}

// MaxKeyBytes is S3's limit on object keys.
const MaxKeyBytes = 1024

// Parse decodes a notification body. A body that is not a JSON object with
// a Records array is ErrNotNotification. Records that cannot be used (no
// bucket or key, a key that does not URL-decode, a malformed sequencer) are
// returned in bad with the reason.
func Parse(body []byte) (events []Event, bad []Rejected, err error) {
	var n struct {
		Records *[]json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotNotification, err)
	}
	if n.Records == nil {
		return nil, nil, fmt.Errorf("%w: no Records", ErrNotNotification)
	}
	for i, raw := range *n.Records {
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			bad = append(bad, Rejected{Reason: fmt.Sprintf("record %d: malformed: %v", i, err)})
			continue
		}
		rej := Rejected{Bucket: r.S3.Bucket.Name, Key: r.S3.Object.Key, ETag: strings.Trim(r.S3.Object.ETag, `"`)}
		if r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
			rej.Reason = fmt.Sprintf("record %d: no bucket or key", i)
			bad = append(bad, rej)
			continue
		}
		// Keys arrive URL-encoded ("alice%2Frun.h5", spaces as '+').
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			rej.Reason = fmt.Sprintf("record %d: key does not URL-decode", i)
			bad = append(bad, rej)
			continue
		}
		rej.Key = key
		if !ValidSequencer(r.S3.Object.Sequencer) {
			rej.Reason = fmt.Sprintf("record %d: malformed sequencer", i)
			bad = append(bad, rej)
			continue
		}
		var size int64
		if len(r.S3.Object.Size) > 0 {
			_ = json.Unmarshal(r.S3.Object.Size, &size)
		}
		events = append(events, Event{
			Name: r.EventName, Bucket: r.S3.Bucket.Name, Key: key,
			ETag: rej.ETag, Size: size, Sequencer: r.S3.Object.Sequencer,
		})
	}
	return events, bad, nil
}

// ValidSequencer accepts an absent sequencer or 1 to 32 hex digits. The
// sequencer is a string the caller controls: it is checked, recorded, and
// never used to order uploads (the object store's own ETag and
// modification time are).
func ValidSequencer(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// KeyProblem says why a key cannot be a profile to analyse ("" when it
// can): traversal, NUL, over S3's length, not an .h5 name.
func KeyProblem(key string) string {
	switch {
	case len(key) > MaxKeyBytes:
		return "key longer than 1024 bytes"
	case strings.ContainsRune(key, 0):
		return "key contains NUL"
	case strings.Contains(key, ".."):
		return "key contains .."
	case !strings.HasSuffix(key, ".h5"):
		return "not an .h5 key"
	}
	return ""
}
