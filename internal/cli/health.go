package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/agent-vault/agent-vault/internal/config"
)

// healthCmd checks a local server's readiness: the container image's
// HEALTHCHECK, which has no shell or curl to do it with.
func (a *app) healthCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Exit 0 when the server answers GET /readyz with 200 (for container health checks)",
		Long: `Asks the server's GET /readyz (store reachable, keyring open, proxy listening) and exits 0
when it answers 200, 1 otherwise. The default URL is http://127.0.0.1:$PORT/readyz (PORT defaults to 14321).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				port := os.Getenv(config.EnvPort)
				if port == "" {
					port = fmt.Sprint(config.DefaultPort)
				}
				url = "http://127.0.0.1:" + port + "/readyz"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return fmt.Errorf("--url %q is not a URL: %w", url, err)
			}
			resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
			if err != nil {
				return fmt.Errorf("the server does not answer at %s: %w", url, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("not ready: %s answered %d %s", url, resp.StatusCode, body)
			}
			fmt.Fprintf(a.out, "ready: %s\n", body)
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "readiness URL (default http://127.0.0.1:$PORT/readyz)")
	return cmd
}
