package clientaddr

import "testing"

func TestClient(t *testing.T) {
	r, err := Parse("10.0.0.0/8, 127.0.0.1 ::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client", "203.0.113.7:5555", nil, "203.0.113.7"},
		// The attack: a client that is not a trusted proxy claims another address.
		{"spoofed header from an untrusted peer", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client prepends a fake hop", "10.1.2.3:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "127.0.0.1:80", []string{"198.51.100.1, 10.0.0.5", "10.0.0.6"}, "198.51.100.1"},
		{"garbage hop stops the walk", "10.1.2.3:80", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},
		{"trusted proxy, no header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"ipv6 peer", "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"v4-mapped peer", "[::ffff:10.0.0.1]:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"no peer", "", []string{"198.51.100.1"}, ""},
	} {
		if got := r.Client(c.peer, c.xff); got != c.want {
			t.Errorf("%s: Client(%q, %q) = %q, want %q", c.name, c.peer, c.xff, got, c.want)
		}
	}
	var none Resolver
	if got := none.Client("127.0.0.1:1", []string{"198.51.100.1"}); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: %q", got)
	}
	if _, err := Parse("10.0.0.0/8,not-an-address"); err == nil {
		t.Error("a bad entry was accepted")
	}
}
