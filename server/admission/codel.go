package admission

import "time"

// codel tells a standing queue from a burst, as CoDel does and as Facebook's
// server queues (folly's Codel, "Fail at Scale") apply it to requests: at
// every admission it is shown the age of the oldest waiting request (0 when
// nobody waits). When over a whole interval that age never fell below
// target, the queue is standing and the limiter is overloaded: waiters are
// refused once they have waited 2 × target, and the newest are served first
// (adaptive LIFO) so that the requests served are those whose clients still
// wait. Otherwise a burst may wait up to one interval, in arrival order.
type codel struct {
	target, interval time.Duration

	intervalEnd time.Time
	minAge      time.Duration
	seen        bool // an age was observed in the current interval
	overloaded  bool
}

// observe records the age of the oldest waiter at now.
func (c *codel) observe(now time.Time, age time.Duration) {
	if !now.Before(c.intervalEnd) {
		c.overloaded = c.seen && c.minAge > c.target
		c.intervalEnd = now.Add(c.interval)
		c.seen = false
	}
	if !c.seen || age < c.minAge {
		c.minAge, c.seen = age, true
	}
}

// maxWait is how long a request may wait now.
func (c *codel) maxWait() time.Duration {
	if c.overloaded {
		return c.slough()
	}
	return c.interval
}

// slough is the wait after which a request is refused while overloaded.
func (c *codel) slough() time.Duration { return 2 * c.target }
