package logsegment

import (
	"strconv"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
)

// A summary never says "no" for a value its segment holds (as stored,
// cut like the row), says "no" for values it does not hold in a typical
// segment, and a missing or unknown summary says "maybe" to everything.
func TestSummary(t *testing.T) {
	rows := segmentRowsForTest()
	long := model.RequestLog{ID: 1001, Host: string(make([]byte, model.MaxLogField+50)), Service: "svc", ActorName: "bot", Status: 404}
	rows = append(rows, long)
	s := Summarize(rows)
	for _, r := range rows {
		c := r.Capped()
		for _, k := range []struct {
			f Field
			v string
		}{{FieldService, c.Service}, {FieldActor, c.ActorName}, {FieldHost, c.Host},
			{FieldStatus, strconv.Itoa(c.Status)}, {FieldStatusClass, strconv.Itoa(c.Status / 100)}} {
			if !MayContain(s, k.f, k.v) {
				t.Errorf("the summary denies %c=%q, which the segment holds", k.f, k.v)
			}
		}
	}
	for _, k := range []struct {
		f Field
		v string
	}{{FieldService, "billing"}, {FieldActor, "agent:other"}, {FieldHost, "rare.example.net"}, {FieldStatus, "503"},
		{FieldStatusClass, "3"}, {FieldHost, "api"}, {FieldService, "api.example.com"}} {
		if MayContain(s, k.f, k.v) {
			t.Errorf("the summary admits %c=%q, which the segment does not hold", k.f, k.v)
		}
	}
	// A value of one field is not a value of another.
	if MayContain(s, FieldActor, "api") {
		t.Error("service api admitted as an actor")
	}
	for _, bad := range [][]byte{nil, {}, {SummaryVersion}, append([]byte{SummaryVersion + 1}, make([]byte, SummaryBits/8)...)} {
		if !MayContain(bad, FieldHost, "anything") {
			t.Errorf("summary %x denies a value", bad)
		}
	}
}

// Whatever rows a segment holds, their own values are never denied.
func FuzzSummaryHasNoFalseNegative(f *testing.F) {
	f.Add("api", "agent:bot", "api.example.com", 200, "other", "b.example")
	f.Fuzz(func(t *testing.T, svc, actor, host string, status int, svc2, host2 string) {
		rows := []model.RequestLog{{Service: svc, ActorName: actor, Host: host, Status: status}, {Service: svc2, ActorName: actor, Host: host2, Status: status + 1}}
		s := Summarize(rows)
		for _, r := range rows {
			c := r.Capped()
			c.Status = max(c.Status, 0) // as Encode stores it
			if !MayContain(s, FieldService, c.Service) || !MayContain(s, FieldActor, c.ActorName) || !MayContain(s, FieldHost, c.Host) ||
				!MayContain(s, FieldStatus, strconv.Itoa(c.Status)) || !MayContain(s, FieldStatusClass, strconv.Itoa(c.Status/100)) {
				t.Fatalf("a value of %+v denied", c)
			}
		}
	})
}

// BenchmarkSegmentWrite is the CPU cost of sealing a full segment of
// varied rows: encoding alone (as before summaries) and encoding plus
// the summary; ns/row is reported for each.
func BenchmarkSegmentWrite(b *testing.B) {
	rows := make([]model.RequestLog, MaxRows)
	for i := range rows {
		rows[i] = model.RequestLog{ID: int64(i + 1), ActorKind: model.ActorAgent, ActorName: "agent-" + strconv.Itoa(i%4), Ingress: "connect",
			Method: "GET", Host: "api" + strconv.Itoa(i%8) + ".example.test", Port: 443, Path: "/v1/items/" + strconv.Itoa(i),
			Service: "svc-" + strconv.Itoa(i%8), Status: []int{200, 200, 201, 404}[i%4], ResponseBytes: 2048}
	}
	for _, withSummary := range []bool{false, true} {
		b.Run(map[bool]string{false: "encode", true: "encode+summary"}[withSummary], func(b *testing.B) {
			buf := make([]byte, 0, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				buf = Encode(buf[:0], 1, rows)
				if withSummary {
					_ = Summarize(rows)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*MaxRows), "ns/row")
		})
	}
}
