package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// cpuMeter reads the CPU time used by this process (server and clients
// alike) and by the database servers, those that run on this machine
// (their @@pid_file is readable here), so that a phase's CPU per request
// can be set beside the other phase's.
type cpuMeter struct{ dbPIDs []string }

func newCPUMeter(roots ...*sqlx.DB) cpuMeter {
	var m cpuMeter
	for _, root := range roots {
		var pidFile string
		if err := root.Get(&pidFile, "SELECT @@pid_file"); err != nil {
			continue
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			continue
		}
		pid := strings.TrimSpace(string(b))
		if _, err := os.Stat("/proc/" + pid + "/stat"); err == nil {
			m.dbPIDs = append(m.dbPIDs, pid)
		}
	}
	return m
}

// cpuSample is the CPU time used so far by this process and the database.
type cpuSample struct{ self, db time.Duration }

func (m cpuMeter) sample() cpuSample {
	s := cpuSample{self: procCPU("self")}
	for _, pid := range m.dbPIDs {
		s.db += procCPU(pid)
	}
	return s
}

// perRequest is the CPU per request between two samples, in µs.
func (m cpuMeter) perRequest(from, to cpuSample, requests int64) (self, db float64) {
	if requests == 0 {
		return 0, 0
	}
	n := float64(requests)
	return float64((to.self - from.self).Microseconds()) / n, float64((to.db - from.db).Microseconds()) / n
}

// procCPU is a process's user and system time from /proc/<pid>/stat.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it do not.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
