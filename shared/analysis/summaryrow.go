package analysis

// Summary levels of job_summaries rows.
const (
	LevelJob  = "job"
	LevelStep = "step"
	LevelNode = "node"
)

// SummaryRow is one row of the job_summaries table: the job, one step, or
// one node of a step, of one analysed file in one mode.
type SummaryRow struct {
	Level              string // job, step or node
	Step               string // empty for the job row
	Node               string // set on node rows
	EnergyJ            *float64
	EnergyKWh          *float64
	GPUEnergyJ         *float64
	WallTimeS          *float64
	AveragePowerW      *float64
	PeakPowerW         *float64
	PeakPowerTimeS     *float64
	EnergyDelayProduct *float64
	CostEUR            *float64
	CO2Kg              *float64
	ApplianceName      string
	ApplianceAmount    *float64
	ApplianceUnit      string
	Nulls              int64
	OutOfRange         int64
	LongGaps           int64
	Extra              any // JSON: method, total basis, cost/carbon reasons, quality per column
}
