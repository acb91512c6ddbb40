// Package clientaddr finds the address of the client behind a request: the
// TCP peer, or, when the peer is a proxy the operator trusts, the last
// address in X-Forwarded-For that is not itself a trusted proxy. A client
// can write anything into X-Forwarded-For, so the header is only believed
// as far as trusted proxies vouch for it.
package clientaddr

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Resolver knows which peers are trusted proxies.
type Resolver struct {
	trusted []netip.Prefix
}

// Parse reads a comma- or space-separated list of CIDR prefixes or single
// addresses (TRUSTED_PROXIES). An empty list trusts no proxy.
func Parse(list string) (Resolver, error) {
	var r Resolver
	for _, f := range strings.FieldsFunc(list, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return Resolver{}, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		r.trusted = append(r.trusted, netip.PrefixFrom(p.Addr().Unmap(), min(p.Bits(), p.Addr().Unmap().BitLen())).Masked())
	}
	return r, nil
}

func (r Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client's address for a request whose TCP peer is
// peer (host:port or a bare address) and whose X-Forwarded-For header
// values are xff. It walks X-Forwarded-For from the right (the entry the
// nearest proxy appended) while the hop is trusted; an entry that does not
// parse ends the walk at the last trusted hop. The result is "" only when
// peer itself is not an address.
func (r Resolver) Client(peer string, xff []string) string {
	addr, ok := parse(peer)
	if !ok {
		return ""
	}
	if !r.isTrusted(addr) {
		return addr.String()
	}
	var hops []string
	for _, v := range xff {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parse(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		addr = a
		if !r.isTrusted(a) {
			break
		}
	}
	return addr.String()
}

// parse reads host:port, [v6]:port or a bare address.
func parse(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
