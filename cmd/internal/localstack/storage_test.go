package localstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	miniostore "github.com/benchwrap/backend/shared/minio"
	"github.com/benchwrap/backend/shared/storage"
	"github.com/benchwrap/backend/testkit/testenv"
)

// put sends a body to a presigned URL the way the benchwrap client does:
// the returned headers first, then its own Content-Type guess.
func put(t *testing.T, presigned reply, body []byte, contentType string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("PUT", presigned.Str(t, "url"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	headers, ok := presigned.JSON(t)["headers"].(map[string]any)
	if !ok {
		t.Fatalf("headers is not an object: %s", presigned.Body)
	}
	for k, v := range headers {
		req.Header.Set(k, v.(string))
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestUploadDownloadList(t *testing.T) {
	s := testStack(t)
	user, access := newUser(t, s, "up")
	auth := []string{"Authorization", "Bearer " + access}

	for i, c := range []struct {
		prefix, contentType string
		body                []byte
	}{
		{"root", "application/x-hdf5", []byte("\x89HDF\r\n\x1a\nprofile bytes")},
		{"api", "application/octet-stream", bytes.Repeat([]byte{0, 1, 2, 255}, 4096)},
		{"function", "", []byte("no content type")},
		{"root", "application/x-hdf5", nil}, // zero bytes
	} {
		name := fmt.Sprintf("job_%d/slurm %d.h5", i, i)
		key := user + "/" + strings.NewReplacer("/", "_", " ", "_").Replace(name)
		q := "?" + url.Values{"object_name": {name}, "benchmark_name": {"stream triad"}}.Encode()
		p := call(t, "POST", routeURL(s.GatewayURL, c.prefix, "/storage/presign/upload", "presign")+q, nil, auth...)
		expect(t, p, 200, "")
		m := p.JSON(t)
		if m["key"] != key || m["expires_in"] != "600" {
			t.Fatalf("presign answer %s", p.Body)
		}
		if exp, err := time.Parse(time.RFC3339, m["expires_at"].(string)); err != nil || time.Until(exp) < 590*time.Second || time.Until(exp) > 601*time.Second {
			t.Errorf("expires_at %v (%v)", m["expires_at"], err)
		}
		if h := m["headers"].(map[string]any); h["x-amz-meta-benchmark-name"] != "stream_triad" {
			t.Errorf("headers %v", h)
		}
		if resp := put(t, p, c.body, c.contentType); resp.StatusCode != 200 {
			t.Fatalf("PUT with content type %q: %s", c.contentType, resp.Status)
		}
		d := call(t, "GET", routeURL(s.GatewayURL, c.prefix, "/storage/presign/download", "presign")+"?object_name="+url.QueryEscape(name), nil, auth...)
		expect(t, d, 200, "")
		if h, ok := d.JSON(t)["headers"].(map[string]any); !ok || len(h) != 0 {
			t.Errorf("download headers %s", d.Body)
		}
		status, got := get(t, d.Str(t, "url"))
		if status != 200 || !bytes.Equal(got, c.body) {
			t.Fatalf("GET returned %d and %d bytes, want %d", status, len(got), len(c.body))
		}
		info, err := bucket.Client(t).StatObject(context.Background(), bucket.Name, key, minio.StatObjectOptions{})
		if err != nil || info.UserMetadata["Benchmark-Name"] != "stream_triad" {
			t.Errorf("stored metadata %v (%v)", info.UserMetadata, err)
		}
	}

	l := call(t, "GET", s.GatewayURL+"/api/storage/list", nil, auth...)
	expect(t, l, 200, "")
	objs := l.JSON(t)["objects"].([]any)
	if len(objs) != 4 {
		t.Fatalf("list: %s", l.Body)
	}
	sizes := map[string]float64{}
	for _, o := range objs {
		o := o.(map[string]any)
		sizes[o["key"].(string)] = o["size"].(float64)
		if _, err := time.Parse("2006-01-02T15:04:05.999999-07:00", o["last_modified"].(string)); err != nil {
			t.Errorf("last_modified %v: %v", o["last_modified"], err)
		}
	}
	if sizes[user+"/job_3_slurm_3.h5"] != 0 || sizes[user+"/job_1_slurm_1.h5"] != 16384 {
		t.Errorf("sizes %v", sizes)
	}

	// Pagination: two pages of two, then the end.
	seen := []string{}
	after := ""
	for page := 0; page < 3; page++ {
		r := call(t, "GET", s.GatewayURL+"/function/list?limit=2&after="+url.QueryEscape(after), nil, auth...)
		expect(t, r, 200, "")
		m := r.JSON(t)
		for _, o := range m["objects"].([]any) {
			seen = append(seen, o.(map[string]any)["key"].(string))
		}
		next, _ := m["next"].(string)
		if page == 0 && next == "" || page == 1 && next != "" {
			t.Fatalf("page %d next=%q", page, next)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != 4 {
		t.Errorf("paged through %v", seen)
	}
	expect(t, call(t, "GET", s.GatewayURL+"/storage/list?limit=1001", nil, auth...), 400, "")
	expect(t, call(t, "GET", s.GatewayURL+"/storage/list?after=someone-else/x", nil, auth...), 400, "")
}

func TestStorageAuthAndNames(t *testing.T) {
	s := testStack(t)
	access, _ := register(t, s.GatewayURL, testenv.Name("nm")[:12], "password-123")
	for _, prefix := range []string{"root", "api", "function"} {
		up := routeURL(s.GatewayURL, prefix, "/storage/presign/upload", "presign")
		list := routeURL(s.GatewayURL, prefix, "/storage/list", "list")
		expect(t, call(t, "POST", up+"?object_name=x", nil), 401, "Missing Authorization header.")
		expect(t, call(t, "POST", up, nil), 401, "Missing Authorization header.") // auth before 422
		expect(t, call(t, "POST", up+"?object_name=x", nil, "Authorization", "Bearer"), 401, "Malformed Authorization header.")
		expect(t, call(t, "POST", up+"?object_name=x", nil, "Authorization", "Basic a b"), 401, "Unsupported authorization scheme.")
		expect(t, call(t, "POST", up+"?object_name=x", nil, "Authorization", "Bearer "+access+"x"), 401, "Invalid or expired token.")
		expect(t, call(t, "GET", list, nil, "Authorization", "Bearer nope"), 401, "Invalid or expired token.")
		expect(t, call(t, "POST", up, nil, "Authorization", "Bearer "+access), 422, "")
		expect(t, call(t, "POST", up+"?object_name=..", nil, "Authorization", "Bearer "+access), 400, "Invalid object name.")
		expect(t, call(t, "POST", up+"?object_name=", nil, "Authorization", "Bearer "+access), 400, "Invalid object name.")
		expect(t, call(t, "DELETE", list, nil, "Authorization", "Bearer "+access), 405, "Method Not Allowed")
	}
}

func TestUsersCannotReachEachOther(t *testing.T) {
	s := testStack(t)
	alice, bob := testenv.Name("al")[:12], testenv.Name("bo")[:12]
	aTok, _ := register(t, s.GatewayURL, alice, "password-123")
	bTok, _ := register(t, s.GatewayURL, bob, "password-123")
	p := call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name=secret.h5", nil, "Authorization", "Bearer "+bTok)
	if resp := put(t, p, []byte("bob's data"), ""); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	for _, name := range []string{
		"../" + bob + "/secret.h5", bob + "/secret.h5", bob + "%2Fsecret.h5", "%2F" + bob + "%2Fsecret.h5",
		"/" + bob + "/secret.h5", "/etc/passwd", strings.Repeat("a/", 512), "日本/" + bob + "/ü.h5", "..%2f" + bob,
		"\x00" + bob + "/secret.h5", bob + "\\secret.h5",
	} {
		for _, method := range []string{"POST", "GET"} {
			r := call(t, method, s.GatewayURL+"/storage/presign/download?object_name="+url.QueryEscape(name), nil, "Authorization", "Bearer "+aTok)
			if method == "POST" {
				r = call(t, method, s.GatewayURL+"/storage/presign/upload?object_name="+url.QueryEscape(name), nil, "Authorization", "Bearer "+aTok)
			}
			// A download under another user's prefix is refused (403);
			// any other name stays inside the caller's prefix.
			if r.Status == 400 || method == "GET" && r.Status == 403 {
				continue
			}
			expect(t, r, 200, "")
			key := r.Str(t, "key")
			if !strings.HasPrefix(key, alice+"/") || strings.Count(key, "/") != 1 {
				t.Errorf("name %q gave key %q outside %s/", name, key, alice)
			}
			if method == "GET" {
				if status, body := get(t, r.Str(t, "url")); status == 200 && string(body) == "bob's data" {
					t.Errorf("name %q read bob's object", name)
				}
			}
		}
	}
	l := call(t, "GET", s.GatewayURL+"/storage/list", nil, "Authorization", "Bearer "+aTok)
	expect(t, l, 200, "")
	for _, o := range l.JSON(t)["objects"].([]any) {
		if k := o.(map[string]any)["key"].(string); !strings.HasPrefix(k, alice+"/") {
			t.Errorf("alice's list shows %q", k)
		}
	}
}

func TestFunctionUserIsLimitedToItsBucket(t *testing.T) {
	testStack(t)
	ctx := context.Background()
	other := testenv.Name("other-")
	root := bucket.Root(t)
	if err := root.MakeBucket(ctx, other, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutObject(ctx, other, "x", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	fn := bucket.Client(t)
	if _, err := fn.PutObject(ctx, other, "y", strings.NewReader("y"), 1, minio.PutObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("put into another bucket: %v", err)
	}
	if _, err := fn.StatObject(ctx, other, "x", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Errorf("stat in another bucket: %v", err)
	}
	for o := range fn.ListObjects(ctx, other, minio.ListObjectsOptions{}) {
		if minio.ToErrorResponse(o.Err).Code != "AccessDenied" {
			t.Errorf("list another bucket: %+v", o)
		}
	}
	buckets, _ := fn.ListBuckets(ctx)
	for _, b := range buckets {
		if b.Name != bucket.Name {
			t.Errorf("function user sees bucket %s", b.Name)
		}
	}
}

func TestTamperedAndExpiredURLs(t *testing.T) {
	testStack(t)
	store, err := miniostore.New(miniostore.Config{Endpoint: bucket.Endpoint, Bucket: bucket.Name, AccessKey: bucket.AccessKey, SecretKey: bucket.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := bucket.Client(t).PutObject(ctx, bucket.Name, "alice/t.h5", strings.NewReader("data"), 4, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := storage.NewService(store, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := svc.PresignDownload(ctx, "alice", "t.h5")
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, d.URL); status != 200 {
		t.Fatalf("fresh URL: %d", status)
	}
	for _, tampered := range []string{
		strings.Replace(d.URL, "alice/t.h5", "alice/u.h5", 1),
		strings.Replace(d.URL, "X-Amz-Expires=1", "X-Amz-Expires=9", 1),
		d.URL[:len(d.URL)-1] + map[bool]string{true: "0", false: "1"}[d.URL[len(d.URL)-1] != '0'],
	} {
		if status, _ := get(t, tampered); status != 403 {
			t.Errorf("tampered URL answered %d", status)
		}
	}
	u, err := svc.PresignUpload(ctx, "alice", "t.h5", storage.UploadOptions{Benchmark: "bench", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", u.URL, strings.NewReader("evil"))
	// Without the signed metadata header the PUT is refused and the
	// object is unchanged.
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode < 400 {
		t.Errorf("PUT without signed header: %v %v", resp.Status, err)
	}
	if status, body := get(t, d.URL); status != 200 || string(body) != "data" {
		t.Errorf("object changed: %d %q", status, body)
	}
	time.Sleep(2100 * time.Millisecond)
	if status, _ := get(t, d.URL); status != 403 {
		t.Errorf("expired URL answered %d", status)
	}
}
