package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Every events/*.json runs through its function's real bootstrap under
// aws-lambda-rie in cmd/local/rie_test.go (TestBootstrapsUnderRIE).

// TestTemplateFunctionsRegistered: every function in template.yaml has a folder and,
// when it has HttpApi routes, a handler.
func TestTemplateFunctionsRegistered(t *testing.T) {
	root, _ := localstack.ModuleRoot()
	fns, err := samtemplate.Functions(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, _ := samtemplate.Routes(filepath.Join(root, "template.yaml"))
	for id, dir := range fns {
		if _, err := os.Stat(filepath.Join(root, "functions", dir, "main.go")); err != nil {
			t.Errorf("%s: functions/%s/main.go missing", id, dir)
		}
	}
	for _, r := range routes {
		if _, ok := registry.Functions[r.Function]; !ok {
			t.Errorf("route %s %s: function %q not in registry.Functions", r.Method, r.Path, r.Function)
		}
	}
}
