package localstack

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestOpenAPICoversEveryRoute walks every operation of openapi.json
// through the gateway, the way a client would: register, log in, refresh,
// upload a profile (analysed through the bucket notification), list,
// download its Parquet copy, then every results route. call checks each
// exchange against the document; at the end no operation may be left.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := testStack(t)
	base := s.GatewayURL
	expect(t, call(t, "GET", base+"/", nil), 200, "")
	expect(t, call(t, "GET", base+"/api/healthz", nil), 200, "")
	user := "openapi" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000"), ".", ""))
	access, refresh := register(t, base, user, "password-123")
	expect(t, call(t, "POST", base+"/auth/login", map[string]string{"username": user, "password": "password-123"}), 200, "")
	expect(t, call(t, "POST", base+"/api/auth/password?u="+user+"&p=password-123", nil), 200, "")
	r := call(t, "POST", base+"/auth/refresh?rid="+url.QueryEscape(refresh), nil)
	expect(t, r, 200, "")
	expect(t, call(t, "POST", base+"/auth/logout", map[string]string{"refresh": r.Str(t, "refresh")}), 200, "")
	if g := call(t, "GET", base+"/report", nil); g.Status != 200 {
		t.Errorf("GET /report: %d", g.Status)
	}
	auth := []string{"Authorization", "Bearer " + access}

	key := upload(t, s, access, "cov_31337_0_node01.h5", fixture(t, "12345_0_node01.h5"))
	waitRuns(t, key, 1, 2*time.Minute)
	expect(t, call(t, "GET", base+"/storage/list", nil, auth...), 200, "")
	expect(t, call(t, "POST", base+"/minio-event", map[string]string{}, "Authorization", "Bearer wrong"), 401, "")
	expect(t, call(t, "POST", base+"/minio-event", `{"Records": []}`, "Authorization", "Bearer "+token(t, s)), 200, "")

	// The job of the upload, and its Parquet copy in the user's prefix.
	var jobs reply
	deadline := time.Now().Add(time.Minute)
	for {
		jobs = call(t, "GET", base+"/results/jobs", nil, auth...)
		expect(t, jobs, 200, "")
		if strings.Contains(string(jobs.Body), `"job":"31337"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(string(jobs.Body), `"job":"31337"`) || !strings.Contains(string(jobs.Body), `"benchmark":"stream"`) {
		t.Fatalf("jobs: %s", jobs.Body)
	}
	d := call(t, "GET", base+"/api/storage/presign/download?object_name=results/31337/summary.parquet", nil, auth...)
	expect(t, d, 200, "")
	if d.Str(t, "key") != user+"/results/31337/summary.parquet" {
		t.Errorf("download key %s", d.Str(t, "key"))
	}
	if g, err := httpGet(d.Str(t, "url")); err != nil || g != 200 {
		t.Errorf("GET the Parquet copy: %d %v", g, err)
	}
	for _, p := range []string{"/results/jobs/31337", "/api/results/jobs/31337/series?fields=power", "/function/results/jobs/31337/export",
		"/results/jobs/31337/export?format=parquet", "/results/benchmarks", "/results/benchmarks/stream", "/results/compare?jobs=31337", "/openapi.json"} {
		expect(t, call(t, "GET", base+p, nil, auth...), 200, "")
	}
	expect(t, call(t, "GET", base+"/results/jobs/31337", nil), 401, "")

	// The report page, and an upload the way it sends one: the presigned
	// PUT on the gateway's own origin.
	expect(t, call(t, "GET", base+"/api/report", nil), 200, "")
	p := call(t, "POST", base+"/storage/presign/upload?object_name=page.out", nil, auth...)
	expect(t, p, 200, "")
	u, err := url.Parse(p.Str(t, "url"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := []string{"Content-Type", "application/octet-stream"}
	for k, v := range p.JSON(t)["headers"].(map[string]any) {
		hdr = append(hdr, k, v.(string))
	}
	expect(t, call(t, "PUT", base+"/storage/objects"+u.EscapedPath()+"?"+u.RawQuery, "from the page", hdr...), 200, "")
	if m := apiValidator(t).Missing(); len(m) > 0 {
		t.Errorf("operations not exercised: %v", m)
	}
}

// httpGet fetches a URL (a presigned one) and returns its status.
func httpGet(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
