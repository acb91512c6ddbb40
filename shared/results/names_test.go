package results

import "testing"

func TestParseName(t *testing.T) {
	for _, c := range []struct {
		name, attr string
		want       Name
	}{
		// Node-step files, bare and with client prefixes.
		{"alice/12345_0_node01.h5", "", Name{"12345", "0", "node01", "", FormNodeStep}},
		{"12345_batch_node01.h5", "", Name{"12345", "batch", "node01", "", FormNodeStep}},
		{"12345_extern_c0107.h5", "", Name{"12345", "extern", "c0107", "", FormNodeStep}},
		{"12345_interactive_n1.h5", "", Name{"12345", "interactive", "n1", "", FormNodeStep}},
		{"cache_sweep_job_20005_20005_0_node01.h5", "", Name{"20005", "0", "node01", "cache_sweep_job_20005", FormNodeStep}},
		{"stream_20006_1_node02.h5", "", Name{"20006", "1", "node02", "stream", FormNodeStep}},
		{"9646276_batch_c0107.h5", "", Name{"9646276", "batch", "c0107", "", FormNodeStep}},
		{"12352_0_multi_root.h5", "", Name{"12352", "0", "multi_root", "", FormNodeStep}},
		{"runs/sub/hpl_77_12_gpu-node-3.h5", "", Name{"77", "12", "gpu-node-3", "hpl", FormNodeStep}},
		// Merged files.
		{"job_20007.h5", "", Name{"20007", "", "", "", FormMerged}},
		{"cache_sweep_job_20007.h5", "", Name{"20007", "", "", "cache_sweep", FormMerged}},
		{"12346_job_merged.h5", "", Name{"12346", "", "", "", FormMerged}},
		{"hpl_run_12346_job_merged.h5", "", Name{"12346", "", "", "hpl_run", FormMerged}},
		// The file's own attribute wins over the name.
		{"job_20007.h5", "999", Name{"999", "", "", "", FormMerged}},
		{"whatever.h5", "4242", Name{"4242", "", "", "whatever", ""}},
		// Names that match no form: the stem is the job.
		{"generic_datasets.h5", "", Name{"generic_datasets", "", "", "generic_datasets", ""}},
		{"12350_job_merged_zero_node.h5", "", Name{"12350_job_merged_zero_node", "", "", "12350_job_merged_zero_node", ""}},
		{"12345_x_node01.h5", "", Name{"12345_x_node01", "", "", "12345_x_node01", ""}},
		{"abc_0_node01.h5", "", Name{"abc_0_node01", "", "", "abc_0_node01", ""}},
		{"12345_0_.h5", "", Name{"12345_0_", "", "", "12345_0_", ""}},
		{"job_.h5", "", Name{"job_", "", "", "job_", ""}},
		{"job.h5", "", Name{"job", "", "", "job", ""}},
		{"job_12a.h5", "", Name{"job_12a", "", "", "job_12a", ""}},
	} {
		if got := ParseName(c.name, c.attr); got != c.want {
			t.Errorf("ParseName(%q, %q) = %+v, want %+v", c.name, c.attr, got, c.want)
		}
	}
}
