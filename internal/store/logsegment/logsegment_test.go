package logsegment

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/model"
)

// segmentRowsForTest covers every field, empty and extreme values, ids
// with gaps, and times out of order (rows are queued at their end, so a
// long request is stamped before shorter ones written after it).
func segmentRowsForTest() []model.RequestLog {
	at := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	return []model.RequestLog{
		{ID: 41, VaultID: "v1", At: at, ActorKind: model.ActorAgent, ActorName: "agent:bot", Ingress: "connect", Method: "GET",
			Host: "api.example.com", Port: 443, Path: "/v1/items", Service: "api", CredentialKeys: []string{"API_KEY", "ORG"},
			Status: 200, RequestBytes: 0, ResponseBytes: 1 << 40, Duration: 12 * time.Millisecond},
		{ID: 42, VaultID: "v1", At: at.Add(-time.Hour), ActorKind: model.ActorUser, ActorName: "ünïcode@example.com", Ingress: "tunnel",
			Method: "CONNECT", Host: "blind.example.org", Port: 65535, Status: 0, Duration: 300 * time.Second, ErrorCode: ""},
		{ID: 1000, VaultID: "v1", At: time.Unix(0, 0).UTC(), ActorKind: model.ActorAgent, ActorName: "", Ingress: "absolute", Method: "POST",
			Host: "h", Port: 1, Path: "/" + strings.Repeat("p", 300), Service: "", Status: 599, RequestBytes: 7, ResponseBytes: 8,
			Duration: 0, ErrorCode: "host_not_allowed"},
	}
}

func TestSegmentRoundTrip(t *testing.T) {
	rows := segmentRowsForTest()
	data := Encode(nil, rows[0].ID, rows)
	got, err := Decode(data, "v1", rows[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rows)
	}
	// One row, and a reused buffer: nothing of the earlier contents stays.
	one := Encode(data[:0], rows[2].ID, rows[2:])
	if got, err := Decode(one, "v1", rows[2].ID); err != nil || !reflect.DeepEqual(got, rows[2:]) {
		t.Fatalf("one row: %+v, %v", got, err)
	}
}

func TestSegmentDecodeRefusesCorruptData(t *testing.T) {
	rows := segmentRowsForTest()
	good := Encode(nil, rows[0].ID, rows)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated in a string", good[:len(good)-3]},
		{"truncated in a varint", append(append([]byte{}, good...), 0x80)},
		{"string longer than the data", append(append([]byte{}, good[:1]...), 0, 0, 0, 0x7f)},
		{"repeated id", append(append([]byte{}, good...), good[1:]...)},
		{"huge key count", []byte{Version, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03}},
	} {
		if _, err := Decode(c.data, "v1", 1); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", c.name, err)
		}
	}
}

// FuzzDecodeSegment: any bytes decode or fail cleanly, and what decodes
// encodes back to the same bytes.
func FuzzDecodeSegment(f *testing.F) {
	rows := segmentRowsForTest()
	f.Add(Encode(nil, rows[0].ID, rows))
	f.Add(Encode(nil, rows[1].ID, rows[1:2]))
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data, "v", 5)
		if err != nil {
			return
		}
		if len(got) == 0 {
			return // the version byte alone
		}
		again := Encode(nil, 5, got)
		back, err := Decode(again, "v", 5)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("re-encoded segment differs: %v", err)
		}
		if len(again) > len(data) && !bytes.Equal(again, data) {
			// Canonical encoding is never longer than what decoded.
			t.Fatalf("re-encoding grew from %d to %d bytes", len(data), len(again))
		}
	})
}
