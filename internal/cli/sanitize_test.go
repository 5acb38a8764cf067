package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/agent-vault/agent-vault/internal/apitype"
)

// What an agent can put in a proxied path or a host name, and what the
// table must show instead: every escape visible, nothing the terminal
// would act on.
var hostile = []struct{ in, want string }{
	{"/v1/\x1b[2J\x1b[Hfake", `/v1/\x1b[2J\x1b[Hfake`},                  // clear screen, cursor home
	{"/a\u009b31mred", `/a\u009b31mred`},                                // C1 CSI
	{"/ring\x07", `/ring\a`},                                            // BEL
	{"/ok\rGET /admin 200", `/ok\rGET /admin 200`},                      // CR over the row
	{"/x\nTIME ACTOR fake row", `/x\nTIME ACTOR fake row`},              // a fake row
	{"/tab\there", `/tab\there`},                                        // a fake column
	{"/\u202eevil", `/\u202eevil`},                                      // bidi override
	{"/\x1b]8;;http://evil\x1b\\link", `/\x1b]8;;http://evil\x1b\link`}, // OSC 8 hyperlink
	{"/bad\xffutf8", `/bad\xffutf8`},                                    // not UTF-8
	{"/nul\x00\x7f", `/nul\x00\x7f`},                                    // NUL, DEL
	{"/plain/ünïcode/\uFFFD", "/plain/ünïcode/\uFFFD"},                  // left alone
}

func TestCellNeutralisesTerminalControls(t *testing.T) {
	for _, c := range hostile {
		got := cell(c.in)
		if got != c.want {
			t.Errorf("cell(%q) = %q, want %q", c.in, got, c.want)
		}
		for _, r := range got {
			if unsafeRune(r) {
				t.Errorf("cell(%q) = %q still holds %U", c.in, got, r)
			}
		}
	}
}

// Every printer of server text goes through the one table helper (or, for
// --follow, the same cell filter): the request log, the discovered hosts
// and any other table print no control byte.
func TestTablesPrintNoControlBytes(t *testing.T) {
	var out bytes.Buffer
	a := &app{out: &out}
	var rows []apitype.RequestLog
	var cellsIn [][]string
	for _, c := range hostile {
		rows = append(rows, apitype.RequestLog{Time: time.Unix(0, 0), Actor: "agent:\x1b[31mbot", Method: "GET\r", Host: "h\x07.test", Path: c.in, Status: 200})
		cellsIn = append(cellsIn, []string{c.in, "x"})
	}
	a.logTable(rows)
	printStream(a, rows, true, logHeader, logRow)
	a.table([]string{"HOST", "PORT"}, cellsIn)
	for i, b := range out.Bytes() {
		if (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f { // tabs: --follow's separators
			t.Fatalf("control byte %#x at %d in:\n%s", b, i, out.String())
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 3*len(hostile)+3 {
		t.Fatalf("%d lines, want %d (no row split by a newline in a cell):\n%s", n, 3*len(hostile)+3, out.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if n := strings.Count(l, "\t"); n != 0 && n != len(logHeader)-1 {
			t.Fatalf("a --follow line with %d separators, want %d: %q", n, len(logHeader)-1, l)
		}
	}
	if !strings.Contains(out.String(), `\x1b[2J`) {
		t.Fatal("the escape is not shown visibly")
	}
}
