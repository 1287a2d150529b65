package admission

import "time"

// shedCounter counts arrivals and refusals in one-second buckets, the
// current one and the one before, for readiness while shedding.
type shedCounter struct {
	bucket             int64 // Unix second of the current bucket
	arrivals, refusals [2]uint64
}

const shedBucket = int64(time.Second)

func (s *shedCounter) roll(now time.Time) {
	b := now.UnixNano() / shedBucket
	switch {
	case b == s.bucket:
		return
	case b == s.bucket+1:
		s.arrivals[1], s.refusals[1] = s.arrivals[0], s.refusals[0]
	default:
		s.arrivals[1], s.refusals[1] = 0, 0
	}
	s.arrivals[0], s.refusals[0] = 0, 0
	s.bucket = b
}

func (s *shedCounter) arrive(now time.Time) {
	s.roll(now)
	s.arrivals[0]++
}

func (s *shedCounter) refuse(now time.Time) {
	s.roll(now)
	s.refusals[0]++
}

func (s *shedCounter) ratio(now time.Time) float64 {
	s.roll(now)
	a := s.arrivals[0] + s.arrivals[1]
	if a == 0 {
		return 0
	}
	return float64(s.refusals[0]+s.refusals[1]) / float64(a)
}
