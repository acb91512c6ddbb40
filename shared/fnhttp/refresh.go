package fnhttp

import "github.com/benchwrap/backend/shared/apperr"

// RefreshToken reads the refresh token that refresh and logout take: a
// JSON body {"refresh": ...}, or (legacy, what today's client sends) the
// query parameter rid.
func (r *Request) RefreshToken() (string, error) {
	rid := r.Query().Get("rid")
	if !r.Query().Has("rid") {
		var in struct {
			Refresh string `json:"refresh"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return "", apperr.New(apperr.Invalid, "refresh: send it as JSON {\"refresh\": ...} or the query parameter rid.")
		}
		rid = in.Refresh
	}
	if rid == "" {
		return "", apperr.New(apperr.Invalid, "refresh: field required.")
	}
	return rid, nil
}
