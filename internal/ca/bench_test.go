package ca

import (
	"strconv"
	"testing"
)

// BenchmarkLeafCached measures a cache hit, from parallel goroutines.
func BenchmarkLeafCached(b *testing.B) {
	m, _ := newMinter(b, MinterOptions{})
	if _, err := m.Leaf("api.example.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Leaf("api.example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLeafMint measures minting: every iteration asks for a new host.
func BenchmarkLeafMint(b *testing.B) {
	m, _ := newMinter(b, MinterOptions{MaxEntries: 64})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := m.Leaf("h" + strconv.Itoa(i) + ".example"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
