package ann

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"path/filepath"
	"slices"
	"testing"
)

func buildSmall(t testing.TB, m DistanceMeasure, int8v, brute bool) (*Index, []float32) {
	t.Helper()
	data := clustered(9, 600, 11) // odd dim: padded last block
	cfg := Config{DistanceMeasure: m, NumLeaves: 8, NumLeavesToSearch: 3, DimensionsPerBlock: 2,
		ReorderingNumNeighbors: 20, ReorderingInt8: int8v, BruteForce: brute, Seed: 5}
	ix, err := Build(data, 600, 11, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ix, data
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name        string
		m           DistanceMeasure
		int8, brute bool
	}{
		{"dot", DotProduct, false, false},
		{"l2_int8", SquaredL2, true, false},
		{"cosine", Cosine, false, false},
		{"brute_l2", SquaredL2, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, data := buildSmall(t, tc.m, tc.int8, tc.brute)
			path := filepath.Join(dir, tc.name+".ann")
			if err := ix.SaveFile(path); err != nil {
				t.Fatal(err)
			}
			got, err := LoadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			queries := data[:20*11]
			i1, s1, err := ix.SearchBatched(queries, 10, SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			i2, s2, err := got.SearchBatched(queries, 10, SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(i1, i2) || !slices.Equal(s1, s2) {
				t.Fatal("loaded index answers differently")
			}
			var a, b bytes.Buffer
			if err := ix.Save(&a); err != nil {
				t.Fatal(err)
			}
			if err := got.Save(&b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("save(load(save(x))) != save(x)")
			}
		})
	}
}

func TestLoadCorrupt(t *testing.T) {
	ix, _ := buildSmall(t, SquaredL2, false, false)
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	reseal := func(b []byte) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
		return b
	}
	flip := func(off int) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0x40
		return b
	}
	cases := map[string][]byte{
		"empty":         nil,
		"truncated":     good[:len(good)/2],
		"bad magic":     flip(0),
		"bit flip":      flip(len(good) / 2),
		"bad crc":       flip(len(good) - 1),
		"extra byte":    append(bytes.Clone(good), 0),
		"version":       reseal(flip(8)),
		"bad measure":   reseal(flip(20)),
		"bad dim":       reseal(flip(20 + 8 + 3)),
		"bad leaf size": reseal(flip(20 + 16)),
	}
	// A repeated datapoint id, with a valid checksum.
	{
		b := bytes.Clone(good)
		off := 20 + 36 + 4*8*11 + 4*9 // header, fields, centers, leaf offsets
		copy(b[off:off+4], b[off+4:off+8])
		cases["duplicate id"] = reseal(b)
	}
	for name, b := range cases {
		_, err := Decode(b)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v does not wrap ErrCorrupt", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range []struct {
		m                     DistanceMeasure
		int8, brute, f16, sph bool
	}{{DotProduct, false, false, false, false}, {SquaredL2, true, false, false, false}, {Cosine, false, true, false, false},
		{DotProduct, false, false, true, true}} {
		data := clustered(11, 70, 5)
		ix, err := Build(data, 70, 5, Config{DistanceMeasure: tc.m, NumLeaves: 3, NumLeavesToSearch: 2,
			ReorderingNumNeighbors: 5, ReorderingInt8: tc.int8, BruteForce: tc.brute, ReorderingFloat16: tc.f16,
			Spherical: tc.sph, Seed: 1})
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := ix.Save(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("TFSANN\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The checksum stops almost every mutation early; also try the
		// mutated bytes with a recomputed checksum so the parser is reached.
		for _, in := range [][]byte{b, resealed(b)} {
			ix, err := Decode(in)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				continue
			}
			q := make([]float32, ix.Dim())
			for i := range q {
				q[i] = float32(i%3) - 1
			}
			if _, _, err := ix.SearchBatched(q, 3, SearchOptions{}); err != nil {
				t.Fatalf("search on a loaded index: %v", err)
			}
		}
	})
}

func resealed(b []byte) []byte {
	if len(b) < 24 {
		return b
	}
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint64(b[12:], uint64(len(b)-24))
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
	return b
}
