package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Ingress is the part of a networking.k8s.io/v1 Ingress that Router reads.
type Ingress struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec struct {
		IngressClassName string        `yaml:"ingressClassName"`
		Rules            []IngressRule `yaml:"rules"`
	} `yaml:"spec"`
}

// IngressRule is one rule of an Ingress.
type IngressRule struct {
	Host string `yaml:"host"`
	HTTP struct {
		Paths []IngressPath `yaml:"paths"`
	} `yaml:"http"`
}

// IngressPath is one path of an Ingress rule.
type IngressPath struct {
	Path     string `yaml:"path"`
	PathType string `yaml:"pathType"`
	Backend  struct {
		Service struct {
			Name string `yaml:"name"`
			Port struct {
				Number int `yaml:"number"`
			} `yaml:"port"`
		} `yaml:"service"`
	} `yaml:"backend"`
}

// ingress-nginx annotations the model understands.
const (
	annUseRegex      = "nginx.ingress.kubernetes.io/use-regex"
	annRewriteTarget = "nginx.ingress.kubernetes.io/rewrite-target"
)

// ParseIngresses reads the Ingresses of a multi-document YAML stream;
// other kinds are skipped.
func ParseIngresses(data []byte) ([]Ingress, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Ingress
	for {
		var ing Ingress
		err := dec.Decode(&ing)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if ing.Kind == "Ingress" {
			out = append(out, ing)
		}
	}
}

// Router models how ingress-nginx serves the paths of Ingresses that use
// regular expressions (use-regex "true") on one host:
//
//   - every path becomes a location ~* "^<path>": a case-insensitive
//     regular expression anchored at the start of the path only;
//   - locations are tried longest path first (ingress-nginx sorts them so
//     before writing nginx's configuration, where the first regex wins);
//   - with a rewrite-target, `rewrite "(?i)<path>" <target> break;`
//     replaces the whole path with the target, $1..$9 standing for the
//     path's groups; the query string is kept;
//   - a path that no location matches goes to the default backend (404).
//
// Go's regexp and PCRE agree on the constructs used in deploy/ingress.yaml
// (groups, alternation, ?, *, $); NewRouter fails on a path Go cannot
// compile.
type Router struct {
	locations []location
}

type location struct {
	ingress string
	path    string
	match   *regexp.Regexp
	rewrite *regexp.Regexp
	target  string
	backend string
}

// Result is where Router sends a request.
type Result struct {
	Ingress string // the Ingress whose path matched
	Backend string // service:port
	URI     string // the path and query the backend receives
}

// NewRouter builds the router for the given Ingresses, all of which must
// use regular expressions.
func NewRouter(ings []Ingress) (*Router, error) {
	r := &Router{}
	for _, ing := range ings {
		name := ing.Metadata.Name
		if ing.Metadata.Annotations[annUseRegex] != "true" {
			return nil, fmt.Errorf("ingress %s: %s is not \"true\"; the model covers regex paths only", name, annUseRegex)
		}
		target := ing.Metadata.Annotations[annRewriteTarget]
		for _, rule := range ing.Spec.Rules {
			if rule.Host != "" {
				return nil, fmt.Errorf("ingress %s: the model covers rules without a host", name)
			}
			for _, p := range rule.HTTP.Paths {
				match, err := regexp.Compile("(?i)^" + p.Path)
				if err != nil {
					return nil, fmt.Errorf("ingress %s: path %q: %w", name, p.Path, err)
				}
				r.locations = append(r.locations, location{
					ingress: name,
					path:    p.Path,
					match:   match,
					rewrite: regexp.MustCompile("(?i)" + p.Path),
					target:  target,
					backend: fmt.Sprintf("%s:%d", p.Backend.Service.Name, p.Backend.Service.Port.Number),
				})
			}
		}
	}
	sort.SliceStable(r.locations, func(i, j int) bool { return len(r.locations[i].path) > len(r.locations[j].path) })
	return r, nil
}

// Route returns where a request for uri (a path with an optional query)
// goes, and false when no Ingress path matches it.
func (r *Router) Route(uri string) (Result, bool) {
	p, query, hasQuery := strings.Cut(uri, "?")
	p = normalize(p)
	for _, loc := range r.locations {
		if !loc.match.MatchString(p) {
			continue
		}
		out := p
		if loc.target != "" {
			m := loc.rewrite.FindStringSubmatchIndex(p)
			out = expand(loc.target, p, m)
		}
		if hasQuery {
			out += "?" + query
		}
		return Result{Ingress: loc.ingress, Backend: loc.backend, URI: out}, true
	}
	return Result{}, false
}

// normalize does what nginx does to $uri before matching locations:
// decode %XX, merge slashes, resolve . and .. segments.
func normalize(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	trailing := strings.HasSuffix(p, "/")
	p = path.Clean("/" + p)
	if trailing && p != "/" {
		p += "/"
	}
	return p
}

// expand substitutes nginx's $1..$9 in target with the groups of match m
// of s; a group that did not take part is empty.
func expand(target, s string, m []int) string {
	var b strings.Builder
	for i := 0; i < len(target); i++ {
		c := target[i]
		if c == '$' && i+1 < len(target) && target[i+1] >= '0' && target[i+1] <= '9' {
			g := int(target[i+1] - '0')
			if 2*g+1 < len(m) && m[2*g] >= 0 {
				b.WriteString(s[m[2*g]:m[2*g+1]])
			}
			i++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
