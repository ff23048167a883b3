package grow

import (
	"testing"
	gotime "time"
)

var kept [][]byte

// TestGrow keeps 1 MiB more every 25 ms for about 1.5 s, so that successive heap
// snapshots taken every 100 ms see the heap grow.
func TestGrow(t *testing.T) {
	if len(Names()) != 5 {
		t.Fatal("declarations changed")
	}
	for i := 0; i < 60; i++ {
		block := make([]byte, 1<<20)
		for j := range block {
			block[j] = byte(i + j)
		}
		kept = append(kept, block)
		gotime.Sleep(25 * gotime.Millisecond)
	}
}
