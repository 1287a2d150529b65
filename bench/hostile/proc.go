package hostile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tfserve/tfserve/internal/syncbuf"
)

// Build compiles cmd/tfserve from the module rooted at root into dir and
// returns the binary's path.
func Build(ctx context.Context, root, dir string) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "tfserve")
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-o", bin, "./cmd/tfserve")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tfserve: %w\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot walks up from the working directory to the folder holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Options says how to start the server.
type Options struct {
	Binary string
	// AddressSpace is the child's RLIMIT_AS in bytes (prlimit --as).
	AddressSpace int64
	// Config is the text ModelServerConfig; MonitoringConfig the text
	// MonitoringConfig (empty: none).
	Config, MonitoringConfig string
	// Dir holds the config files written for the server.
	Dir string
	// Flags are appended to the ones Start sets.
	Flags []string
	// Env is appended to the child's environment.
	Env []string
}

// Proc is a running tfserve child process.
type Proc struct {
	cmd      *exec.Cmd
	RESTPort int
	GRPCPort int
	done     chan struct{}
	waitErr  error
	stderr   *syncbuf.Buffer
}

// MetricsPath is where Start's monitoring config serves Prometheus metrics.
const MetricsPath = "/monitoring/prometheus/metrics"

// Start runs the server under prlimit with the config, on free loopback
// ports, and waits until /healthz answers.
func Start(ctx context.Context, o Options) (*Proc, error) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, fmt.Errorf("prlimit (util-linux) is needed to bound the server's address space: %w", err)
	}
	cfg := filepath.Join(o.Dir, "models.config")
	if err := os.WriteFile(cfg, []byte(o.Config), 0o644); err != nil {
		return nil, err
	}
	rest, err := FreePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"--as=" + strconv.FormatInt(o.AddressSpace, 10), "--", o.Binary,
		"--rest_api_port=" + strconv.Itoa(rest), "--port=" + strconv.Itoa(grpcPort),
		"--model_config_file=" + cfg}
	if o.MonitoringConfig != "" {
		mon := filepath.Join(o.Dir, "monitoring.config")
		if err := os.WriteFile(mon, []byte(o.MonitoringConfig), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "--monitoring_config_file="+mon)
	}
	args = append(args, o.Flags...)
	p := &Proc{RESTPort: rest, GRPCPort: grpcPort, done: make(chan struct{}), stderr: &syncbuf.Buffer{}}
	p.cmd = exec.Command(prlimit, args...)
	p.cmd.Env = append(os.Environ(), o.Env...)
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	// prlimit execs the server, so the child's pid is the server's.
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Binary, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if !p.Alive() {
			return nil, fmt.Errorf("server exited at start: %v\n%s", p.waitErr, p.Stderr())
		}
		if p.Healthy() == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.Stop()
	return nil, fmt.Errorf("server did not answer /healthz in 60s\n%s", p.Stderr())
}

// REST returns the server's REST base URL.
func (p *Proc) REST() string { return "http://127.0.0.1:" + strconv.Itoa(p.RESTPort) }

// RESTAddr returns host:port of the REST API.
func (p *Proc) RESTAddr() string { return "127.0.0.1:" + strconv.Itoa(p.RESTPort) }

// GRPCAddr returns host:port of the gRPC API.
func (p *Proc) GRPCAddr() string { return "127.0.0.1:" + strconv.Itoa(p.GRPCPort) }

// Pid returns the server's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Alive reports whether the process has not exited.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// ExitError describes how the process ended ("" while it runs).
func (p *Proc) ExitError() string {
	if p.Alive() {
		return ""
	}
	return fmt.Sprint(p.waitErr)
}

// Healthy checks that GET /healthz answers 200 within 5 seconds.
func (p *Proc) Healthy() error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.REST() + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %d", resp.StatusCode)
	}
	return nil
}

// Check is nil when the process runs and /healthz answers 200.
func (p *Proc) Check() error {
	if !p.Alive() {
		return fmt.Errorf("server died: %s\n%s", p.ExitError(), tail(p.Stderr(), 4000))
	}
	if err := p.Healthy(); err != nil {
		return fmt.Errorf("server alive but unhealthy: %w", err)
	}
	return nil
}

// PeakRSS returns the process's peak resident set (VmHWM), or the last
// value read before it exited.
func (p *Proc) PeakRSS() (int64, error) { return procStatus(p.Pid(), "VmHWM:") }

// ResetPeak resets VmHWM to the current RSS (clear_refs 5), so that the
// next PeakRSS measures from now.
func (p *Proc) ResetPeak() error {
	return os.WriteFile("/proc/"+strconv.Itoa(p.Pid())+"/clear_refs", []byte("5"), 0)
}

// RSS returns the process's current resident set (VmRSS).
func (p *Proc) RSS() (int64, error) { return procStatus(p.Pid(), "VmRSS:") }

// PeakVM returns the process's peak virtual size (VmPeak).
func (p *Proc) PeakVM() (int64, error) { return procStatus(p.Pid(), "VmPeak:") }

func procStatus(pid int, key string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line)
			if len(f) < 2 {
				break
			}
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// Stderr returns everything the server has written so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Stop sends SIGTERM, waits up to 10 seconds, then kills the process.
func (p *Proc) Stop() {
	if !p.Alive() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
