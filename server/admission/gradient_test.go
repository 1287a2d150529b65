package admission

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestGradientGrowsWhileLatencyIsFlat(t *testing.T) {
	g := newGradient(20, 2, 100)
	g.update(time.Millisecond, 20)
	// gradient 1 (capped): 20×0.8 + (20+4)×0.2
	if !near(g.limit, 20.8) {
		t.Fatalf("limit %v; want 20.8", g.limit)
	}
}

func TestGradientShrinksWhenLatencyRises(t *testing.T) {
	g := newGradient(20, 2, 100)
	g.update(time.Millisecond, 20) // long RTT 1 ms, limit 20.8
	g.update(3*time.Millisecond, 20)
	// long RTT = (1+3)/2 = 2 ms (warm-up average); gradient 1.5×2/3 = 1;
	// limit 20.8×0.8 + (20.8+4)×0.2 = 21.6
	if !near(g.long, float64(2*time.Millisecond)) || !near(g.limit, 21.6) {
		t.Fatalf("long %v, limit %v; want 2ms, 21.6", time.Duration(g.long), g.limit)
	}
	g.update(12*time.Millisecond, 21)
	// long = (2×2+12)/3 = 16/3 ms; gradient 1.5×(16/3)/12 = 2/3;
	// limit 21.6×0.8 + (21.6×2/3+4)×0.2 = 17.28 + 3.68 = 20.96
	if !near(g.limit, 20.96) {
		t.Fatalf("limit %v; want 20.96", g.limit)
	}
	g.update(time.Second, 21)
	// gradient floored at 0.5: 20.96×0.8 + (20.96×0.5+4)×0.2 = 19.664
	if !near(g.limit, 19.664) {
		t.Fatalf("limit %v; want 19.664", g.limit)
	}
}

func TestGradientHoldsWhenApplicationLimited(t *testing.T) {
	g := newGradient(20, 2, 100)
	g.update(time.Second, 9) // fewer than half the limit in flight
	if g.limit != 20 {
		t.Fatalf("limit %v; want 20 (unchanged)", g.limit)
	}
}

func TestGradientClampsToBounds(t *testing.T) {
	g := newGradient(10, 10, 50)
	g.long, g.longN = float64(time.Millisecond), gradientWarmup
	g.update(time.Hour, 10) // 10×0.8 + (10×0.5+4)×0.2 = 9.8, below the minimum
	if g.limit != 10 {
		t.Fatalf("limit %v; want the minimum 10", g.limit)
	}
	g = newGradient(5, 3, 5)
	for range 5 {
		g.update(time.Millisecond, 5)
	}
	if g.limit != 5 {
		t.Fatalf("limit %v; want the maximum 5", g.limit)
	}
}

func TestGradientLongRTTFollowsRecoveryQuickly(t *testing.T) {
	g := newGradient(20, 2, 100)
	for range gradientWarmup {
		g.update(10*time.Millisecond, 20)
	}
	before := g.long
	g.update(time.Millisecond, 20)
	// exponential step toward 1 ms, then ×0.95 since long/short > 2
	f := 2.0 / (gradientLongSpan + 1)
	want := (before*(1-f) + float64(time.Millisecond)*f) * 0.95
	if !near(g.long, want) {
		t.Fatalf("long %v; want %v", g.long, want)
	}
}

func TestCodelOverloadedOnlyAfterAWholeIntervalAboveTarget(t *testing.T) {
	c := codel{target: target, interval: interval}
	t0 := time.Unix(1000, 0)
	c.observe(t0, 0)
	c.observe(t0.Add(50*time.Millisecond), 20*time.Millisecond)
	c.observe(t0.Add(interval), 20*time.Millisecond) // first interval had age 0
	if c.overloaded {
		t.Fatal("overloaded after an interval that saw an empty queue")
	}
	if c.maxWait() != interval {
		t.Fatalf("max wait %v; want %v", c.maxWait(), interval)
	}
	c.observe(t0.Add(150*time.Millisecond), 6*time.Millisecond)
	c.observe(t0.Add(2*interval), 30*time.Millisecond) // min 6 ms > 5 ms
	if !c.overloaded || c.maxWait() != 2*target {
		t.Fatalf("overloaded %v, max wait %v; want true, %v", c.overloaded, c.maxWait(), 2*target)
	}
	c.observe(t0.Add(250*time.Millisecond), 4*time.Millisecond)
	c.observe(t0.Add(3*interval), 30*time.Millisecond) // min 4 ms <= 5 ms
	if c.overloaded {
		t.Fatal("overloaded after an interval whose queue fell below target")
	}
}
