package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// followRows asks for the rows after the highest id it printed, and
// prints each batch oldest first, until the context ends.
func TestFollowRows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var afters []int64
	var printed []string
	batches := [][]int64{{7, 5, 6}, {}, {9, 8}}
	err := followRows(ctx, time.Millisecond, []int64{2, 3, 4}, func(n int64) int64 { return n },
		func(after int64) ([]int64, error) {
			afters = append(afters, after)
			b := batches[0]
			batches = batches[1:]
			if len(batches) == 0 {
				cancel()
			}
			return b, nil
		},
		func(rows []int64, header bool) { printed = append(printed, fmt.Sprint(header, rows)) })
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(afters); got != "[4 7 7]" {
		t.Errorf("asked for rows after %s, want [4 7 7]", got)
	}
	if got := strings.Join(printed, " "); got != "true [2 3 4] false [5 6 7] false [] false [8 9]" {
		t.Errorf("printed %q", got)
	}
}
