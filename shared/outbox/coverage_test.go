package outbox

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryTypeHasAnEmitterTest: each event type is asserted by at least one
// test that drives the change and checks its one event against the API
// (outboxtest.One(…, outbox.<Type>, …)) somewhere under shared/. A type added
// to Types without such a test fails here.
func TestEveryTypeHasAnEmitterTest(t *testing.T) {
	names := constNames(t) // constant name -> event type
	tested := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSel(call.Fun, "outboxtest", "One") || len(call.Args) < 5 {
				return true
			}
			if sel, ok := call.Args[4].(*ast.SelectorExpr); ok && isSel(sel, "outbox", sel.Sel.Name) {
				if typ, ok := names[sel.Sel.Name]; ok {
					tested[typ] = append(tested[typ], fset.Position(call.Pos()).String())
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range Types {
		t.Run(typ, func(t *testing.T) {
			if len(tested[typ]) == 0 {
				t.Fatalf("no emitter test: add one that drives the change and calls outboxtest.One(…, outbox.<%s>, …)", typ)
			}
			t.Logf("asserted at %s", strings.Join(tested[typ], ", "))
		})
	}
}

func isSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// constNames reads this package's string constants that are event types.
func constNames(t *testing.T) map[string]string {
	f, err := parser.ParseFile(token.NewFileSet(), "outbox.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err := strconv.Unquote(lit.Value); err == nil && KnownType(v) {
							out[n.Name] = v
						}
					}
				}
			}
		}
	}
	if len(out) != len(Types) {
		t.Fatalf("found %d type constants for %d types", len(out), len(Types))
	}
	return out
}
