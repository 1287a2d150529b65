package e2e

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tfserve/tfserve/bench/hostile"
	"github.com/tfserve/tfserve/internal/fixtures"
)

// Bounds of TestHostile.
const (
	// hostileAS is the server's address-space limit. A healthy tfserve
	// serving these four models peaks near 1.3 GiB of virtual memory (Go
	// reserves arenas and thread stacks up front); 4 GiB leaves room for
	// the budgets (--request_max_bytes 256 MiB, a 64 MiB body) while any
	// unbudgeted multi-GiB allocation fails, which Go cannot survive.
	hostileAS = 4 << 30
	// rssGrowth bounds how far peak RSS (VmHWM, reset before each case)
	// may rise over the RSS at the start of one case. The largest hostile
	// body is 64 MiB (--rest_api_max_body_bytes, also the decompression
	// bound), and the server lets the heap grow by 256 MiB of garbage
	// between collections (package gctune), so a body that is parsed once
	// and refused costs up to ~64 MiB x a small factor + 256 MiB. 512 MiB is
	// 8x the largest body and well below what issue 11's inputs took
	// (1-8 GiB); anything unbudgeted blows past it or past hostileAS.
	rssGrowth = 512 << 20
)

// hostileServer is one launch of the server with its normal clients.
type hostileServer struct {
	target *hostile.Target
	normal *hostile.Normal
	stop   func()
	base   int64 // RSS once warmed up
	// peakGrowth is the largest growth of peak RSS over one case.
	peakGrowth int64
}

func launchHostile(t *testing.T, bin, fixtures, root, scratch string) *hostileServer {
	t.Helper()
	dir, err := os.MkdirTemp(scratch, "server")
	if err != nil {
		t.Fatal(err)
	}
	tgt, calls, stop, err := hostile.Launch(context.Background(), hostile.Setup{
		Root: root, Fixtures: fixtures, Binary: bin, Dir: dir, AddressSpace: hostileAS,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls { // every normal call works before the battery
		if err := c.Do(context.Background()); err != nil {
			stop()
			t.Fatalf("normal call %s before any hostile input: %v", c.Name, err)
		}
	}
	s := &hostileServer{target: tgt, stop: stop, normal: hostile.StartNormal(calls, 1)}
	time.Sleep(2 * time.Second) // warm up under normal load
	s.base, err = tgt.Proc.RSS()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// finish stops the normal clients and checks them and the peak RSS.
func (s *hostileServer) finish(t *testing.T) {
	t.Helper()
	vm, _ := s.target.Proc.PeakVM()
	s.normal.Stop()
	ok, failed := s.normal.Counts()
	t.Logf("server pid %d: baseline RSS %d MiB, largest peak-RSS growth over one case %d MiB, peak VM %d MiB; normal calls %d ok, %d failed",
		s.target.Proc.Pid(), s.base>>20, s.peakGrowth>>20, vm>>20, ok, failed)
	if failed > 0 {
		t.Errorf("%d normal calls failed meanwhile, e.g. %q", failed, s.normal.Failures())
	}
	if ok == 0 {
		t.Error("no normal call completed")
	}
	s.stop()
}

// TestHostile runs tfserve as a child process under an address-space limit
// and fires issue 11's hostile requests, connection patterns and model
// files at it while normal REST and gRPC clients keep calling predict: the
// server must survive each (alive, /healthz 200), answer each with a clear
// 4xx / gRPC error naming the limit, fail no normal call, and keep its
// peak RSS within rssGrowth of its baseline. A case that kills the server
// fails and the server is started again for the next case.
func TestHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	if _, err := exec.LookPath("prlimit"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prlimit (util-linux) is missing; CI=true requires it")
		}
		t.Skip("prlimit (util-linux) is missing")
	}
	fx := fixtures.Dir(t)
	root, err := hostile.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := hostile.Build(context.Background(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	s := launchHostile(t, bin, fx, root, scratch)
	defer func() { s.finish(t) }()
	for _, c := range hostile.Battery() {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			s.target.Logf = t.Logf
			before, rerr := s.target.Proc.RSS()
			if rerr == nil {
				rerr = s.target.Proc.ResetPeak()
			}
			if rerr != nil {
				t.Fatalf("cannot measure RSS: %v", rerr)
			}
			err := c.Run(ctx, s.target)
			s.target.Logf = nil
			if err != nil {
				t.Error(err)
			}
			if peak, err := s.target.Proc.PeakRSS(); err == nil {
				t.Logf("RSS %d MiB before, peak %d MiB during (+%d MiB)", before>>20, peak>>20, (peak-before)>>20)
				if peak-before > rssGrowth {
					t.Errorf("peak RSS grew by %d MiB during %s, over %d MiB", (peak-before)>>20, c.Name, rssGrowth>>20)
				}
				s.peakGrowth = max(s.peakGrowth, peak-before)
			}
			if err := s.target.Proc.Check(); err != nil {
				t.Errorf("after %s: %v", c.Name, err)
				s.finish(t)
				s = launchHostile(t, bin, fx, root, scratch)
			}
		})
	}
}
