package analysis

import (
	"encoding/json"
	"testing"
)

func TestDetailsJSON(t *testing.T) {
	for _, c := range []struct {
		d    Details
		want string
	}{
		{Details{JobID: "zero", TableName: "job_zero_bytes"},
			`{"job_id":"zero","table_name":"job_zero_bytes","warnings":[]}`},
		{Details{JobID: "1", TableName: "job_1", Group: "node01", EpochColumn: "Tasks__0__EpochTime",
			Groups: []GroupReport{{Group: "node01", Errors: 1, Total: 2, Datasets: []DatasetReport{
				{Path: "node01/Energy", Status: "error: OSError", Error: "inflate failed"},
				{Path: "node01/Tasks/0", Status: DatasetUsed, Prefix: "Tasks__0", Rows: 8}}}}},
			`{"job_id":"1","table_name":"job_1","warnings":[],"groups":[{"group":"node01","empty":0,"zero_power":0,"errors":1,"total":2,` +
				`"datasets":[{"path":"node01/Energy","status":"error: OSError","error":"inflate failed"},` +
				`{"path":"node01/Tasks/0","status":"used","prefix":"Tasks__0","rows":8}]}],` +
				`"group":"node01","epoch_column":"Tasks__0__EpochTime","power_column":null,"energy_column":null}`},
	} {
		b, err := json.Marshal(c.d)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("got  %s\nwant %s", b, c.want)
		}
	}
}
