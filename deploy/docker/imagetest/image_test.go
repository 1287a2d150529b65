package imagetest

import (
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tfserve/tfserve/internal/fixtures"
)

const imageName = "localhost/tfserve:imagetest"

// enabled reports whether the image test should run: it builds a binary and
// an image and needs root and buildah, so only on request or in CI.
func enabled() bool {
	return os.Getenv("TFSERVE_IMAGE_TEST") == "1" || os.Getenv("CI") == "true"
}

// buildah runs buildah against a private store under dir.
type buildah struct {
	t     *testing.T
	flags []string
}

func (b buildah) cmd(args ...string) *exec.Cmd {
	return exec.Command("buildah", append(slices.Clone(b.flags), args...)...)
}

func (b buildah) out(args ...string) string {
	b.t.Helper()
	var stderr bytes.Buffer
	c := b.cmd(args...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		b.t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestServingImage builds the image with deploy/docker/build-image.sh (what `make
// image` runs) into a private buildah store, checks the image config and
// root filesystem, then runs it with `buildah run --isolation chroot` inside
// a new network namespace (only loopback: nothing is reachable from outside)
// with TF Serving's image conventions (-e MODEL_NAME, models under /models,
// no flags), and checks half_plus_two's predictions and a graceful SIGTERM.
func TestServingImage(t *testing.T) {
	if !enabled() {
		t.Skip("set TFSERVE_IMAGE_TEST=1 (make image-test) to build and run the serving image")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the image test needs root (buildah with chroot isolation, network namespaces)")
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatal("buildah is not installed (apt-get install -y buildah)")
	}
	root := fixtures.ModuleRoot(t)
	tmp := t.TempDir()
	store := []string{"--root", filepath.Join(tmp, "storage"), "--runroot", filepath.Join(tmp, "run"), "--storage-driver", "vfs"}
	b := buildah{t: t, flags: store}

	// Build exactly as `make image` does (TFSERVE_BIN, if set in the
	// environment, is passed through: the image is then built from it).
	build := exec.Command("deploy/docker/build-image.sh", imageName)
	build.Dir = root
	build.Env = append(os.Environ(), "BUILDER=buildah", "CONTEXT="+filepath.Join(tmp, "context"),
		"BUILDAH_FLAGS="+strings.Join(store, " "))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("deploy/docker/build-image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = b.cmd("rmi", "--all", "--force").Run() })

	checkImageConfig(t, b)

	ctr := b.out("from", imageName)
	t.Cleanup(func() { _ = b.cmd("rm", ctr).Run() })
	mnt := b.out("mount", ctr)
	checkRootfs(t, mnt)
	b.out("umount", ctr)

	models := filepath.Join(tmp, "models")
	mk := exec.Command("go", "run", "./cmd/mkmodels", "-out", models)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("mkmodels: %v\n%s", err, out)
	}
	// The server runs as 65532: like any volume mounted into a non-root
	// container, the model files must be readable by it.
	if err := makeWorldReadable(models); err != nil {
		t.Fatal(err)
	}

	// buildah run ignores the image's ENTRYPOINT, so the command is /tfserve
	// with no flags: MODEL_NAME and MODEL_BASE_PATH (from the image's ENV)
	// pick the model, as in TF Serving's image.
	var logs bytes.Buffer
	run := b.cmd("run", "--isolation", "chroot", "-v", models+":/models:ro", "-e", "MODEL_NAME=half_plus_two",
		ctr, "--", "/tfserve", "--file_system_poll_wait_seconds=0")
	run.Stdout, run.Stderr = &logs, &logs
	run.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := run.Start(); err != nil {
		t.Fatalf("buildah run: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = run.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("container output:\n%s", logs.String())
		}
	}()
	ns := netns{pid: run.Process.Pid}
	if err := ns.do(loopbackUp); err != nil {
		t.Fatalf("bring up loopback in the container's network namespace: %v", err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: ns.dial}}
	const base = "http://127.0.0.1:8501"

	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("container exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 60 s (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	xs := []float64{1.0, 2.0, 5.0}
	body, _ := json.Marshal(map[string]any{"instances": xs})
	resp, err := client.Post(base+"/v1/models/half_plus_two:predict", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct{ Predictions []float64 }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(rb, &got) != nil || len(got.Predictions) != len(xs) {
		t.Fatalf("predict: %d %s", resp.StatusCode, rb)
	}
	for i, x := range xs {
		if want := 0.5*x + 2; math.Abs(got.Predictions[i]-want) > 1e-6 {
			t.Errorf("half_plus_two(%g) = %g, want %g", x, got.Predictions[i], want)
		}
	}

	// gRPC listens on 8500 as in TF Serving's image.
	if err := ns.do(func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:8500", 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Errorf("gRPC port 8500: %v", err)
	}

	pid, err := findServer(ns.pid)
	if err != nil {
		t.Fatal(err)
	}
	if uid, err := procUID(pid); err != nil || uid != "65532" {
		t.Errorf("server runs as uid %q (%v), want 65532", uid, err)
	}
	// A container runtime stops a container with SIGTERM to its process
	// (buildah run itself does not forward signals).
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("container exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server still running 30 s after SIGTERM")
	}
	if !strings.Contains(logs.String(), "msg=\"shut down\"") {
		t.Errorf("no graceful shutdown in the logs:\n%s", logs.String())
	}
}

// checkImageConfig checks the OCI config: TF Serving's ports and
// environment, a numeric non-root user, /tfserve as entrypoint. It logs the
// image size.
func checkImageConfig(t *testing.T, b buildah) {
	t.Helper()
	var img struct {
		OCIv1 struct {
			Config struct {
				User         string
				ExposedPorts map[string]struct{}
				Env          []string
				Entrypoint   []string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(b.out("inspect", "--type", "image", imageName)), &img); err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	c := img.OCIv1.Config
	if c.User != "65532:65532" {
		t.Errorf("USER %q, want 65532:65532", c.User)
	}
	for _, p := range []string{"8500/tcp", "8501/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, c.ExposedPorts)
		}
	}
	for _, e := range []string{"MODEL_NAME=model", "MODEL_BASE_PATH=/models"} {
		if !slices.Contains(c.Env, e) {
			t.Errorf("ENV %s missing: %v", e, c.Env)
		}
	}
	if !slices.Equal(c.Entrypoint, []string{"/tfserve"}) {
		t.Errorf("ENTRYPOINT %q", c.Entrypoint)
	}
	size := b.out("images", "--format", "{{.Size}}", imageName)
	t.Logf("image %s: %s (uncompressed)", imageName, size)
}

// checkRootfs checks the image's files: nothing but a static binary, the CA
// bundle, passwd/group with the non-root user, and the writable directories.
func checkRootfs(t *testing.T, mnt string) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(mnt, p)
			files = append(files, "/"+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/etc/group", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt", "/tfserve"}
	if !slices.Equal(files, want) {
		t.Errorf("image files %v, want %v", files, want)
	}
	f, err := elf.Open(filepath.Join(mnt, "tfserve"))
	if err != nil {
		t.Fatalf("/tfserve: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/tfserve is dynamically linked; FROM scratch needs a static binary")
		}
	}
	f.Close()
	pem, err := os.ReadFile(filepath.Join(mnt, "etc/ssl/certs/ca-certificates.crt"))
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Errorf("CA bundle unreadable or without certificates: %v", err)
	}
	passwd, _ := os.ReadFile(filepath.Join(mnt, "etc/passwd"))
	if !strings.Contains(string(passwd), "\nnonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot 65532 line:\n%s", passwd)
	}
	if st, err := os.Stat(filepath.Join(mnt, "tmp")); err != nil || st.Mode()&(fs.ModeSticky|fs.ModePerm) != fs.ModeSticky|0o777 {
		t.Errorf("/tmp: %v %v, want drwxrwxrwt", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Join(mnt, "cache")); err != nil || st.Sys().(*syscall.Stat_t).Uid != 65532 {
		t.Errorf("/cache must belong to 65532: %v", err)
	}
	if st, err := os.Stat(filepath.Join(mnt, "models")); err != nil || !st.IsDir() {
		t.Errorf("/models: %v", err)
	}
}

func makeWorldReadable(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

// netns runs code in the network namespace of process pid, on a locked OS
// thread (setns changes only the calling thread); sockets opened there stay
// in that namespace.
type netns struct{ pid int }

func (n netns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer unix.Close(self)
		target, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", n.pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns of %d: %w", n.pid, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it ends with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("restore netns: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func (n netns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// loopbackUp sets lo up in the current thread's network namespace (a new
// namespace starts with lo down).
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// findServer returns the pid of the tfserve process that shares the network
// namespace of process nsPid.
func findServer(nsPid int) (int, error) {
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", nsPid))
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "tfserve" {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && ns == want {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no tfserve process in network namespace %s", want)
}

func procUID(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("no Uid line in /proc/%d/status", pid)
}
