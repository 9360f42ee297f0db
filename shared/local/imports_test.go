package local_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoFunctionLinksLocal keeps fakes, emulators, demo seeding and test harnesses
// out of every deployed binary: no functions/* main may reach shared/local/...
func TestNoFunctionLinksLocal(t *testing.T) {
	const local = "github.com/payrecon/payrecon/shared/local"
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc",
		"-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 {
		t.Fatal("no functions listed")
	}
	for _, line := range lines {
		f := strings.Fields(line)
		t.Run(f[0], func(t *testing.T) {
			for _, dep := range f[1:] {
				if dep == local || strings.HasPrefix(dep, local+"/") {
					t.Errorf("%s links local-only package %s", f[0], dep)
				}
			}
		})
	}
}
