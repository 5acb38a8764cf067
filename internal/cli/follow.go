package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// followRows prints first, then, every interval until ctx ends, the rows
// after the highest id seen so far (fetch may return them in any order;
// they are printed oldest first). `vault logs -f` and `audit list -f`.
func followRows[T any](ctx context.Context, every time.Duration, first []T, id func(T) int64,
	fetch func(after int64) ([]T, error), print func(rows []T, header bool)) error {
	var last int64
	seen := func(rows []T) {
		for _, r := range rows {
			last = max(last, id(r))
		}
	}
	print(first, true)
	seen(first)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		more, err := fetch(last)
		if err != nil {
			return err
		}
		slices.SortFunc(more, func(a, b T) int { return int(id(a) - id(b)) })
		print(more, false)
		seen(more)
	}
}

// printStream prints rows for --follow: JSON lines with --json, else
// tab-separated cells (sanitised) under one header.
func printStream[T any](a *app, rows []T, header bool, head []string, row func(T) []string) {
	if a.json {
		for _, r := range rows {
			_ = a.printJSONLine(r)
		}
		return
	}
	if header {
		fmt.Fprintln(a.out, strings.Join(head, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(a.out, strings.Join(cells(row(r)), "\t"))
	}
}
