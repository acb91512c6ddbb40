package analysis

import "encoding/json"

// Result is the outcome of analysing one file: the shape of the table (its
// rows stay with the engine that produced them, see RowSource), the
// metrics, or the reason why there is no table.
type Result struct {
	Mode    Mode
	File    string // base name of the file or object analysed
	Label   string // Label(name)
	JobID   string // JobID(label)
	Table   string // full table name, TableName(label)
	Rows    int64
	Columns []Column
	// Metrics is nil where the original reports null (no power or energy
	// column, or a skipped file).
	Metrics *Metrics
	// Skip is set when the file produced no table; Rows and Columns are
	// then empty.
	Skip    *Skip
	Details Details
	Seconds float64 // wall time of the pipeline, reading included
}

// Dataset statuses in Details, as the original records them. A dataset
// that could not be read has the status "error: <class>".
const (
	DatasetUsed      = "used"
	DatasetEmpty     = "empty"
	DatasetZeroPower = "zero_power"
)

// Details records how the table was built, like the "details" of the
// expected files: the groups tried in order with their dataset counters,
// the group used, and the columns chosen for EpochTime and the energy
// profile ("" when there is none; null in JSON).
type Details struct {
	JobID        string
	TableName    string
	Warnings     []string
	Groups       []GroupReport
	Group        string // group the table comes from; "" when there is no table
	EpochColumn  string
	PowerColumn  string
	EnergyColumn string
}

// GroupReport counts what happened to the datasets of one top-level group.
type GroupReport struct {
	Group     string          `json:"group"`
	Empty     int             `json:"empty"`
	ZeroPower int             `json:"zero_power"`
	Errors    int             `json:"errors"`
	Total     int             `json:"total"`
	Datasets  []DatasetReport `json:"datasets"`
}

// DatasetReport is one dataset of a group, in walk order.
type DatasetReport struct {
	Path   string `json:"path"` // relative to the root, "node01/Tasks/0"
	Status string `json:"status"`
	Prefix string `json:"prefix,omitempty"` // column prefix, for used datasets
	Rows   int    `json:"rows,omitempty"`   // rows, for used datasets
	Error  string `json:"error,omitempty"`  // why it could not be read
}

// MarshalJSON writes the layout of the expected files: the column choices
// are present once a group was used, and null when there is none.
func (d Details) MarshalJSON() ([]byte, error) {
	type out struct {
		JobID        string           `json:"job_id"`
		TableName    string           `json:"table_name"`
		Warnings     []string         `json:"warnings"`
		Groups       []GroupReport    `json:"groups,omitempty"`
		Group        *json.RawMessage `json:"group,omitempty"`
		EpochColumn  *json.RawMessage `json:"epoch_column,omitempty"`
		PowerColumn  *json.RawMessage `json:"power_column,omitempty"`
		EnergyColumn *json.RawMessage `json:"energy_column,omitempty"`
	}
	o := out{JobID: d.JobID, TableName: d.TableName, Warnings: d.Warnings, Groups: d.Groups}
	if o.Warnings == nil {
		o.Warnings = []string{}
	}
	if d.Group != "" {
		o.Group, o.EpochColumn, o.PowerColumn, o.EnergyColumn = jsonString(d.Group), jsonString(d.EpochColumn), jsonString(d.PowerColumn), jsonString(d.EnergyColumn)
	}
	return json.Marshal(o)
}

// jsonString encodes s, or null for "".
func jsonString(s string) *json.RawMessage {
	raw := json.RawMessage("null")
	if s != "" {
		raw, _ = json.Marshal(s)
	}
	return &raw
}
