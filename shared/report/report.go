// Package report holds the energy report, a single-page app embedded in
// the binary: plain JavaScript modules and CSS with no build step, and the
// vendored uPlot charting library (MIT, assets/uPlot.LICENSE). The page
// is one path (GET /report); its assets are the same path with
// ?asset=<name>, so it works unchanged under /, /api and /function/report
// (a function sees the query string, not the path).
package report

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var files embed.FS

// Index is the page itself, served when no asset is named.
const Index = "index.html"

// CSP lets the page load only its own scripts, styles and data: no inline
// code, no other origin (uploads go through the same-origin storage
// path, see routes.StoragePrefix).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Asset is one embedded file, ready to serve.
type Asset struct {
	Name        string
	Body        []byte
	ContentType string
	ETag        string
}

var assets = load()

func load() map[string]Asset {
	m := map[string]Asset{}
	err := fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		sum := sha256.Sum256(b)
		m[name] = Asset{Name: name, Body: b, ContentType: contentType(name), ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil { // the embedded tree is fixed at build time
		panic(fmt.Sprintf("report: load assets: %v", err))
	}
	return m
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".LICENSE":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Lookup returns the named asset; "" names the page.
func Lookup(name string) (Asset, bool) {
	if name == "" {
		name = Index
	}
	a, ok := assets[name]
	return a, ok
}

// Names lists every asset.
func Names() []string {
	out := make([]string, 0, len(assets))
	for n := range assets {
		out = append(out, n)
	}
	return out
}

// SecurityHeaders sets the page's headers: the CSP and the usual
// hardening (no sniffing, no framing, no referrer, own browsing context).
func SecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// Response answers a GET for an asset: the body with its type and ETag,
// 304 when the client's If-None-Match matches, 404 for an unknown name.
// Every answer carries SecurityHeaders.
func Response(name, ifNoneMatch string) (status int, header http.Header, body []byte) {
	header = http.Header{}
	SecurityHeaders(header)
	a, ok := Lookup(name)
	if !ok {
		header.Set("Content-Type", "application/json")
		return http.StatusNotFound, header, []byte(`{"detail":"Not Found"}`)
	}
	header.Set("ETag", a.ETag)
	// Revalidate every time: a deploy changes the assets under one URL.
	header.Set("Cache-Control", "no-cache")
	header.Set("Content-Type", a.ContentType)
	if ifNoneMatch != "" && strings.Contains(ifNoneMatch, a.ETag) {
		return http.StatusNotModified, header, nil
	}
	return http.StatusOK, header, a.Body
}
