package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/model"
)

// An agent sends 40 requests with a 900 KB path and a CONNECT with a
// 70 KB host: what reaches the request log is at most model.MaxLogField
// bytes of each, marked as cut.
func TestRequestLogRowsCapAgentTexts(t *testing.T) {
	sink := &rowSink{}
	e := newRecEnv(t, true, sink)
	e.setup(nil)
	tok := e.agent("bot", "proxy")
	c := e.client(tok, "default", false)
	huge := "/" + strings.Repeat("x", 900<<10)
	for i := 0; i < 40; i++ {
		st, _ := doReq(t, c, "GET", "http://"+e.plainUp+huge, "")
		if st != http.StatusOK {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	host := strings.Repeat("h", 70<<10) + ".test"
	if code := rawConnect(t, e, tok, host+":443"); code != http.StatusBadGateway && code != http.StatusBadRequest {
		t.Fatalf("CONNECT to a 70 KB host: %d", code)
	}
	rows := sink.waitRows(t, 41)
	for i, r := range rows {
		if len(r.Path) > model.MaxLogField || len(r.Host) > model.MaxLogField {
			t.Fatalf("row %d: path %d bytes, host %d bytes; the cap is %d", i, len(r.Path), len(r.Host), model.MaxLogField)
		}
	}
	for _, r := range rows[:40] {
		if !strings.HasPrefix(r.Path, "/xxxx") || !strings.HasSuffix(r.Path, "[cut: 921601 bytes]") {
			t.Fatalf("path not marked as cut: …%q", r.Path[max(0, len(r.Path)-40):])
		}
	}
	if last := rows[40]; last.Method != http.MethodConnect || !strings.HasSuffix(last.Host, "bytes]") {
		t.Fatalf("CONNECT row: %s host …%q", last.Method, last.Host[max(0, len(last.Host)-30):])
	}
}
