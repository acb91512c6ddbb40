package results

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/parquetfile"
	"github.com/benchwrap/backend/shared/routes"
)

// ObjectWriter stores objects (minio.Store).
type ObjectWriter interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
}

// ParquetContentType is the media type of the Parquet copies and exports.
const ParquetContentType = routes.ParquetContentType

// ParquetKeys are where a job's Parquet copies live in the bucket, below
// the user's prefix, so the user's own tools can read their whole history:
//
//	<user>/results/<job>/summary.parquet       one row: the job's figures
//	<user>/results/<job>/tables/<file>.parquet the file's full table
func ParquetKeys(username, job, fileKey string) (summary, table string) {
	base := username + "/results/" + job + "/"
	return base + "summary.parquet", base + "tables/" + analysis.Label(fileKey) + ".parquet"
}

// summaryColumns are the columns of summary.parquet.
var summaryColumns = []parquetfile.Column{
	{Name: "job", Text: true}, {Name: "benchmark", Text: true}, {Name: "label", Text: true}, {Name: "status", Text: true},
	{Name: "start_epoch_s"}, {Name: "end_epoch_s"}, {Name: "energy_j"}, {Name: "wall_time_s"}, {Name: "average_power_w"},
	{Name: "peak_power_w"}, {Name: "edp"}, {Name: "cost_eur"}, {Name: "co2_kg"}, {Name: "files"}, {Name: "nodes"}, {Name: "steps"},
}

func summaryRow(j Job) []any {
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return []any{j.ID, j.Benchmark, j.Label, j.Status, f(j.StartEpochS), f(j.EndEpochS), f(j.EnergyJ), f(j.WallTimeS),
		f(j.AveragePowerW), f(j.PeakPowerW), f(j.EDP), f(j.CostEUR), f(j.CO2Kg), float64(j.Files), float64(j.NodeCount), float64(j.StepCount)}
}

// PublishParquet writes the Parquet copies of a filed run: its table (when
// it has one) and its job's summary.
func PublishParquet(ctx context.Context, st Store, w ObjectWriter, u Unfiled) error {
	files, err := st.JobFiles(ctx, u.Username, u.JobID)
	if err != nil {
		return err
	}
	j, ok, err := st.Job(ctx, u.Username, u.JobID)
	if err != nil || !ok {
		return err
	}
	summaryKey, _ := ParquetKeys(u.Username, u.JobID, "")
	err = putParquet(ctx, w, summaryKey, func(out io.Writer) error {
		pw, err := parquetfile.NewWriter(out, summaryColumns)
		if err != nil {
			return err
		}
		if err := pw.Write(summaryRow(j)); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.RunID != u.RunID || f.Table == "" {
			continue
		}
		_, tableKey := ParquetKeys(u.Username, u.JobID, f.Key)
		e := NewExport(st, u.JobID, []File{f})
		if err := putParquet(ctx, w, tableKey, func(out io.Writer) error { return e.WriteParquet(ctx, out) }); err != nil {
			return err
		}
	}
	return nil
}

// putParquet writes a file to a temporary file (the object's size must be
// known up front for a single PUT) and stores it.
func putParquet(ctx context.Context, w ObjectWriter, key string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp("", "results-*.parquet")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(tmp); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return w.Put(ctx, key, tmp, size, ParquetContentType)
}
