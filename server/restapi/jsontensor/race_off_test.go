//go:build !race

package jsontensor

// raceEnabled: the race detector changes what the runtime allocates, so
// tests of exact allocation bounds skip under it.
const raceEnabled = false
