package main

import (
	"os"
	"strconv"
	"strings"
)

// machineCPU is the machine's CPU time so far, from /proc/stat, in clock
// ticks: busy (user, nice, system, irq, softirq, steal), waiting for I/O,
// and in all.
type machineCPU struct{ busy, iowait, total float64 }

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var v []float64
	for _, s := range f[1:] {
		n, _ := strconv.ParseFloat(s, 64)
		v = append(v, n)
	}
	if len(v) < 8 {
		return machineCPU{}
	}
	c := machineCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6] + v[7], iowait: v[4]}
	c.total = c.busy + v[3] + v[4]
	return c
}

// since is the share of the machine's CPU time that was busy, and that
// waited for I/O, between m and now (fractions of all cores).
func (m machineCPU) since() (busy, iowait float64) {
	now := readMachineCPU()
	d := now.total - m.total
	if d <= 0 {
		return 0, 0
	}
	return (now.busy - m.busy) / d, (now.iowait - m.iowait) / d
}
