package deploytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The import rules of docs/architecture.md: domain packages depend on
// interfaces, adapter packages on drivers, and only wiring and test helpers
// see both.
const backendModule = "github.com/benchwrap/backend/"

// drivers are the import-path prefixes that only their adapters (and the
// allowed wiring and test helpers) may import.
var drivers = map[string]string{
	"pgx":       "github.com/jackc/pgx/",
	"minio-go":  "github.com/minio/minio-go/",
	"madmin-go": "github.com/minio/madmin-go/",
	"duckdb":    "github.com/duckdb/",
}

// driverImporters lists, per driver, the packages (a trailing "/..." for a
// tree) that may import it, with the reason.
var driverImporters = map[string][]allowed{
	"pgx": {
		{"shared/postgres", "the PostgreSQL adapter"},
		{"shared/queue", "the River adapter: River runs on a pgx pool (riverpgxv5) and jobs are inserted in the pgx transaction that records analysis_jobs"},
		{"shared/app", "wiring: opens the process's pool"},
		{"shared/app/pipeline", "wiring: opens the workers' pool"},
		{"testkit/devserver", "test helper: provisions PostgreSQL"},
		{"testkit/testenv", "test helper: hands tests a pool"},
		{"cmd/...", "wiring: CLIs and the local stack open pools"},
	},
	"minio-go": {
		{"shared/minio", "the MinIO adapter"},
		{"testkit/devserver", "test helper: provisions MinIO"},
		{"testkit/testenv", "test helper: hands tests a bucket"},
	},
	"madmin-go": {
		{"testkit/devserver", "test helper: configures MinIO's notification targets"},
	},
	"duckdb": {
		{"shared/duckdb/...", "the DuckDB adapter (the batch analyzer's file store)"},
	},
}

type allowed struct{ pkg, why string }

// testkitModule holds the test helpers (devserver, testenv).
const testkitModule = backendModule + "testkit"

// testHelpers must not reach a function's binary.
var testHelpers = []string{testkitModule + "/", drivers["madmin-go"]}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

// workspaceRoot is the directory holding go.work.
func workspaceRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the test's directory")
		}
		dir = parent
	}
}

// workspaceModules are the directories of go.work's use directives.
func workspaceModules(t *testing.T, root string) []string {
	t.Helper()
	out := goCmd(t, root, "work", "edit", "-json")
	var w struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &w); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, u := range w.Use {
		dirs = append(dirs, u.DiskPath)
	}
	return dirs
}

func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func listPackages(t *testing.T, root string, args ...string) []listedPackage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(goCmd(t, root, append([]string{"list", "-e", "-json=ImportPath,Imports,Deps,Error"}, args...)...)))
	var pkgs []listedPackage
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
}

func (a allowed) matches(rel string) bool {
	if tree, ok := strings.CutSuffix(a.pkg, "/..."); ok {
		return rel == tree || strings.HasPrefix(rel, tree+"/")
	}
	return rel == a.pkg
}

// TestDriverImports fails when a package of the workspace outside a
// driver's adapter (and the wiring and test helpers listed in
// driverImporters) imports pgx, minio-go, madmin-go or DuckDB. Test files
// are not checked: tests may reach drivers through the test helpers.
func TestDriverImports(t *testing.T) {
	root := workspaceRoot(t)
	var patterns []string
	for _, d := range workspaceModules(t, root) {
		patterns = append(patterns, d+"/...")
	}
	pkgs := listPackages(t, root, patterns...)
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, backendModule)
		if !ok {
			t.Fatalf("package %s is outside the module path %s", p.ImportPath, backendModule)
		}
		for _, imp := range p.Imports {
			for driver, prefix := range drivers {
				if !strings.HasPrefix(imp, prefix) {
					continue
				}
				permitted := false
				for _, a := range driverImporters[driver] {
					permitted = permitted || a.matches(rel)
				}
				if !permitted {
					t.Errorf("%s imports %s (%s): only its adapter may (docs/architecture.md); give the package an interface the adapter implements", rel, imp, driver)
				}
			}
		}
	}
}

// TestFunctionsLeaveOutTestHelpers: a function's binary depends on no
// test helper and not on MinIO's admin client.
func TestFunctionsLeaveOutTestHelpers(t *testing.T) {
	root := workspaceRoot(t)
	n := 0
	for _, d := range workspaceModules(t, root) {
		if !strings.HasPrefix(filepath.ToSlash(d), "./functions/") {
			continue
		}
		n++
		for _, p := range listPackages(t, root, "-deps", d+"/...") {
			for _, h := range testHelpers {
				if p.ImportPath == h || strings.HasPrefix(p.ImportPath, strings.TrimSuffix(h, "/")+"/") {
					t.Errorf("%s: its dependencies include %s", d, p.ImportPath)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("go.work lists no function")
	}
}

// TestFunctionModulesLeaveOutTestHelpers: a function's go.mod requires
// only what the function runs: neither the test helpers' module nor
// MinIO's admin client (the functions' integration tests live in
// cmd/internal/functiontest, whose module may require both).
func TestFunctionModulesLeaveOutTestHelpers(t *testing.T) {
	root := workspaceRoot(t)
	banned := []string{testkitModule, strings.TrimSuffix(drivers["madmin-go"], "/")}
	n := 0
	for _, d := range workspaceModules(t, root) {
		if !strings.HasPrefix(filepath.ToSlash(d), "./functions/") {
			continue
		}
		n++
		var mod struct{ Require []struct{ Path string } }
		if err := json.Unmarshal(goCmd(t, filepath.Join(root, d), "mod", "edit", "-json"), &mod); err != nil {
			t.Fatal(err)
		}
		if len(mod.Require) == 0 {
			t.Fatalf("%s/go.mod requires nothing", d)
		}
		for _, r := range mod.Require {
			for _, b := range banned {
				if r.Path == b || strings.HasPrefix(r.Path, b+"/") {
					t.Errorf("%s/go.mod requires %s: a test-only dependency (run GOWORK=off go mod tidy there once its tests no longer import it)", d, r.Path)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("go.work lists no function")
	}
}
