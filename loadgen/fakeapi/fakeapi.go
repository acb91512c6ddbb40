// Package fakeapi is an in-process stand-in for the benchwrap API routes
// that the load scenarios drive (register, login, refresh, presign, list,
// and the presigned PUT), with the contract's rules that matter to a load
// generator: username and password limits, 409 on an existing user, login
// lock-out, refresh-token rotation with family revocation on reuse, and
// presigned URLs that demand the headers they were signed with. It exists
// for tests of the load tool, not as a model of the real backend.
package fakeapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

const hdf5Signature = "\x89HDF\r\n\x1a\n"

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{5,20}$`)

type refreshToken struct {
	user   string
	family string
	used   bool
}

// Server is the fake API. Its exported counters may be read after the
// load has stopped (or under Lock).
type Server struct {
	sync.Mutex
	prefix  string
	baseURL string

	users    map[string]string
	failures map[string]int
	access   map[string]string
	refresh  map[string]*refreshToken
	revoked  map[string]bool
	objects  map[string][]byte

	// Hits counts requests per route name (register, login, refresh,
	// presign, put, list).
	Hits map[string]int
	// Reuses counts refresh tokens presented a second time.
	Reuses int
	// FailEvery makes every Nth request to a route fail with 500.
	FailEvery map[string]int
	// Delay is added to every API request.
	Delay time.Duration
}

// New returns a fake API mounted under prefix (e.g. "" or "/api").
func New(prefix string) *Server {
	return &Server{
		prefix:    strings.TrimSuffix(prefix, "/"),
		users:     map[string]string{},
		failures:  map[string]int{},
		access:    map[string]string{},
		refresh:   map[string]*refreshToken{},
		revoked:   map[string]bool{},
		objects:   map[string][]byte{},
		Hits:      map[string]int{},
		FailEvery: map[string]int{},
	}
}

// Start serves the fake on a loopback httptest server and returns it; the
// API base URL is its URL plus the prefix.
func (s *Server) Start() *httptest.Server {
	mux := http.NewServeMux()
	p := s.prefix
	mux.HandleFunc("POST "+p+"/auth/register", s.route("register", s.register))
	mux.HandleFunc("POST "+p+"/auth/login", s.route("login", s.login))
	mux.HandleFunc("POST "+p+"/auth/password", s.route("login", s.login))
	mux.HandleFunc("POST "+p+"/auth/refresh", s.route("refresh", s.refreshTokens))
	mux.HandleFunc("POST "+p+"/storage/presign/upload", s.route("presign", s.presign))
	mux.HandleFunc("GET "+p+"/storage/list", s.route("list", s.list))
	mux.HandleFunc("PUT /s3/bucket/{key...}", s.route("put", s.put))
	srv := httptest.NewServer(mux)
	s.Lock()
	s.baseURL = srv.URL
	s.Unlock()
	return srv
}

// Objects returns a copy of the stored objects.
func (s *Server) Objects() map[string][]byte {
	s.Lock()
	defer s.Unlock()
	out := make(map[string][]byte, len(s.objects))
	for k, v := range s.objects {
		out[k] = v
	}
	return out
}

// Users returns the registered usernames, sorted.
func (s *Server) Users() []string {
	s.Lock()
	defer s.Unlock()
	var out []string
	for u := range s.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

func (s *Server) route(name string, h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.Lock()
		s.Hits[name]++
		n := s.Hits[name]
		every := s.FailEvery[name]
		delay := s.Delay
		s.Unlock()
		if delay > 0 && name != "put" {
			time.Sleep(delay)
		}
		if every > 0 && n%every == 0 {
			detail(w, http.StatusInternalServerError, "injected failure")
			return
		}
		h(w, r)
	}
}

func detail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func token() string { return rand.Text() }

// issue creates an access token and a refresh token of family (a new
// family when empty). The caller holds the lock.
func (s *Server) issue(user, family string) map[string]string {
	if family == "" {
		family = token()
	}
	a, r := token(), token()
	s.access[a] = user
	s.refresh[r] = &refreshToken{user: user, family: family}
	return map[string]string{"access": a, "refresh": r}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !usernameRE.MatchString(in.Username) ||
		len(in.Password) < 8 || len(in.Password) > 128 {
		detail(w, http.StatusUnprocessableEntity, "invalid body")
		return
	}
	s.Lock()
	defer s.Unlock()
	if _, ok := s.users[in.Username]; ok {
		detail(w, http.StatusConflict, "Username already registered.")
		return
	}
	s.users[in.Username] = in.Password
	writeJSON(w, http.StatusCreated, s.issue(in.Username, ""))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if strings.HasSuffix(r.URL.Path, "/auth/password") {
		in.Username, in.Password = r.URL.Query().Get("u"), r.URL.Query().Get("p")
	} else if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		detail(w, http.StatusUnprocessableEntity, "invalid body")
		return
	}
	s.Lock()
	defer s.Unlock()
	if s.failures[in.Username] >= 10 {
		detail(w, http.StatusTooManyRequests, "Too many failed logins.")
		return
	}
	if pw, ok := s.users[in.Username]; !ok || pw != in.Password {
		s.failures[in.Username]++
		detail(w, http.StatusUnauthorized, "Invalid credentials.")
		return
	}
	writeJSON(w, http.StatusOK, s.issue(in.Username, ""))
}

func (s *Server) refreshTokens(w http.ResponseWriter, r *http.Request) {
	rid := r.URL.Query().Get("rid")
	if rid == "" {
		var in struct{ Refresh string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Refresh == "" {
			detail(w, http.StatusUnprocessableEntity, "invalid body")
			return
		}
		rid = in.Refresh
	}
	s.Lock()
	defer s.Unlock()
	t, ok := s.refresh[rid]
	switch {
	case !ok:
		detail(w, http.StatusUnauthorized, "Invalid refresh token.")
	case t.used:
		s.Reuses++
		s.revoked[t.family] = true
		detail(w, http.StatusUnauthorized, "Invalid refresh token.")
	case s.revoked[t.family]:
		detail(w, http.StatusUnauthorized, "Invalid refresh token.")
	default:
		t.used = true
		writeJSON(w, http.StatusOK, s.issue(t.user, t.family))
	}
}

// user checks the bearer token; it writes the 401 itself.
func (s *Server) user(w http.ResponseWriter, r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.Lock()
	u, ok := s.access[tok]
	s.Unlock()
	if !strings.EqualFold(scheme, "bearer") || !ok {
		detail(w, http.StatusUnauthorized, "Invalid or expired token.")
		return "", false
	}
	return u, true
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func signature(key string) string { return fmt.Sprintf("%x", len(key)*7919) }

func (s *Server) presign(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(w, r)
	if !ok {
		return
	}
	name := r.URL.Query().Get("object_name")
	if name == "" {
		detail(w, http.StatusUnprocessableEntity, "object_name missing")
		return
	}
	key := u + "/" + unsafeChars.ReplaceAllString(name, "_")
	s.Lock()
	base := s.baseURL
	s.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"key":        key,
		"url":        base + "/s3/bucket/" + key + "?X-Sig=" + signature(key),
		"expires_in": "600",
		"expires_at": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
		"headers":    map[string]string{"x-amz-acl": "private"},
	})
}

func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	switch {
	case r.URL.Query().Get("X-Sig") != signature(key):
		http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
	case r.Header.Get("X-Amz-Acl") != "private":
		http.Error(w, "signed header x-amz-acl missing", http.StatusForbidden)
	case !bytes.HasPrefix(body.Bytes(), []byte(hdf5Signature)) || !strings.HasSuffix(key, ".h5"):
		http.Error(w, "not an HDF5 file", http.StatusBadRequest)
	default:
		s.Lock()
		s.objects[key] = body.Bytes()
		s.Unlock()
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	u, ok := s.user(w, r)
	if !ok {
		return
	}
	type object struct {
		Key          string `json:"key"`
		Size         int    `json:"size"`
		LastModified string `json:"last_modified"`
	}
	objects := []object{}
	s.Lock()
	for k, v := range s.objects {
		if strings.HasPrefix(k, u+"/") {
			objects = append(objects, object{Key: k, Size: len(v), LastModified: time.Now().UTC().Format(time.RFC3339)})
		}
	}
	s.Unlock()
	sort.Slice(objects, func(i, j int) bool { return objects[i].Key < objects[j].Key })
	writeJSON(w, http.StatusOK, map[string]any{"objects": objects})
}
