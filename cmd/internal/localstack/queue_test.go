package localstack

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/benchwrap/backend/testkit/testenv"
)

// deliver posts a notification body to the webhook with the stack's token.
func deliver(t testing.TB, s *Stack, body string) reply {
	t.Helper()
	return call(t, "POST", s.GatewayURL+"/function/analyze", body, "Authorization", "Bearer "+token(t, s))
}

// decision is the webhook's answer for its single record.
func decision(t testing.TB, r reply) map[string]any {
	t.Helper()
	objs, _ := r.JSON(t)["objects"].([]any)
	if len(objs) != 1 {
		t.Fatalf("want one record's outcome: %s", r.Body)
	}
	return objs[0].(map[string]any)
}

func skippedCount(t testing.TB, reason string) int {
	t.Helper()
	var n int
	if err := catalogPool(t).QueryRow(context.Background(), `SELECT count(*) FROM analysis_jobs WHERE status = 'skipped' AND reason LIKE $1`, "%"+reason+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSecurityWebhookClaimsCheckedAgainstMinIO: a webhook-token holder
// forges events about another user's object. Nothing the event claims is
// believed: the bucket must be ours, the object must exist with the
// event's ETag, a replay changes nothing, and a forged high sequencer does
// not make a later genuine upload "superseded".
func TestSecurityWebhookClaimsCheckedAgainstMinIO(t *testing.T) {
	s := testStack(t)
	user, access := newUser(t, s, "vi")
	key := upload(t, s, access, "run.h5", fixture(t, "12352_0_multi_root.h5"))
	first := waitRuns(t, key, 1, 60*time.Second)[0]

	// Another bucket: refused, recorded, 2xx.
	before := skippedCount(t, "not the configured bucket")
	r := deliver(t, s, event("someone-elses-bucket", key, first.ETag, "1"))
	expect(t, r, 200, "")
	if d := decision(t, r); d["status"] != "skipped" || d["reason"] != "not the configured bucket" {
		t.Fatalf("wrong bucket: %s", r.Body)
	}
	if skippedCount(t, "not the configured bucket") != before+1 {
		t.Error("wrong-bucket event not recorded")
	}

	// A forged ETag for a real object: not the stored version, nothing runs.
	r = deliver(t, s, event(bucket.Name, key, "0123456789abcdef0123456789abcdef", "2"))
	expect(t, r, 200, "")
	if d := decision(t, r); d["status"] != "superseded" {
		t.Fatalf("forged ETag: %s", r.Body)
	}

	// An object that does not exist.
	r = deliver(t, s, event(bucket.Name, user+"/ghost.h5", "abc", "3"))
	expect(t, r, 200, "")
	if d := decision(t, r); d["status"] != "skipped" || d["reason"] != "object does not exist" {
		t.Fatalf("missing object: %s", r.Body)
	}

	// A replay of the analysed version: a no-op.
	r = deliver(t, s, event(bucket.Name, key, first.ETag, "4"))
	expect(t, r, 200, "")
	if d := decision(t, r); d["status"] != "analysed" || d["reason"] != "already recorded" {
		t.Fatalf("replay: %s", r.Body)
	}

	// A malformed sequencer is refused; a forged high one orders nothing.
	r = deliver(t, s, event(bucket.Name, key, first.ETag, "zz-not-hex"))
	expect(t, r, 200, "")
	if d := decision(t, r); d["status"] != "skipped" || !strings.Contains(d["reason"].(string), "malformed sequencer") {
		t.Fatalf("malformed sequencer: %s", r.Body)
	}
	r = deliver(t, s, event(bucket.Name, key, first.ETag, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"))
	expect(t, r, 200, "")
	upload(t, s, access, "run.h5", fixture(t, "9799476_batch_c0103.h5"))
	all := waitRuns(t, key, 2, 60*time.Second)
	if len(all) != 2 || all[1].Status != "done" || all[1].ETag == first.ETag {
		t.Fatalf("genuine upload after a forged high sequencer: %+v", all)
	}
	expectTable(t, user, "job_run", "real__9799476_batch_c0103.h5.csv")
}

// TestSecurityWebhookPermanentErrorsAre2xx: records that can never succeed
// are answered 2xx with the skip recorded (a 5xx would make MinIO retry
// them forever and block every event behind them).
func TestSecurityWebhookPermanentErrorsAre2xx(t *testing.T) {
	s := testStack(t)
	user := testenv.Name("pe")[:12]
	register(t, s.GatewayURL, user, "password-123")
	for _, c := range []struct {
		name, body, reason string
	}{
		{"traversal", event(bucket.Name, user+"/../victim/x.h5", "e", "1"), "key contains .."},
		{"NUL", `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"` + bucket.Name + `"},"object":{"key":"` + user + `%2Fa%00b.h5"}}}]}`, "key contains NUL"},
		{"long key", event(bucket.Name, user+"/"+strings.Repeat("k", 1100)+".h5", "e", "1"), "key longer than 1024 bytes"},
		{"not .h5", event(bucket.Name, user+"/notes.txt", "e", "1"), "not an .h5 key"},
		{"wrong bucket", event("elsewhere", user+"/x.h5", "e", "1"), "not the configured bucket"},
		{"no key", `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"` + bucket.Name + `"},"object":{}}}]}`, "no bucket or key"},
		{"malformed record", `{"Records":[5]}`, "malformed"},
		{"undecodable key", `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"` + bucket.Name + `"},"object":{"key":"` + url.PathEscape(user) + `%zz.h5"}}}]}`, "does not URL-decode"},
	} {
		before := skippedCount(t, c.reason)
		r := deliver(t, s, c.body)
		if r.Status != 200 {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			continue
		}
		if d := decision(t, r); d["status"] != "skipped" || !strings.Contains(fmt.Sprint(d["reason"]), c.reason) {
			t.Errorf("%s: %s", c.name, r.Body)
		}
		if skippedCount(t, c.reason) != before+1 {
			t.Errorf("%s: skip not recorded", c.name)
		}
	}
}

// TestQueueDeliveriesWhileLogins: 50 simultaneous webhook deliveries while
// 100 logins run (4 clients): no pool deadlock (everything answers), every
// login succeeds, and each upload is analysed exactly once.
func TestQueueDeliveriesWhileLogins(t *testing.T) {
	s := testStack(t)
	const users = 5
	var names []string
	var keys []string
	for i := range users {
		name := testenv.Name(fmt.Sprintf("dl%d", i))[:12]
		access, _ := register(t, s.GatewayURL, name, "password-123")
		names = append(names, name)
		keys = append(keys, upload(t, s, access, "burst.h5", fixture(t, "12345_batch_node01.h5")))
	}
	etags := map[string]string{}
	for _, k := range keys {
		info, err := bucket.Root(t).StatObject(context.Background(), bucket.Name, k, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		etags[k] = info.ETag
	}
	var wg sync.WaitGroup
	errs := make(chan string, 150)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := keys[i%len(keys)]
			if r := deliver(t, s, event(bucket.Name, k, etags[k], "1")); r.Status != 200 {
				errs <- fmt.Sprintf("delivery %d: %d %s", i, r.Status, r.Body)
			}
		}()
	}
	// 100 logins, 4 clients at a time (the login function sheds load
	// beyond its hashing slots with 503 on its own, whatever else runs).
	logins := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range logins {
				r := call(t, "POST", s.GatewayURL+"/auth/login", map[string]string{"username": names[i%users], "password": "password-123"})
				if r.Status != 200 {
					errs <- fmt.Sprintf("login %d: %d %s", i, r.Status, r.Body)
				}
			}
		}()
	}
	go func() {
		for i := range 100 {
			logins <- i
		}
		close(logins)
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("deliveries and logins still running after 45 s: deadlock")
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, k := range keys {
		waitRuns(t, k, 1, 60*time.Second)
		if r := runs(t, k); len(r) != 1 || r[0].Status != "done" {
			t.Errorf("%s: %+v", k, r)
		}
	}
}
