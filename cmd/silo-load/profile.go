package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiles writes the CPU, mutex and block profiles asked for with
// -cpuprofile, -mutexprofile and -blockprofile, covering only the phase
// between start and the returned stop (the Silo side of a scenario). The
// load generator runs in the same process: read the profiles with
// `go tool pprof -focus` on the server's frames (router, tenantdb, gin)
// to set the clients aside.
type profiles struct {
	cpu, mutex, block string
	cpuFile           *os.File
}

func (p *profiles) start() error {
	if p.mutex != "" {
		runtime.SetMutexProfileFraction(5)
	}
	if p.block != "" {
		runtime.SetBlockProfileRate(10_000) // one sample per 10 µs blocked
	}
	if p.cpu == "" {
		return nil
	}
	f, err := os.Create(p.cpu)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.cpuFile = f
	return nil
}

// stop ends the phase: the CPU profile stops and the mutex and block
// profiles are written; sampling is switched off again.
func (p *profiles) stop() error {
	var errs []error
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpuFile.Close())
		p.cpuFile = nil
	}
	write := func(name, path string) {
		if path == "" {
			return
		}
		f, err := os.Create(path)
		if err == nil {
			err = pprof.Lookup(name).WriteTo(f, 0)
			errs = append(errs, f.Close())
		}
		errs = append(errs, err)
	}
	write("mutex", p.mutex)
	write("block", p.block)
	runtime.SetMutexProfileFraction(0)
	runtime.SetBlockProfileRate(0)
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("profiles: %w", err)
		}
	}
	return nil
}
