package hostile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// dialMany opens n loopback connections to addr and writes prefix on each.
// It stops at the first error other than a refused connection, which a
// server at its connection limit may answer; it returns what it opened.
func dialMany(ctx context.Context, addr string, n int, prefix []byte) ([]net.Conn, int, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conns := make([]net.Conn, 0, n)
	refused := 0
	for i := 0; i < n; i++ {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			refused++
			continue
		}
		if len(prefix) > 0 {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write(prefix)
		}
		conns = append(conns, c)
	}
	return conns, refused, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// serviceDuring checks that the target's normal call still succeeds while
// conns are held, three times over hold.
func serviceDuring(ctx context.Context, t *Target, hold time.Duration) error {
	for i := 0; i < 3; i++ {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := t.Normal(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("a normal call failed while the connections were held: %w", err)
		}
		time.Sleep(hold / 3)
	}
	return nil
}

// rawExchange writes req on a new connection and reads one HTTP response
// (head and up to 64 KiB of body) within timeout.
func rawExchange(addr string, req []byte, timeout time.Duration) (int, []byte, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	go c.Write(req) // the server may answer before it has read everything
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, nil, fmt.Errorf("no HTTP response within %v: %w", timeout, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, nil
}

func predictHead(t *Target, extra string) string {
	return "POST " + predictPath(t.Model) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra
}

func connCases() []Case {
	return []Case{
		{Name: "conn/slowloris_3000", Slow: true, Run: func(ctx context.Context, t *Target) error {
			half := []byte(predictHead(t, "Content-Length: 1000\r\n\r\n{\"instances\": ["))
			conns, refused, err := dialMany(ctx, t.Proc.RESTAddr(), 3000, half)
			defer closeAll(conns)
			if err != nil {
				return err
			}
			if err := serviceDuring(ctx, t, 3*time.Second); err != nil {
				return fmt.Errorf("%d half-sent requests held (%d refused): %w", len(conns), refused, err)
			}
			return nil
		}},
		{Name: "conn/slow_headers_3000", Slow: true, Run: func(ctx context.Context, t *Target) error {
			conns, refused, err := dialMany(ctx, t.Proc.RESTAddr(), 3000, []byte("POST /v1/models/"))
			defer closeAll(conns)
			if err != nil {
				return err
			}
			if err := serviceDuring(ctx, t, 3*time.Second); err != nil {
				return fmt.Errorf("%d half-sent request lines held (%d refused): %w", len(conns), refused, err)
			}
			return nil
		}},
		{Name: "conn/idle_2000", Run: func(ctx context.Context, t *Target) error {
			conns, refused, err := dialMany(ctx, t.Proc.RESTAddr(), 2000, nil)
			defer closeAll(conns)
			if err != nil {
				return err
			}
			if err := serviceDuring(ctx, t, time.Second); err != nil {
				return fmt.Errorf("%d idle connections held (%d refused): %w", len(conns), refused, err)
			}
			return nil
		}},
		{Name: "conn/idle_grpc_500", Run: func(ctx context.Context, t *Target) error {
			// HTTP/2 preface only, then nothing.
			conns, _, err := dialMany(ctx, t.Proc.GRPCAddr(), 500, []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
			defer closeAll(conns)
			if err != nil {
				return err
			}
			return serviceDuring(ctx, t, time.Second)
		}},
		{Name: "conn/oversized_headers", Run: func(ctx context.Context, t *Target) error {
			req := predictHead(t, "X-Big: "+strings.Repeat("a", 1<<20)+"\r\nContent-Length: 20\r\n\r\n{\"instances\": [1]}")
			st, body, err := rawExchange(t.Proc.RESTAddr(), []byte(req), 10*time.Second)
			if err != nil {
				return err
			}
			if st != http.StatusRequestHeaderFieldsTooLarge && st != http.StatusBadRequest {
				return fmt.Errorf("status %d, want 431 (or 400): %s", st, trunc(body, 200))
			}
			many := predictHead(t, strings.Repeat("X-A: b\r\n", 100_000)+"Content-Length: 2\r\n\r\n{}")
			st, body, err = rawExchange(t.Proc.RESTAddr(), []byte(many), 10*time.Second)
			if err != nil {
				return fmt.Errorf("100k headers: %w", err)
			}
			if st != http.StatusRequestHeaderFieldsTooLarge && st != http.StatusBadRequest {
				return fmt.Errorf("100k headers: status %d, want 431 (or 400): %s", st, trunc(body, 200))
			}
			return nil
		}},
		{Name: "conn/huge_content_length", Run: func(ctx context.Context, t *Target) error {
			req := predictHead(t, "Content-Length: 1099511627776\r\n\r\n{\"instances\": [")
			st, body, err := rawExchange(t.Proc.RESTAddr(), []byte(req), 10*time.Second)
			if err != nil {
				return err
			}
			if st != http.StatusRequestEntityTooLarge {
				return fmt.Errorf("Content-Length 1 TiB: status %d, want 413: %s", st, trunc(body, 200))
			}
			if err := namesOne(string(body), []string{"rest_api_max_body_bytes"}); err != nil {
				return err
			}
			req = predictHead(t, "Content-Length: 99999999999999999999999\r\n\r\n{}")
			st, body, err = rawExchange(t.Proc.RESTAddr(), []byte(req), 10*time.Second)
			if err != nil {
				return fmt.Errorf("overflowing Content-Length: %w", err)
			}
			return expect4xx(st, body)
		}},
		{Name: "conn/pipelining_flood", Slow: true, Run: pipeliningFlood},
	}
}

// pipeliningFlood writes 20,000 pipelined predicts on one connection
// without reading, then reads what comes back: every answer must be a 200
// (or a 4xx/503 refusal), and normal clients must keep being served.
func pipeliningFlood(ctx context.Context, t *Target) error {
	const n = 20_000
	body := `{"instances": [[1.0]]}`
	one := predictHead(t, fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
	c, err := net.DialTimeout("tcp", t.Proc.RESTAddr(), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	all := bytes.Repeat([]byte(one), n)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(all)
		werr <- err
	}()
	time.Sleep(time.Second) // the server's write side fills while nobody reads
	if err := serviceDuring(ctx, t, time.Second); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	got := 0
	for got < n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break // the server may close a flooding connection
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 503 && (resp.StatusCode < 400 || resp.StatusCode > 499) {
			return fmt.Errorf("pipelined request %d answered %d", got, resp.StatusCode)
		}
		got++
	}
	c.Close()
	<-werr
	if got == 0 {
		return fmt.Errorf("no pipelined request was answered")
	}
	return nil
}
