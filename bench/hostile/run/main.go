// Command hostile runs issue 11's hostile mix against tfserve for a fixed
// time: the server runs as a child process under an address-space limit,
// normal REST and gRPC clients call predict in a loop, and the battery of
// package bench/hostile (hostile requests, connection patterns and
// model files) runs round after round. It reports crashes (the server is
// restarted after one), cases answered wrongly, failed normal requests and
// peak RSS, as a Markdown table for BENCHMARKS.md.
//
//	go run ./bench/hostile/run -duration 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tfserve/tfserve/bench/hostile"
)

type tally struct{ runs, wrong, crashes int }

func main() {
	duration := flag.Duration("duration", 60*time.Second, "how long to run the mix")
	as := flag.Int64("as", 4<<30, "server address-space limit (prlimit --as), bytes")
	perCall := flag.Int("normal", 2, "normal clients per normal call (4 calls: REST demo, gRPC fixture, REST GRU, REST victim)")
	flag.Parse()
	if err := run(*duration, *as, *perCall); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, as int64, perCall int) error {
	root, err := hostile.ModuleRoot()
	if err != nil {
		return err
	}
	scratch, err := os.MkdirTemp("", "tfserve-hostile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	bin, err := hostile.Build(context.Background(), root, scratch)
	if err != nil {
		return err
	}
	setup := hostile.Setup{Root: root, Fixtures: filepath.Join(filepath.Dir(root), "shared", "fixtures"), Binary: bin, AddressSpace: as}
	launches := 0
	launch := func() (*hostile.Target, *hostile.Normal, func(), error) {
		launches++
		setup.Dir = filepath.Join(scratch, fmt.Sprint("server", launches))
		if err := os.MkdirAll(setup.Dir, 0o755); err != nil {
			return nil, nil, nil, err
		}
		t, calls, stop, err := hostile.Launch(context.Background(), setup)
		if err != nil {
			return nil, nil, nil, err
		}
		return t, hostile.StartNormal(calls, perCall), stop, nil
	}
	t, normal, stop, err := launch()
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	base, _ := t.Proc.RSS()
	var peak, okAll, failedAll int64
	var failures []string
	finish := func() {
		p, _ := t.Proc.PeakRSS()
		peak = max(peak, p)
		normal.Stop()
		ok, failed := normal.Counts()
		okAll += ok
		failedAll += failed
		failures = append(failures, normal.Failures()...)
		stop()
	}
	tallies := map[string]*tally{}
	examples := map[string]string{}
	end := time.Now().Add(duration)
	rounds := 0
	for time.Now().Before(end) {
		rounds++
		for _, c := range hostile.Battery() {
			if time.Now().After(end) {
				break
			}
			tl := tallies[c.Name]
			if tl == nil {
				tl = &tally{}
				tallies[c.Name] = tl
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			err := c.Run(ctx, t)
			cancel()
			tl.runs++
			if err != nil {
				tl.wrong++
				examples[c.Name] = err.Error()
			}
			if cerr := t.Proc.Check(); cerr != nil {
				tl.crashes++
				examples[c.Name] = cerr.Error()
				finish()
				if t, normal, stop, err = launch(); err != nil {
					return err
				}
			}
		}
	}
	finish()
	report(duration, rounds, launches-1, base, peak, okAll, failedAll, failures, tallies, examples)
	return nil
}

func report(d time.Duration, rounds, crashes int, base, peak, ok, failed int64, failures []string,
	tallies map[string]*tally, examples map[string]string) {
	fmt.Printf("Hostile mix for %v: %d rounds of the battery, %d server crashes (restarts)\n", d, rounds, crashes)
	fmt.Printf("normal requests: %d ok, %d failed\n", ok, failed)
	for _, f := range failures[:min(len(failures), 5)] {
		fmt.Println("  failed:", f)
	}
	fmt.Printf("server RSS: baseline %d MiB, peak %d MiB (VmHWM over the run)\n\n", base>>20, peak>>20)
	fmt.Println("| case | runs | wrong answer | crashes |")
	fmt.Println("|---|---|---|---|")
	names := make([]string, 0, len(tallies))
	for n := range tallies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tl := tallies[n]
		fmt.Printf("| %s | %d | %d | %d |\n", n, tl.runs, tl.wrong, tl.crashes)
	}
	for _, n := range names {
		if e, ok := examples[n]; ok {
			fmt.Printf("\n%s: %.300s\n", n, e)
		}
	}
}
