package deploytest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Stack is the part of stack.yml (faas-cli's format) the checks read.
type Stack struct {
	Version  string `yaml:"version"`
	Provider struct {
		Name    string `yaml:"name"`
		Gateway string `yaml:"gateway"`
	} `yaml:"provider"`
	Configuration struct {
		Copy []string `yaml:"copy"`
	} `yaml:"configuration"`
	Functions map[string]Function `yaml:"functions"`
}

// Function is one function of stack.yml.
type Function struct {
	Lang        string            `yaml:"lang"`
	Handler     string            `yaml:"handler"`
	Image       string            `yaml:"image"`
	Environment map[string]string `yaml:"environment"`
	Secrets     []string          `yaml:"secrets"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	Limits      map[string]string `yaml:"limits"`
	Requests    map[string]string `yaml:"requests"`
}

// RepoRoot finds the repository: the first directory upwards from the
// working directory that holds stack.yml and go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "stack.yml")) && fileExists(filepath.Join(dir, "go.work")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no directory above the working directory holds stack.yml and go.work")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// LoadStack reads root/stack.yml.
func LoadStack(root string) (*Stack, error) {
	b, err := os.ReadFile(filepath.Join(root, "stack.yml"))
	if err != nil {
		return nil, err
	}
	var s Stack
	if err := yaml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("stack.yml: %w", err)
	}
	return &s, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Subst expands ${VAR} and ${VAR:-default} as faas-cli does when VAR is
// unset: the default, else nothing.
func Subst(s string) string {
	return envRef.ReplaceAllString(s, "$3")
}

// Template is a language template of template/<lang>.
type Template struct {
	Dir      string
	Language string `yaml:"language"`
	FProcess string `yaml:"fprocess"`
}

// LoadTemplate reads root/template/<lang>/template.yml.
func LoadTemplate(root, lang string) (*Template, error) {
	dir := filepath.Join(root, "template", lang)
	b, err := os.ReadFile(filepath.Join(dir, "template.yml"))
	if err != nil {
		return nil, err
	}
	t := &Template{Dir: dir}
	if err := yaml.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("template %s: %w", lang, err)
	}
	return t, nil
}

// ListenArgs returns the arguments fprocess passes to the binary, with the
// address after -listen replaced by addr.
func (t *Template) ListenArgs(addr string) ([]string, error) {
	f := strings.Fields(t.FProcess)
	if len(f) != 3 || f[1] != "-listen" {
		return nil, fmt.Errorf("template %s: fprocess %q is not \"./handler -listen ADDR\"", t.Language, t.FProcess)
	}
	return []string{"-listen", addr}, nil
}
