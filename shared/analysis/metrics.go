package analysis

import (
	"math"
	"strconv"
	"strings"
)

// Metrics are a job's energy figures. Pointers are nil where the original
// reports null (NaN or not computable).
type Metrics struct {
	EnergyToSolutionJ    *float64 `json:"energy_to_solution_j"`
	TimeToSolutionS      *float64 `json:"time_to_solution_s"`
	AveragePowerW        *float64 `json:"average_power_w"`
	PeakPowerW           *float64 `json:"peak_power_w"`
	PeakPowerTimeS       *float64 `json:"peak_power_time_s"`
	EnergyDelayProduct   *float64 `json:"energy_delay_product"`
	ApplianceName        string   `json:"appliance_name"`
	ApplianceAmount      float64  `json:"appliance_amount"`
	ApplianceUnit        string   `json:"appliance_unit"`
	ApplianceDescription string   `json:"appliance_description"`
}

// Num returns a pointer to v, or nil for NaN (reported as null).
func Num(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// NewMetrics derives the figures the original reports from energy to
// solution (ets, NaN when unknown), time to solution, and the peak power
// with its time (NaN when there is no power).
func NewMetrics(ets, tts, peak, peakTime float64) Metrics {
	avg, edp := perWallTime(ets, tts)
	m := Metrics{
		EnergyToSolutionJ: Num(ets), TimeToSolutionS: Num(tts),
		AveragePowerW: Num(avg), PeakPowerW: Num(peak), PeakPowerTimeS: Num(peakTime),
		EnergyDelayProduct: Num(edp),
	}
	m.ApplianceName, m.ApplianceAmount, m.ApplianceUnit, m.ApplianceDescription = CompareAppliance(ets).fields()
	return m
}

// perWallTime is the average power and the energy-delay product of joules
// over wall seconds; NaN when either is unknown or wall is 0.
func perWallTime(joules, wall float64) (avg, edp float64) {
	if math.IsNaN(joules) || math.IsNaN(wall) || wall == 0 {
		return math.NaN(), math.NaN()
	}
	return joules / wall, joules * wall
}

// Appliance is the everyday comparison of an amount of energy.
type Appliance struct {
	Name        string
	Amount      float64
	Unit        string // s, m or h
	Description string
}

// fields are the comparison as the reports' appliance_* fields hold it.
func (a Appliance) fields() (name string, amount float64, unit, description string) {
	return a.Name, a.Amount, a.Unit, a.Description
}

var appliances = []struct {
	name  string
	watts float64
}{
	{"a hair dryer", 1800}, {"a microwave oven", 1200}, {"an electric kettle", 1500},
	{"a vacuum cleaner", 800}, {"a refrigerator", 150}, {"a light bulb", 60},
	{"a washing machine", 500}, {"a gaming PC", 400}, {"a laptop", 60}, {"a dishwasher", 1000},
}

// CompareAppliance finds the appliance whose running time for joules is
// closest to ten minutes (between one minute and two hours), as the
// original's summary does.
func CompareAppliance(joules float64) Appliance {
	if math.IsNaN(joules) || joules <= 0 {
		return Appliance{Name: "negligible usage", Amount: 0, Unit: "s",
			Description: "Energy use too small to compare with everyday appliances."}
	}
	best, bestSec, bestDelta := "a light bulb", joules/60, math.Inf(1)
	for _, a := range appliances {
		sec := joules / a.watts
		if sec < 1 {
			continue
		}
		min := sec / 60
		if delta := math.Abs(min - 10); min >= 1 && min <= 120 && delta < bestDelta {
			best, bestSec, bestDelta = a.name, sec, delta
		}
	}
	if math.IsInf(bestDelta, 1) {
		closest := math.Inf(1)
		for _, a := range appliances {
			if d := math.Abs(joules/a.watts/60 - 10); d < closest {
				closest, best, bestSec = d, a.name, joules/a.watts
			}
		}
	}
	var amount float64
	var unit, words string
	switch {
	case bestSec < 60:
		amount, unit, words = pyRound(bestSec, 1), "s", "seconds"
	case bestSec < 3600:
		amount, unit, words = pyRound(bestSec/60, 1), "m", "minutes"
	default:
		amount, unit, words = pyRound(bestSec/3600, 2), "h", "hours"
	}
	return Appliance{Name: best, Amount: amount, Unit: unit,
		Description: "That's about the same energy as using " + best + " for " + pyRepr(amount) + " " + words + "."}
}

// pyRound is Python's round(x, n): the correctly rounded decimal of the
// exact binary value, which strconv's formatting also computes.
func pyRound(x float64, n int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', n, 64), 64)
	return v
}

// pyRepr prints a float as Python's repr does for ordinary magnitudes:
// shortest round-trip digits, always with a decimal point.
func pyRepr(x float64) string {
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}
