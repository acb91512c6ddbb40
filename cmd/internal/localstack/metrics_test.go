package localstack

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/metrics"
)

// TestMetricsScrape: after an upload that is analysed and one that is
// skipped, the stack's /metrics shows the requests of each function, the
// password hashes, the pool, and the analysis by outcome and phase; the
// gateway does not serve /metrics.
func TestMetricsScrape(t *testing.T) {
	s := testStack(t)
	if s.MetricsURL == "" {
		t.Fatal("the stack serves no metrics")
	}
	ctx := context.Background()
	before, err := metrics.Get(ctx, s.MetricsURL)
	if err != nil {
		t.Fatal(err)
	}
	_, access := newUser(t, s, "me")
	good := upload(t, s, access, "good.h5", fixture(t, "12345_0_node01.h5"))
	bad := upload(t, s, access, "bad.h5", fixture(t, "not_hdf5.h5"))
	waitRuns(t, good, 1, 60*time.Second)
	waitRuns(t, bad, 1, 60*time.Second)
	expect(t, call(t, "GET", s.GatewayURL+"/storage/list", nil, "Authorization", "Bearer "+access), 200, "")

	type series struct {
		name   string
		labels []string
	}
	want := []series{
		{"benchwrap_http_requests_total", []string{"function", "register", "status", "201"}},
		{"benchwrap_http_requests_total", []string{"function", "presign", "method", "POST"}},
		{"benchwrap_http_requests_total", []string{"function", "list", "status", "200"}},
		{"benchwrap_http_requests_total", []string{"function", "analyze", "status", "200"}},
		{"benchwrap_http_request_duration_seconds_count", []string{"function", "analyze"}},
		{"benchwrap_password_hash_duration_seconds_count", nil},
		{"benchwrap_db_pool_acquires_total", []string{"pool", "main"}},
		{"benchwrap_analysis_jobs_total", []string{"outcome", "done"}},
		{"benchwrap_analysis_jobs_total", []string{"outcome", "skipped", "skip_reason", "not_hdf5"}},
		{"benchwrap_analysis_phase_duration_seconds_count", []string{"phase", metrics.PhaseRead}},
		{"benchwrap_analysis_phase_duration_seconds_count", []string{"phase", metrics.PhaseTransform}},
		{"benchwrap_analysis_phase_duration_seconds_count", []string{"phase", metrics.PhaseWrite}},
		{"benchwrap_analysis_phase_bytes_total", []string{"phase", metrics.PhaseRead}},
		{"benchwrap_analysis_phase_rows_total", []string{"phase", metrics.PhaseTransform}},
		{"benchwrap_analysis_phase_rows_total", []string{"phase", metrics.PhaseWrite}},
	}
	// The catalog row is committed a moment before the job is counted.
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err := metrics.Get(ctx, s.MetricsURL)
		if err != nil {
			t.Fatal(err)
		}
		var still []series
		for _, w := range want {
			if after.Sum(w.name, w.labels...) <= before.Sum(w.name, w.labels...) {
				still = append(still, w)
			}
		}
		if len(still) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, w := range still {
				t.Errorf("%s%v did not move", w.name, w.labels)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := call(t, "GET", s.GatewayURL+"/metrics", nil); r.Status != http.StatusNotFound {
		t.Errorf("gateway /metrics: %d, want 404", r.Status)
	}
}
