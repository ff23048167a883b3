package extonly_test

import (
	"testing"
	"time"

	"example.com/heapmodule/extonly"
)

// TestSlow runs for about a second, long enough for several heap snapshots.
func TestSlow(t *testing.T) {
	if extonly.Double(2) != 4 {
		t.Fatal("2*2 != 4")
	}
	time.Sleep(time.Second)
}
