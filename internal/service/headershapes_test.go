package service

import (
	"reflect"
	"testing"
)

// HeaderShapes says what text surrounds each credential in each header an
// auth config writes, with header names in lower case and keys as {{KEY}}
// however the template spaced them.
func TestHeaderShapes(t *testing.T) {
	for _, tc := range []struct {
		auth Auth
		want map[string]string
	}{
		{Auth{Type: AuthPassthrough}, nil},
		{Auth{Type: AuthBearer, Token: "T"}, map[string]string{"authorization": "Bearer {{T}}"}},
		{Auth{Type: AuthBasic, Username: "U", Password: "P"}, map[string]string{"authorization": "Basic {{U}}:{{P}}"}},
		{Auth{Type: AuthBasic, Username: "U"}, map[string]string{"authorization": "Basic {{U}}:"}},
		{Auth{Type: AuthAPIKey, Key: "K"}, map[string]string{"authorization": "{{K}}"}},
		{Auth{Type: AuthAPIKey, Key: "K", Header: "X-Callback-Url", Prefix: "https://c.test/?k="}, map[string]string{"x-callback-url": "https://c.test/?k={{K}}"}},
		{Auth{Type: AuthCustom, Headers: map[string]string{"X-Key": "key={{ K }}", "X-Pair": "{{A}}:{{\tB }}", "X-Static": "v1"}},
			map[string]string{"x-key": "key={{K}}", "x-pair": "{{A}}:{{B}}"}},
	} {
		if got := tc.auth.HeaderShapes(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.auth, got, tc.want)
		}
	}
}
