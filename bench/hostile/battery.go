package hostile

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// Target is what a Case attacks.
type Target struct {
	Proc *Proc
	HTTP *http.Client
	GRPC *grpc.ClientConn
	// Model is a half_plus_two model: predict input x float [-1,1], and
	// classify/regress signatures over tf.Examples with feature x.
	Model string
	// AnyShapeModel has a predict input "x" of unknown shape (y = x/2 + 2).
	AnyShapeModel string
	// Victim is a model served from VictimBase, a watched base path that
	// Model cases drop new version directories into.
	Victim, VictimBase string
	// VictimSource is a good SavedModel version directory (truncated copies
	// of it are dropped as hostile versions).
	VictimSource string
	// VictimNormal is a normal call on Victim.
	VictimNormal func(ctx context.Context) error
	// Config is the server's model config (ReloadConfig cases resend it so
	// that the configured models stay).
	Config []ModelConfig
	// Secret is planted in URLs by the secret cases; it must never come back.
	Secret string
	// Normal is one normal call, used to check service during a case.
	Normal func(ctx context.Context) error

	// Logf, when set, records what a case saw (status, sizes).
	Logf func(format string, args ...any)

	versions atomic.Int64
}

func (t *Target) logf(format string, args ...any) {
	if t.Logf != nil {
		t.Logf(format, args...)
	}
}

// nextVersion returns a fresh version number for a hostile model.
func (t *Target) nextVersion() int64 { return 1000 + t.versions.Add(1) }

// ModelConfig is one entry of the server's model config.
type ModelConfig struct{ Name, BasePath string }

// ConfigText renders models as a text ModelServerConfig.
func ConfigText(models []ModelConfig) string {
	var b strings.Builder
	b.WriteString("model_config_list {\n")
	for _, m := range models {
		fmt.Fprintf(&b, "  config { name: %q base_path: %q model_platform: \"tensorflow\" }\n", m.Name, m.BasePath)
	}
	b.WriteString("}\n")
	return b.String()
}

// Case is one hostile input. Run returns nil when the server answered as a
// hardened server must; the caller checks survival afterwards.
type Case struct {
	Name string
	// Slow marks cases that take more than a few seconds; the benchmark
	// loop runs them less often.
	Slow bool
	Run  func(ctx context.Context, t *Target) error
}

// Battery returns every case, in the order the e2e test runs them.
func Battery() []Case {
	var cs []Case
	cs = append(cs, restCases()...)
	cs = append(cs, grpcCases()...)
	cs = append(cs, connCases()...)
	cs = append(cs, controlCases()...)
	cs = append(cs, modelCases()...)
	return cs
}

// expect4xx checks an HTTP answer: a 4xx status, and a body naming at least
// one of flags (when any are given) as "--flag".
func expect4xx(status int, body []byte, flags ...string) error {
	if status < 400 || status > 499 {
		return fmt.Errorf("status %d, want 4xx; body %s", status, trunc(body, 300))
	}
	return namesOne(string(body), flags)
}

// expectGRPC checks a gRPC error: the code and at least one of flags.
func expectGRPC(err error, code codes.Code, flags ...string) error {
	if err == nil {
		return fmt.Errorf("no error, want %v", code)
	}
	st, _ := grpcstatus.FromError(err)
	if st.Code() != code {
		return fmt.Errorf("code %v, want %v: %s", st.Code(), code, truncS(st.Message(), 300))
	}
	return namesOne(st.Message(), flags)
}

func namesOne(msg string, flags []string) error {
	if len(flags) == 0 {
		return nil
	}
	for _, f := range flags {
		if strings.Contains(msg, "--"+f) {
			return nil
		}
	}
	return fmt.Errorf("error does not name the limit (want one of --%s): %s", strings.Join(flags, ", --"), truncS(msg, 300))
}

func truncS(s string, n int) string { return trunc([]byte(s), n) }
