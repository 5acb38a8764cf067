package broker

import (
	"testing"

	"github.com/agent-vault/agent-vault/internal/apitype"
	"github.com/agent-vault/agent-vault/internal/oauth"
)

// The API's OAuth statuses are the stored ones, which the broker passes on
// as they are: the CLI and the web pages compare against the API's names.
func TestOAuthStatusesSpelledAlike(t *testing.T) {
	for stored, api := range map[oauth.Status]string{
		oauth.StatusPending:       apitype.OAuthStatusPending,
		oauth.StatusConnected:     apitype.OAuthStatusConnected,
		oauth.StatusRefreshFailed: apitype.OAuthStatusRefreshFailed,
	} {
		if string(stored) != api {
			t.Errorf("stored status %q is %q in the API", stored, api)
		}
	}
}
