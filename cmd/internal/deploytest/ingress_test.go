package deploytest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/routes"
)

// The function that answers the original builtins, and its reserved paths
// (template/*/main.go).
const (
	builtinFunction = "list"
	helloPath       = "/hello"
	healthPath      = "/readyz" // the original's /healthz checked its dependencies: readiness
)

func loadIngresses(t *testing.T) []Ingress {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ings, err := ParseIngresses(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ings) == 0 {
		t.Fatal("deploy/ingress.yaml holds no Ingress")
	}
	return ings
}

func loadRouter(t *testing.T) *Router {
	t.Helper()
	r, err := NewRouter(loadIngresses(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// upstream is where the gateway must receive a request that the local
// gateway (shared/routes) resolves to target.
func upstream(t *testing.T, p string, target routes.Target) string {
	t.Helper()
	switch {
	case target.Builtin == routes.Hello:
		return "/function/" + builtinFunction + helloPath
	case target.Builtin == routes.Health:
		return "/function/" + builtinFunction + healthPath
	case strings.Contains(p, "/function/"):
		// The OpenFaaS path passes through, without /api.
		return strings.TrimPrefix(p, routes.APIPrefix)
	case isPrefixRoute(p):
		// The function routes the path itself: it gets all of it.
		return "/function/" + target.Function + strings.TrimPrefix(p, routes.APIPrefix)
	case target.Function != "":
		return "/function/" + target.Function
	}
	t.Fatalf("%s: no target", p)
	return ""
}

func isPrefixRoute(p string) bool {
	p = strings.TrimPrefix(p, routes.APIPrefix)
	for _, r := range routes.Prefixes {
		if p == r.Path || strings.HasPrefix(p, r.Path+"/") {
			return true
		}
	}
	for _, r := range routes.Whole {
		if p == r.Path {
			return true
		}
	}
	return false
}

// TestIngressMapsEveryRoute: every route the local gateway answers, at /
// and under /api, reaches the same function through the Ingress, with
// its query string.
func TestIngressMapsEveryRoute(t *testing.T) {
	r := loadRouter(t)
	type req struct{ method, path string }
	var reqs []req
	for _, prefix := range []string{"", routes.APIPrefix} {
		for _, l := range routes.Legacy {
			reqs = append(reqs, req{l.Method, prefix + l.Path})
		}
		for _, r := range routes.Prefixes {
			reqs = append(reqs, req{r.Method, prefix + r.Path}, req{r.Method, prefix + r.Path + "/a/b"})
		}
		for _, r := range routes.Whole {
			reqs = append(reqs, req{r.Method, prefix + r.Path})
		}
		reqs = append(reqs, req{http.MethodGet, prefix + "/"}, req{http.MethodGet, prefix + "/healthz"})
		for _, f := range routes.Functions {
			reqs = append(reqs, req{http.MethodPost, prefix + "/function/" + f}, req{http.MethodPost, prefix + "/function/" + f + "/"}, req{http.MethodGet, prefix + "/function/" + f + "/a/b"})
		}
	}
	reqs = append(reqs, req{http.MethodGet, routes.APIPrefix})
	for _, q := range reqs {
		target, status := routes.Resolve(q.method, q.path)
		if status != http.StatusOK {
			t.Fatalf("%s %s: the local gateway answers %d", q.method, q.path, status)
		}
		want := upstream(t, q.path, target)
		for _, query := range []string{"", "?u=alice&p=pass%26word", "?object_name=a.h5&benchmark_name=x"} {
			got, ok := r.Route(q.path + query)
			if !ok {
				t.Errorf("%s%s: no Ingress path matches", q.path, query)
				continue
			}
			if got.URI != want+query {
				t.Errorf("%s%s -> %s (ingress %s), want %s", q.path, query, got.URI, got.Ingress, want+query)
			}
			if got.Backend != "gateway:8080" {
				t.Errorf("%s: backend %s", q.path, got.Backend)
			}
		}
	}
}

// The table the issue asks for, spelled out.
func TestIngressTable(t *testing.T) {
	r := loadRouter(t)
	for in, want := range map[string]string{
		"/":                                    "/function/list/hello",
		"/api/":                                "/function/list/hello",
		"/api":                                 "/function/list/hello",
		"/healthz":                             "/function/list/readyz",
		"/api/healthz":                         "/function/list/readyz",
		"/auth/register":                       "/function/register",
		"/api/auth/register":                   "/function/register",
		"/auth/login":                          "/function/login",
		"/api/auth/password?u=alice&p=secret1": "/function/login?u=alice&p=secret1",
		"/api/auth/refresh?rid=abc":            "/function/refresh?rid=abc",
		"/auth/logout":                         "/function/logout",
		"/api/auth/logout?rid=abc":             "/function/logout?rid=abc",
		"/storage/presign/upload?object_name=run.h5&benchmark_name=hpl": "/function/presign?object_name=run.h5&benchmark_name=hpl",
		"/api/storage/presign/download?object_name=run.h5":              "/function/presign?object_name=run.h5",
		"/api/storage/list?limit=10&after=alice/a.h5":                   "/function/list?limit=10&after=alice/a.h5",
		"/minio-event":                          "/function/analyze",
		"/api/minio-event":                      "/function/analyze",
		"/function/analyze":                     "/function/analyze",
		"/api/function/list/healthz":            "/function/list/healthz",
		"/results/jobs?limit=5":                 "/function/results/results/jobs?limit=5",
		"/api/results/jobs/123/series?points=9": "/function/results/results/jobs/123/series?points=9",
		"/api/openapi.json":                     "/function/results/openapi.json",
		"//api//auth/register":                  "/function/register",
		"/api/storage/../auth/login":            "/function/login",
		"/AUTH/Register":                        "/function/register", // nginx's ~* is case-insensitive
		"/api/auth/%72egister":                  "/function/register",
		"/function/register/../login?u=a&p=b1":  "/function/login?u=a&p=b1",
	} {
		got, ok := r.Route(in)
		if !ok || got.URI != want {
			t.Errorf("%s -> %q (%v), want %s", in, got.URI, ok, want)
		}
	}
}

// TestIngressRejectsUnknownPaths: what the local gateway does not know
// (404) stays unmapped, and the gateway's own API is not exposed.
func TestIngressRejectsUnknownPaths(t *testing.T) {
	r := loadRouter(t)
	for _, p := range []string{
		"/auth", "/auth/", "/auth/register/", "/auth/registerx", "/auth/register/x", "/xauth/register",
		"/auth/token", "/api/api/auth/login", "/apix/auth/login", "/api2/", "/api/x", "/x/api/",
		"/storage", "/storage/", "/storage/presign", "/storage/presign/", "/storage/presign/delete",
		"/storage/list/", "/storage/listing", "/minio-events", "/minio-event/", "/healthz/", "/healthzz",
		"/hello", "/livez", "/function", "/function/", "/function/other", "/function/listx",
		"/function/list/../../system/functions", "/system/functions", "/system/info", "/api/system/functions",
		"/ui/", "/metrics", "/healthz/../system/info", "/%2e%2e/system/functions",
	} {
		if got, ok := r.Route(p); ok {
			t.Errorf("%s -> %s (ingress %s), want no match", p, got.URI, got.Ingress)
		}
		if _, status := routes.Resolve(http.MethodGet, normalize(p)); status != http.StatusNotFound {
			t.Errorf("%s: the local gateway answers %d; the table above is out of date", p, status)
		}
	}
}

// TestIngressObjects: each Ingress is a regex Ingress of the nginx class
// in the gateway's namespace, sending to the gateway, and rewrites onto a
// function path.
func TestIngressObjects(t *testing.T) {
	names := map[string]bool{}
	for _, ing := range loadIngresses(t) {
		m := ing.Metadata
		if names[m.Name] {
			t.Errorf("duplicate Ingress %s", m.Name)
		}
		names[m.Name] = true
		if ing.APIVersion != "networking.k8s.io/v1" || m.Namespace != "openfaas" || ing.Spec.IngressClassName != "nginx" {
			t.Errorf("%s: %s in %q, class %q", m.Name, ing.APIVersion, m.Namespace, ing.Spec.IngressClassName)
		}
		if tgt := m.Annotations[annRewriteTarget]; !strings.HasPrefix(tgt, "/function/") {
			t.Errorf("%s: rewrite-target %q is not a function path", m.Name, tgt)
		}
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				if p.PathType != "ImplementationSpecific" || p.Backend.Service.Name != "gateway" || p.Backend.Service.Port.Number != 8080 {
					t.Errorf("%s %s: pathType %s, backend %+v", m.Name, p.Path, p.PathType, p.Backend)
				}
				if !strings.HasPrefix(p.Path, "/") || !strings.HasSuffix(p.Path, "$") {
					t.Errorf("%s: path %q must start with / and end with $", m.Name, p.Path)
				}
			}
		}
	}
}

func TestRouterModel(t *testing.T) {
	var a, b Ingress
	a.Metadata.Name, b.Metadata.Name = "short", "long"
	a.Metadata.Annotations = map[string]string{annUseRegex: "true", annRewriteTarget: "/a/$2"}
	b.Metadata.Annotations = map[string]string{annUseRegex: "true", annRewriteTarget: "/b$1"}
	a.Spec.Rules, b.Spec.Rules = make([]IngressRule, 1), make([]IngressRule, 1)
	a.Spec.Rules[0].HTTP.Paths = []IngressPath{{Path: "/x(/|$)(.*)"}}
	b.Spec.Rules[0].HTTP.Paths = []IngressPath{{Path: "/x/longer(/.*)?$"}}
	r, err := NewRouter([]Ingress{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/x":           "/a/",
		"/x/y?q=1":     "/a/y?q=1",
		"/x/longer/z":  "/b/z", // longest path first, whatever the order in the file
		"/X/Longer":    "/b",
		"/x/longerzz":  "/a/longerzz",
		"/y/x/longer/": "",
	} {
		got, ok := r.Route(in)
		if got.URI != want || ok != (want != "") {
			t.Errorf("%s -> %q %v, want %q", in, got.URI, ok, want)
		}
	}
	a.Metadata.Annotations[annUseRegex] = "false"
	if _, err := NewRouter([]Ingress{a}); err == nil {
		t.Error("an Ingress without use-regex was accepted")
	}
}
