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

// Parse decodes a notification body. A body that is not a JSON object with
// a Records array is ErrNotNotification. Records that cannot be used (no
// bucket or key, a key that does not URL-decode) are returned in bad with
// the reason, so they can be acknowledged and recorded.
func Parse(body []byte) (events []Event, bad []string, err error) {
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
			bad = append(bad, fmt.Sprintf("record %d: %v", i, err))
			continue
		}
		if r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
			bad = append(bad, fmt.Sprintf("record %d: no bucket or key", i))
			continue
		}
		// Keys arrive URL-encoded ("alice%2Frun.h5", spaces as '+').
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			bad = append(bad, fmt.Sprintf("record %d: key %q: %v", i, r.S3.Object.Key, err))
			continue
		}
		var size int64
		if len(r.S3.Object.Size) > 0 {
			_ = json.Unmarshal(r.S3.Object.Size, &size)
		}
		events = append(events, Event{
			Name: r.EventName, Bucket: r.S3.Bucket.Name, Key: key,
			ETag: strings.Trim(r.S3.Object.ETag, `"`), Size: size, Sequencer: r.S3.Object.Sequencer,
		})
	}
	return events, bad, nil
}

// Newer reports whether sequencer a comes after b. MinIO's sequencers are
// hexadecimal numbers; shorter ones are padded for the comparison.
func Newer(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) < len(b) {
		a = strings.Repeat("0", len(b)-len(a)) + a
	} else if len(b) < len(a) {
		b = strings.Repeat("0", len(a)-len(b)) + b
	}
	return a > b
}
