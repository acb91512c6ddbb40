package deploytest

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/metrics"
	"github.com/benchwrap/backend/shared/results"
	"github.com/benchwrap/backend/shared/routes"
)

// The templates: pure Go, and cgo (libhdf5) for analyze.
const (
	goTemplate  = "benchwrap-go"
	cgoTemplate = "benchwrap-go-cgo"
)

func loadStack(t *testing.T) (string, *Stack) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	st, err := LoadStack(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, st
}

func readFile(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var imageRef = regexp.MustCompile(`^\$\{REGISTRY:-[^}]+\}/benchwrap-([a-z]+):\$\{TAG:-[^}]+\}$`)

func TestStackFunctions(t *testing.T) {
	root, st := loadStack(t)
	if st.Version != "1.0" || st.Provider.Name != "openfaas" {
		t.Errorf("version %q provider %q", st.Version, st.Provider.Name)
	}
	if !slices.Contains(st.Configuration.Copy, "./shared") {
		t.Errorf("configuration.copy %v: the build contexts need ./shared", st.Configuration.Copy)
	}
	if got := slices.Sorted(maps.Keys(st.Functions)); !slices.Equal(got, slices.Sorted(slices.Values(routes.Functions))) {
		t.Fatalf("stack.yml declares %v, shared/routes knows %v", got, routes.Functions)
	}
	for name, f := range st.Functions {
		if f.Handler != "./functions/"+name {
			t.Errorf("%s: handler %q", name, f.Handler)
		}
		if m := imageRef.FindStringSubmatch(f.Image); m == nil || m[1] != name {
			t.Errorf("%s: image %q is not ${REGISTRY:-...}/benchwrap-%s:${TAG:-...}", name, f.Image, name)
		}
		want := goTemplate
		if name == "analyze" {
			want = cgoTemplate
		}
		if f.Lang != want {
			t.Errorf("%s: lang %q, want %q", name, f.Lang, want)
		}
		tpl, err := LoadTemplate(root, f.Lang)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if tpl.Language != f.Lang {
			t.Errorf("template/%s/template.yml says language %q", f.Lang, tpl.Language)
		}
		for _, k := range []string{"memory", "cpu"} {
			if f.Limits[k] == "" || f.Requests[k] == "" {
				t.Errorf("%s: limits %v requests %v: %s missing", name, f.Limits, f.Requests, k)
			}
		}
		lo, err1 := strconv.Atoi(f.Labels["com.openfaas.scale.min"])
		hi, err2 := strconv.Atoi(f.Labels["com.openfaas.scale.max"])
		if err1 != nil || err2 != nil || lo < 1 || lo > hi {
			t.Errorf("%s: labels %v: want 1 <= scale.min <= scale.max", name, f.Labels)
		}
	}
}

// secretless functions need no secret: the report page is static, and
// the browser calls the API with its own tokens.
var secretless = map[string]bool{"report": true}

func TestStackSecrets(t *testing.T) {
	_, st := loadStack(t)
	known := []string{config.SecretJWT, config.SecretDatabaseURL, config.SecretMinIOAccess, config.SecretMinIOSecret, config.SecretWebhookToken}
	for name, f := range st.Functions {
		if len(f.Secrets) == 0 && !secretless[name] {
			t.Errorf("%s: no secrets", name)
		}
		if len(f.Secrets) > 0 && secretless[name] {
			t.Errorf("%s: secrets %v, but it is meant to run without any", name, f.Secrets)
		}
		seen := map[string]bool{}
		for _, s := range f.Secrets {
			if !slices.Contains(known, s) || seen[s] {
				t.Errorf("%s: secret %q unknown to shared/config or repeated", name, s)
			}
			seen[s] = true
		}
	}
	// The function behind the Ingress's /healthz checks every dependency.
	for _, s := range known[1:4] {
		if !slices.Contains(st.Functions[builtinFunction].Secrets, s) {
			t.Errorf("%s answers /healthz but lacks %s", builtinFunction, s)
		}
	}
}

// metricsPort is the port of METRICS_ADDR's default.
var metricsPort = strings.TrimPrefix(metrics.DefaultAddr, ":")

// watchdogEnv are the of-watchdog's settings stack.yml may set.
var watchdogEnv = []string{"read_timeout", "write_timeout", "exec_timeout", "max_inflight", "healthcheck_interval"}

// TestStackEnvironment: every variable is a setting some code reads, the
// settings decode, and the timeouts fit the work: seconds for the light
// functions, minutes for analyze, the write timeout above exec's.
func TestStackEnvironment(t *testing.T) {
	_, st := loadStack(t)
	known := slices.Clone(watchdogEnv)
	known = append(known, "LOG_LEVEL")
	for _, typ := range []reflect.Type{reflect.TypeFor[app.Settings](), reflect.TypeFor[app.AccountSettings](), reflect.TypeFor[pipeline.AnalyzeSettings](), reflect.TypeFor[fnhttp.Lifecycle](), reflect.TypeFor[fnhttp.ServerSettings](), reflect.TypeFor[results.Config]()} {
		for f := range typ.Fields() {
			known = append(known, f.Tag.Get("envconfig"))
		}
	}
	for name, f := range st.Functions {
		for k, v := range f.Environment {
			if !slices.Contains(known, k) {
				t.Errorf("%s: environment %s is read by nothing (typo?)", name, k)
			}
			t.Setenv(k, Subst(v))
		}
		if _, err := app.LoadSettings(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		srv, err := fnhttp.LoadServerSettings()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for k := range f.Environment {
			os.Unsetenv(k)
		}
		d := map[string]time.Duration{}
		for _, k := range []string{"read_timeout", "write_timeout", "exec_timeout"} {
			var err error
			if d[k], err = time.ParseDuration(f.Environment[k]); err != nil || d[k] <= 0 {
				t.Errorf("%s: %s %q: %v", name, k, f.Environment[k], err)
			}
		}
		// The function's own server must not cut an answer the watchdog
		// still waits for.
		if srv.WriteTimeout.D() < d["exec_timeout"] {
			t.Errorf("%s: HTTP_WRITE_TIMEOUT %v is below exec_timeout %v", name, srv.WriteTimeout.D(), d["exec_timeout"])
		}
		if d["write_timeout"] <= d["exec_timeout"] {
			t.Errorf("%s: write_timeout %v must exceed exec_timeout %v", name, d["write_timeout"], d["exec_timeout"])
		}
		if long := name == "analyze"; long != (d["exec_timeout"] >= time.Minute) {
			t.Errorf("%s: exec_timeout %v (analyze needs minutes, the others seconds)", name, d["exec_timeout"])
		}
	}
}

// TestTemplatesAgree: both templates serve Handle with the same main.go;
// their build scripts differ in cgo only; the Dockerfiles start the
// binary as template.yml says, where the watchdog forwards.
func TestTemplatesAgree(t *testing.T) {
	root, _ := loadStack(t)
	dir := func(lang string) string { return filepath.Join(root, "template", lang) }
	for _, f := range []string{"main.go", "go.mod"} {
		if readFile(t, dir(goTemplate), f) != readFile(t, dir(cgoTemplate), f) {
			t.Errorf("template/*/%s differ", f)
		}
	}
	cgoLine := regexp.MustCompile(`(?m)^export CGO_ENABLED=([01])$`)
	scripts := map[string]string{}
	for lang, want := range map[string]string{goTemplate: "0", cgoTemplate: "1"} {
		s := readFile(t, dir(lang), "build.sh")
		if m := cgoLine.FindStringSubmatch(s); m == nil || m[1] != want {
			t.Errorf("%s/build.sh: want export CGO_ENABLED=%s", lang, want)
		}
		// Ignore the cgo line and the comment above it.
		scripts[lang] = regexp.MustCompile(`(?m)(^#.*\n)*^export CGO_ENABLED=.*\n`).ReplaceAllString(s, "")

		tpl, err := LoadTemplate(root, lang)
		if err != nil {
			t.Fatal(err)
		}
		args, err := tpl.ListenArgs("x")
		if err != nil || len(args) != 2 {
			t.Fatal(err)
		}
		addr := strings.Fields(tpl.FProcess)[2]
		df := readFile(t, dir(lang), "Dockerfile")
		for _, want := range []string{
			`fprocess="` + tpl.FProcess + `"`,
			`upstream_url="http://` + addr + `"`,
			`mode="http"`,
			`ready_path="/readyz"`,
			"sh ./build.sh /out/handler",
			"COPY --from=watchdog /fwatchdog /usr/bin/fwatchdog",
			`CMD ["fwatchdog"]`,
		} {
			if !strings.Contains(df, want) {
				t.Errorf("%s/Dockerfile lacks %s", lang, want)
			}
		}
		if !regexp.MustCompile(`(?m)^USER [1-9][0-9]*:[1-9][0-9]*$`).MatchString(df) {
			t.Errorf("%s/Dockerfile: the function must run as a non-root user", lang)
		}
	}
	if scripts[goTemplate] != scripts[cgoTemplate] {
		t.Error("template/*/build.sh differ beyond CGO_ENABLED")
	}
}

// TestKnativePatches: deploy/knative/kustomization.yaml gives each
// Service stack.yml's secrets (one projected volume), resources and scale
// bounds.
func TestKnativePatches(t *testing.T) {
	root, st := loadStack(t)
	var k struct {
		Resources []string `yaml:"resources"`
		Patches   []struct {
			Target struct {
				Kind string `yaml:"kind"`
				Name string `yaml:"name"`
			} `yaml:"target"`
			Patch string `yaml:"patch"`
		} `yaml:"patches"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, root, "deploy", "knative", "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(k.Resources, []string{"services.yaml"}) {
		t.Errorf("resources %v", k.Resources)
	}
	type op struct {
		Op    string `yaml:"op"`
		Path  string `yaml:"path"`
		Value any    `yaml:"value"`
	}
	patched := map[string]bool{}
	for _, p := range k.Patches {
		name := p.Target.Name
		f, ok := st.Functions[name]
		if !ok || p.Target.Kind != "Service" || patched[name] {
			t.Errorf("patch for %s %q: unknown or repeated", p.Target.Kind, name)
			continue
		}
		patched[name] = true
		var ops []op
		if err := yaml.Unmarshal([]byte(p.Patch), &ops); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		byPath := map[string]any{}
		for _, o := range ops {
			byPath[o.Path] = o.Value
		}
		var secrets []string
		vols, _ := byPath["/spec/template/spec/volumes"].([]any)
		if len(vols) == 1 {
			proj, _ := vols[0].(map[string]any)["projected"].(map[string]any)
			srcs, _ := proj["sources"].([]any)
			for _, s := range srcs {
				sec, _ := s.(map[string]any)["secret"].(map[string]any)
				secrets = append(secrets, sec["name"].(string))
			}
		}
		if !slices.Equal(secrets, f.Secrets) {
			t.Errorf("%s: projected secrets %v, stack.yml %v", name, secrets, f.Secrets)
		}
		mounts, _ := byPath["/spec/template/spec/containers/0/volumeMounts"].([]any)
		if len(f.Secrets) == 0 && len(mounts) != 0 || len(f.Secrets) > 0 && (len(mounts) != 1 || mounts[0].(map[string]any)["mountPath"] != config.DefaultSecretsDir) {
			t.Errorf("%s: volumeMounts %v", name, mounts)
		}
		res, _ := byPath["/spec/template/spec/containers/0/resources"].(map[string]any)
		for kind, want := range map[string]map[string]string{"limits": f.Limits, "requests": f.Requests} {
			got := map[string]string{}
			m, _ := res[kind].(map[string]any)
			for k, v := range m {
				got[k], _ = v.(string)
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: %s %v, stack.yml %v", name, kind, got, want)
			}
		}
		meta, _ := byPath["/spec/template/metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != metricsPort || ann["prometheus.io/path"] != metrics.Path {
			t.Errorf("%s: scrape annotations %v, want /metrics on %s", name, ann, metricsPort)
		}
		for probe, want := range map[string]string{"readinessProbe": fnhttp.ReadyPath, "livenessProbe": fnhttp.HealthPath} {
			p, _ := byPath["/spec/template/spec/containers/0/"+probe].(map[string]any)
			get, _ := p["httpGet"].(map[string]any)
			if get["path"] != want {
				t.Errorf("%s: %s %v, want GET %s", name, probe, p, want)
			}
		}
		if ann["autoscaling.knative.dev/min-scale"] != f.Labels["com.openfaas.scale.min"] || ann["autoscaling.knative.dev/max-scale"] != f.Labels["com.openfaas.scale.max"] {
			t.Errorf("%s: scale annotations %v, labels %v", name, ann, f.Labels)
		}
	}
	for name := range st.Functions {
		if !patched[name] {
			t.Errorf("no patch for %s", name)
		}
	}
}

// TestGeneratedManifests is a quick look at what make deploy-check
// compares exactly: the generated manifests carry stack.yml's secrets,
// environment, labels and resources.
func TestGeneratedManifests(t *testing.T) {
	root, st := loadStack(t)
	type fn struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
		Spec struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
			Limits      map[string]string `yaml:"limits"`
			Requests    map[string]string `yaml:"requests"`
			Secrets     []string          `yaml:"secrets"`
			Template    struct {
				Spec struct {
					Containers []struct {
						Image string `yaml:"image"`
						Env   []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	decode := func(file string) map[string]fn {
		out := map[string]fn{}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(readFile(t, root, "deploy", file))))
		for {
			var f fn
			err := dec.Decode(&f)
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			out[f.Metadata.Name] = f
		}
	}
	of, kn := decode("openfaas/functions.yaml"), decode("knative/services.yaml")
	for name, f := range st.Functions {
		env := map[string]string{}
		for k, v := range f.Environment {
			env[k] = Subst(v)
		}
		o := of[name]
		if o.Kind != "Function" || o.Metadata.Namespace != "openfaas-fn" || o.Spec.Image != Subst(f.Image) ||
			!maps.Equal(o.Spec.Environment, env) || !slices.Equal(o.Spec.Secrets, f.Secrets) ||
			!maps.Equal(o.Spec.Labels, f.Labels) || !maps.Equal(o.Spec.Annotations, f.Annotations) ||
			!maps.Equal(o.Spec.Limits, f.Limits) || !maps.Equal(o.Spec.Requests, f.Requests) {
			t.Errorf("deploy/openfaas/functions.yaml: %s differs from stack.yml; run cmd/scripts/deploy-check.sh --update", name)
		}
		k := kn[name]
		kenv := map[string]string{}
		if k.Kind == "Service" && len(k.Spec.Template.Spec.Containers) == 1 {
			for _, e := range k.Spec.Template.Spec.Containers[0].Env {
				kenv[e.Name] = e.Value
			}
		}
		if k.Metadata.Namespace != "benchwrap" || len(kenv) == 0 || k.Spec.Template.Spec.Containers[0].Image != Subst(f.Image) || !maps.Equal(kenv, env) {
			t.Errorf("deploy/knative/services.yaml: %s differs from stack.yml; run cmd/scripts/deploy-check.sh --update", name)
		}
	}
	if len(of) != len(st.Functions) || len(kn) != len(st.Functions) {
		t.Errorf("generated %d Functions and %d Services for %d functions", len(of), len(kn), len(st.Functions))
	}
}
