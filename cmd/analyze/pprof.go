package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

// profileEnv names a directory where the batch analyzer writes cpu.pprof
// (the whole run) and heap.pprof (at the end), for `bench-analyze -pprof`.
const profileEnv = "ANALYZE_PPROF_DIR"

// startProfile starts the CPU profile when profileEnv is set; the returned
// function stops it and writes the heap profile.
func startProfile() func() {
	dir := os.Getenv(profileEnv)
	if dir == "" {
		return func() {}
	}
	cpu, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err == nil {
		err = pprof.StartCPUProfile(cpu)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "analyze: profile:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		if f, err := os.Create(filepath.Join(dir, "heap.pprof")); err == nil {
			runtime.GC()
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
}
