package testdb

import (
	"regexp"
	"runtime"
	"strings"
)

var goroutineHeader = regexp.MustCompile(`^goroutine \d+`)

// Goroutines returns the stacks of the process's running goroutines whose
// stack mentions code, by goroutine header ("goroutine 12"). Lifecycle
// tests take it before and after a Close to find goroutines left running;
// such tests must not run in parallel.
func Goroutines(code string) map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, code) {
			out[goroutineHeader.FindString(g)] = g
		}
	}
	return out
}
