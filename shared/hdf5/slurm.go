package hdf5

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/benchwrap/backend/shared/profile"
)

// StartTimeLayout is Slurm's "Start Time" attribute format
// (strftime "%a %b %d %H:%M:%S %Y").
const StartTimeLayout = "Mon Jan 02 15:04:05 2006"

// SlurmNode is the content of one node-step: the group /<node> of a
// node-step file, or /Steps/<step>/Nodes/<node> of a merged file.
// Each series is the list of compound members in order: ElapsedTime,
// EpochTime, then the series fields; a nil series is absent.
type SlurmNode struct {
	Name        string
	Index       int32
	NumTasks    int32 // "Number of Tasks"; 0 means len(Tasks)
	CPUsPerTask int32
	StartTime   time.Time // written in its own location, StartTimeLayout

	Energy     []profile.Column
	Filesystem []profile.Column
	Network    []profile.Column
	Tasks      []SlurmTask
	// EnergyName is the name of the Energy dataset ("" is "Energy"): a
	// site's plugin may write its power elsewhere.
	EnergyName string
	// Others are more datasets of the node group (name, columns).
	Others []SlurmSeries
}

// SlurmSeries is one more dataset of a node group.
type SlurmSeries struct {
	Name    string
	Columns []profile.Column
}

// SlurmTask is one task's series, stored as Tasks/<ID>.
type SlurmTask struct {
	ID      int // global task id
	Columns []profile.Column
}

// SlurmStep is one step of a merged file. Name is "batch", "0", "1", ...
type SlurmStep struct {
	Name  string
	Nodes []SlurmNode
}

// NodeStepFileName is Slurm's name for a node-step file:
// <jobid>_<step>_<node>.h5.
func NodeStepFileName(jobID uint64, step, node string) string {
	return fmt.Sprintf("%d_%s_%s.h5", jobID, step, node)
}

func i32Attr(name string, v int32) profile.Attr {
	return profile.Attr{Name: name, Kind: profile.AttrInt, Size: 4, Ints: []int64{int64(v)}}
}

func strAttr(name, v string) profile.Attr {
	return profile.Attr{Name: name, Kind: profile.AttrString, Size: len(v), Strings: []string{v}}
}

// NodeGroup builds the group of one node-step (§3 of the spec): attributes
// "Node Index", "Node Name", "Number of Tasks", "CPUs per Task", "Start
// Time", the Energy/Filesystem/Network datasets and the Tasks group.
func NodeGroup(n SlurmNode, parent []string) *profile.Group {
	parts := append(append([]string(nil), parent...), n.Name)
	tasks := n.NumTasks
	if tasks == 0 {
		tasks = int32(len(n.Tasks))
	}
	g := &profile.Group{
		Name:  n.Name,
		Parts: parts,
		Attrs: []profile.Attr{
			i32Attr("CPUs per Task", n.CPUsPerTask),
			i32Attr("Node Index", n.Index),
			strAttr("Node Name", n.Name),
			i32Attr("Number of Tasks", tasks),
			strAttr("Start Time", n.StartTime.Format(StartTimeLayout)),
		},
	}
	add := func(name string, cols []profile.Column) {
		if cols != nil {
			g.Items = append(g.Items, profile.Item{Dataset: seriesDataset(name, cols, parts)})
		}
	}
	energy := n.EnergyName
	if energy == "" {
		energy = "Energy"
	}
	add(energy, n.Energy)
	for _, o := range n.Others {
		add(o.Name, o.Columns)
	}
	add("Filesystem", n.Filesystem)
	add("Network", n.Network)
	if len(n.Tasks) > 0 {
		tparts := append(append([]string(nil), parts...), "Tasks")
		tg := &profile.Group{Name: "Tasks", Parts: tparts}
		for _, t := range n.Tasks {
			tg.Items = append(tg.Items, profile.Item{Dataset: seriesDataset(strconv.Itoa(t.ID), t.Columns, tparts)})
		}
		sortItems(tg.Items)
		g.Items = append(g.Items, profile.Item{Group: tg})
	}
	sortItems(g.Items)
	return g
}

func seriesDataset(name string, cols []profile.Column, parent []string) *profile.Dataset {
	return &profile.Dataset{
		Name:     name,
		Parts:    append(append([]string(nil), parent...), name),
		Compound: true,
		Columns:  cols,
	}
}

func sortItems(items []profile.Item) {
	sort.SliceStable(items, func(a, b int) bool { return items[a].Name() < items[b].Name() })
}

// NodeStepTree is the tree of a node-step file: a root without attributes
// holding the node's group.
func NodeStepTree(n SlurmNode) *profile.Group {
	return &profile.Group{Items: []profile.Item{{Group: NodeGroup(n, nil)}}}
}

// MergeOrder is sh5util's numeric order of a step name: "batch" is -2,
// numeric names are their value (extern appears as "-4"); others sort last.
func MergeOrder(step string) int64 {
	if step == "batch" {
		return -2
	}
	if v, err := strconv.ParseInt(step, 10, 64); err == nil {
		return v
	}
	return 1 << 62
}

// MergedTree is the tree of an sh5util-merged job file (§5): root attribute
// "Number of Steps", /Steps/<step>/Nodes/<node>/... and the attribute
// "Number of Nodes" on every step except the last one merged (sh5util's
// behaviour; steps are merged in MergeOrder).
func MergedTree(steps []SlurmStep) *profile.Group {
	ordered := append([]SlurmStep(nil), steps...)
	sort.SliceStable(ordered, func(a, b int) bool { return MergeOrder(ordered[a].Name) < MergeOrder(ordered[b].Name) })
	sg := &profile.Group{Name: "Steps", Parts: []string{"Steps"}}
	for i, st := range ordered {
		parts := []string{"Steps", st.Name}
		g := &profile.Group{Name: st.Name, Parts: parts}
		if i < len(ordered)-1 {
			g.Attrs = []profile.Attr{i32Attr("Number of Nodes", int32(len(st.Nodes)))}
		}
		nparts := append(append([]string(nil), parts...), "Nodes")
		ng := &profile.Group{Name: "Nodes", Parts: nparts}
		for _, n := range st.Nodes {
			ng.Items = append(ng.Items, profile.Item{Group: NodeGroup(n, nparts)})
		}
		sortItems(ng.Items)
		g.Items = []profile.Item{{Group: ng}}
		sg.Items = append(sg.Items, profile.Item{Group: g})
	}
	sortItems(sg.Items)
	return &profile.Group{
		Attrs: []profile.Attr{i32Attr("Number of Steps", int32(len(steps)))},
		Items: []profile.Item{{Group: sg}},
	}
}

// WriteNodeStep writes a Slurm node-step file.
func WriteNodeStep(path string, n SlurmNode) error {
	return WriteFile(path, NodeStepTree(n), WriteOptions{})
}

// WriteMerged writes an sh5util-merged job file.
func WriteMerged(path string, steps []SlurmStep) error {
	return WriteFile(path, MergedTree(steps), WriteOptions{})
}
