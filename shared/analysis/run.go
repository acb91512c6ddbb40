package analysis

import "time"

// Run statuses in the catalog.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Run is the catalog record of one analysed file (table analysis_runs in
// PostgreSQL and in the DuckDB file).
type Run struct {
	// Where the file came from: an object (Source "minio") or a local
	// file (Source "file").
	Source    string
	Bucket    string
	Key       string
	ETag      string
	Sequencer string
	Size      int64
	Path      string
	SHA256    string

	JobID int64 // the analysis_jobs row this run settles; 0 outside the queue

	Username  string // owner; empty for the batch analyzer's files
	Schema    string
	Table     string // identifier created (at most 63 bytes)
	FullTable string // job_<label>
	Mode      Mode
	Status    string
	SkipClass SkipClass
	Reason    string // skip reason or error, for people
	Error     string // internal cause of a failure

	Rows      int64
	Columns   []Column
	Metrics   any // *Metrics or a richer corrected-mode summary
	Details   any
	Summaries []SummaryRow // job_summaries rows (corrected mode)

	StartedAt       time.Time
	FinishedAt      time.Time
	ReadSeconds     float64
	PipelineSeconds float64
	WriteSeconds    float64
}

// RunSummary is what clients see of a file's latest analysis.
type RunSummary struct {
	Status            string   `json:"status"`
	Table             string   `json:"table,omitempty"` // schema.table
	Rows              int64    `json:"rows"`
	EnergyToSolutionJ *float64 `json:"energy_to_solution_j"`
	CostEUR           *float64 `json:"cost_eur"`
	Reason            string   `json:"reason,omitempty"`
	// The queue's times: when the version was queued, when its analysis
	// started, when it finished (omitted when unknown).
	QueuedAt   *time.Time `json:"queued_at,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ETag       string     `json:"-"`
	Sequencer  string     `json:"-"`
	Mode       Mode       `json:"-"`
}
