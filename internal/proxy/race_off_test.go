//go:build !race

package proxy

// raceOn: the race detector is on (sync.Pool then drops some of what it
// is given, so allocation counts do not hold).
const raceOn = false
