package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/valyala/fasthttp"
)

// Target sends one request and reports its outcome: the protocol status
// ("200", "503" for HTTP) when an answer came back, or a transport error when
// none did. A Target must be safe for concurrent use. A gRPC target can
// implement it next to [HTTPTarget].
type Target interface {
	Do(ctx context.Context) (status string, err error)
}

// vegetaTarget is implemented by targets that vegeta's attacker can drive
// for open-loop runs.
type vegetaTarget interface {
	vegetaTargeter() vegeta.Targeter
	vegetaClient() *http.Client
}

// HTTPOptions configures an HTTPTarget.
type HTTPOptions struct {
	// Header is added to every request; Content-Type defaults to
	// application/json.
	Header http.Header
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
	// EventLoops is the number of event loops (OS threads) that drive
	// runs over plain HTTP; 0 means DefaultEventLoops.
	EventLoops int
	// GoroutineClient drives runs without event loops: closed loop with
	// fasthttp's client, one goroutine per connection; open loop with
	// vegeta's attacker. HTTPS targets always use it.
	GoroutineClient bool
}

// HTTPTarget POSTs request bodies, round robin, to one URL. Runs over plain
// HTTP use gnet event loops (see eventloop.go); over HTTPS closed-loop runs
// use a fasthttp client (Do) and open-loop runs vegeta's attacker with a
// net/http client.
type HTTPTarget struct {
	url     string
	bodies  *Bodies
	header  http.Header
	timeout time.Duration
	fast    *fasthttp.HostClient
	tmpl    *fasthttp.Request // URI, method and headers; copied into reqs
	reqs    sync.Pool         // of *fasthttp.Request
	std     *http.Client

	eventLoops      int
	goroutineClient bool
	encoded         [][]byte // one full HTTP/1.1 request per body
}

var _ Target = (*HTTPTarget)(nil)

// NewHTTPTarget returns a target that POSTs bodies to rawURL.
func NewHTTPTarget(rawURL string, bodies *Bodies, opt HTTPOptions) (*HTTPTarget, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("target url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target url %q: scheme must be http or https", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("target url %q: no host", rawURL)
	}
	if bodies == nil {
		return nil, errors.New("target: no request bodies")
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.EventLoops < 0 {
		return nil, fmt.Errorf("target: %d event loops", opt.EventLoops)
	}
	if opt.EventLoops == 0 {
		opt.EventLoops = DefaultEventLoops
	}
	hdr := opt.Header.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json")
	}
	t := &HTTPTarget{
		url:     rawURL,
		bodies:  bodies,
		header:  hdr,
		timeout: opt.Timeout,

		eventLoops:      opt.EventLoops,
		goroutineClient: opt.GoroutineClient,
		fast: &fasthttp.HostClient{
			Addr:                          hostPort(u),
			IsTLS:                         u.Scheme == "https",
			Name:                          "tfserve-loadtest",
			MaxConns:                      1 << 16,
			ReadTimeout:                   opt.Timeout,
			WriteTimeout:                  opt.Timeout,
			MaxIdleConnDuration:           time.Minute,
			DisablePathNormalizing:        true,
			DisableHeaderNamesNormalizing: true,
		},
		std: &http.Client{
			Timeout: opt.Timeout,
			Transport: &http.Transport{
				Proxy:               nil,
				DialContext:         (&net.Dialer{Timeout: opt.Timeout, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        0,
				MaxIdleConnsPerHost: 1 << 14,
				IdleConnTimeout:     time.Minute,
				DisableCompression:  true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	t.tmpl = &fasthttp.Request{}
	t.tmpl.SetRequestURI(rawURL)
	t.tmpl.Header.SetMethod(fasthttp.MethodPost)
	for k, vs := range hdr {
		for _, v := range vs {
			t.tmpl.Header.Add(k, v)
		}
	}
	if err := t.encodeRequests(); err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	return t, nil
}

// hostPort returns u's host with the scheme's default port when none is
// given, as fasthttp's HostClient wants it.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// URL returns the target URL.
func (t *HTTPTarget) URL() string { return t.url }

// Do POSTs the next body and returns the HTTP status code as a string.
func (t *HTTPTarget) Do(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	req, _ := t.reqs.Get().(*fasthttp.Request)
	if req == nil {
		req = &fasthttp.Request{}
		t.tmpl.CopyTo(req)
	}
	defer t.reqs.Put(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.SetBodyRaw(t.bodies.Next())
	deadline := time.Now().Add(t.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := t.fast.DoDeadline(req, resp, deadline); err != nil {
		return "", err
	}
	return statusText(resp.StatusCode()), nil
}

func (t *HTTPTarget) vegetaTargeter() vegeta.Targeter {
	return func(tgt *vegeta.Target) error {
		tgt.Method = http.MethodPost
		tgt.URL = t.url
		tgt.Body = t.bodies.Next()
		tgt.Header = t.header
		return nil
	}
}

func (t *HTTPTarget) vegetaClient() *http.Client { return t.std }

// ErrorKey turns a transport error message into a short, stable key for
// the errors map: addresses and ports are dropped for the common cases.
func ErrorKey(msg string) string {
	l := strings.ToLower(msg)
	switch {
	case strings.Contains(l, "connection refused"):
		return "connection refused"
	case strings.Contains(l, "connection reset"):
		return "connection reset"
	case strings.Contains(l, "broken pipe"):
		return "broken pipe"
	case strings.Contains(l, "no such host"):
		return "no such host"
	case strings.Contains(l, "timeout"), strings.Contains(l, "deadline exceeded"), strings.Contains(l, "timed out"):
		return "timeout"
	case strings.Contains(l, "context canceled"):
		return "canceled"
	case strings.Contains(l, "server closed connection"), strings.Contains(l, "connection closed"):
		return "connection closed"
	case strings.HasPrefix(l, "protocol error"), strings.Contains(l, "error when reading response headers"):
		return "invalid response"
	case strings.Contains(l, "eof"):
		return "EOF"
	case msg == "":
		return "unknown error"
	}
	return truncate(msg, 120)
}
