// Package results turns analysed files into the jobs and benchmarks users
// browse: the Slurm job a file belongs to, per-job aggregates over every
// file of the job, benchmark statistics with a regression baseline, and
// server-side downsampling of the time series.
package results

import (
	"strings"

	"github.com/benchwrap/backend/shared/analysis"
)

// Name is what a file's name says about its job.
type Name struct {
	JobID string // Slurm job id; the whole stem when the name matches no form
	Step  string // digits, batch, extern or interactive; "" for merged files
	Node  string // "" for merged files
	Label string // the client's prefix before the job id ("" when none)
	// Form is how the name was read: node-step, merged, or "" when it
	// matches no known form (the stem is then the job id).
	Form string
}

// Name forms.
const (
	FormNodeStep = "node-step"
	FormMerged   = "merged"
)

// ParseName reads the job of a file from its name (an object key or a
// path). attrJobID, when not empty, is a job id found in the file's own
// attributes and wins over the name. Node-step names are read from the
// right, since a client puts its own prefix in front:
//
//	[<prefix>_]<jobid>_<step>_<node>.h5   step: digits, batch, extern, interactive
//	[<prefix>_]job_<jobid>.h5             sh5util's default
//	[<prefix>_]<jobid>_job_merged.h5
func ParseName(name, attrJobID string) Name {
	stem := analysis.Label(name)
	n := parseStem(stem)
	if attrJobID = strings.TrimSpace(attrJobID); attrJobID != "" {
		n.JobID = attrJobID
	}
	return n
}

func parseStem(stem string) Name {
	tok := strings.Split(stem, "_")
	// Node-step: the right-most <digits>_<step>_<node...>.
	for i := len(tok) - 3; i >= 0; i-- {
		if isDigits(tok[i]) && isStep(tok[i+1]) && tok[i+2] != "" {
			node := strings.Join(tok[i+2:], "_")
			return Name{JobID: tok[i], Step: tok[i+1], Node: node, Label: strings.Join(tok[:i], "_"), Form: FormNodeStep}
		}
	}
	k := len(tok)
	// [<prefix>_]job_<jobid>
	if k >= 2 && tok[k-2] == "job" && isDigits(tok[k-1]) {
		return Name{JobID: tok[k-1], Label: strings.Join(tok[:k-2], "_"), Form: FormMerged}
	}
	// [<prefix>_]<jobid>_job_merged
	if k >= 3 && tok[k-2] == "job" && tok[k-1] == "merged" && isDigits(tok[k-3]) {
		return Name{JobID: tok[k-3], Label: strings.Join(tok[:k-3], "_"), Form: FormMerged}
	}
	return Name{JobID: stem, Label: stem}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isStep(s string) bool {
	switch s {
	case "batch", "extern", "interactive":
		return true
	}
	return isDigits(s)
}
