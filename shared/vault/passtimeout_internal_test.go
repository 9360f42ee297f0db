package vault

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// TestAccountUpdaterPassFitsItsTimeout: the daily pass (vaultfn.Entry) queues
// up to maxDue companies, one SQS SendMessage each, in one invocation. It moved
// from the worker (300 s) to the vault function; the function's timeout must
// leave each send a realistic round trip (10 ms), or a large pass times out,
// Lambda's asynchronous retries start it over (sending the first companies'
// jobs again) and the tail is not queued.
func TestAccountUpdaterPassFitsItsTimeout(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := samtemplate.FunctionSettings(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, function string }{{"vault function", "VaultFunction"}} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := fns[tc.function]
			if !ok {
				t.Fatalf("no %s in the template", tc.function)
			}
			perSend := time.Duration(f.Timeout) * time.Second / maxDue
			if perSend < 10*time.Millisecond {
				t.Fatalf("%s timeout %d s for %d sends: %s each", tc.function, f.Timeout, maxDue, perSend)
			}
		})
	}
}
