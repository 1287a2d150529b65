package loadtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReadJSONL(t *testing.T) {
	in := "{\"instances\": [1]}\r\n\n   \n[2, 3]\n\"s\"\n{\"a\": {\"b\": null}}"
	got, err := ReadJSONL(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"instances": [1]}`, `[2, 3]`, `"s"`, `{"a": {"b": null}}`}
	if len(got) != len(want) {
		t.Fatalf("got %d bodies %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("body %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestReadJSONLErrors(t *testing.T) {
	cases := map[string]string{
		"":                        "no request bodies",
		"\n \n":                   "no request bodies",
		"{\"a\":1}\n{bad\n":       "line 2",
		"{\"a\":1}\n\n\n{\"b\":}": "line 4",
		"{\"a\":1} {\"b\":2}":     "line 1",
	}
	for in, want := range cases {
		_, err := ReadJSONL(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadJSONL(%q) err = %v, want %q", in, err, want)
		}
	}
}

func TestBodiesRoundRobin(t *testing.T) {
	if _, err := NewBodies(nil); err == nil {
		t.Error("NewBodies(nil) succeeded")
	}
	b, err := NewBodies([][]byte{[]byte("a"), []byte("b"), []byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 7 {
		got = append(got, string(b.Next()))
	}
	if strings.Join(got, "") != "abcabca" {
		t.Errorf("round robin = %v", got)
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte("{\"instances\": [1.0, 2.0]}\n{\"inputs\": {\"x\": [[1]]}}\n"))
	f.Add([]byte("\r\n\n[1]\r\n"))
	f.Add([]byte("{\"a\":\n1}"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		bodies, err := ReadJSONL(bytes.NewReader(data))
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if len(bodies) == 0 || len(bodies) > lines {
			t.Fatalf("%d bodies from %d lines", len(bodies), lines)
		}
		for _, b := range bodies {
			if !json.Valid(b) || bytes.ContainsRune(b, '\n') || len(bytes.TrimSpace(b)) != len(b) {
				t.Fatalf("bad body %q", b)
			}
		}
	})
}
