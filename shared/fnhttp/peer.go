package fnhttp

import "context"

// peerKey carries the TCP peer's address (host:port) in a request's
// context: the OpenFaaS request type has no field for it.
type peerKey struct{}

// WithPeer returns ctx carrying the TCP peer address of the request.
func WithPeer(ctx context.Context, remoteAddr string) context.Context {
	return context.WithValue(ctx, peerKey{}, remoteAddr)
}

// Peer returns the TCP peer address (host:port) of the connection the
// request came on, "" when unknown. Behind a proxy it is the proxy's;
// shared/clientaddr decides when to believe X-Forwarded-For.
func (r *Request) Peer() string {
	ctx := r.Context()
	if ctx == nil {
		return ""
	}
	s, _ := ctx.Value(peerKey{}).(string)
	return s
}
