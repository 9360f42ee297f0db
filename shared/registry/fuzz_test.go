package registry_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/samtemplate"
	"github.com/payrecon/payrecon/shared/store"
)

// shareStackWithWorkers: under -fuzz the coordinator and each worker process
// run the target's setup. The coordinator starts the emulators and exports
// their endpoints before f.Fuzz spawns the workers (which inherit the
// environment), so there is one DynamoDB Local rather than one per worker.
func shareStackWithWorkers(f *testing.F) {
	fl := flag.Lookup("test.fuzz")
	if fl == nil || fl.Value.String() == "" || os.Getenv("PAYRECON_TEST_DYNAMODB") != "" || testing.Short() {
		return
	}
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		f.Fatal(err)
	}
	os.Setenv("PAYRECON_TEST_DYNAMODB", st.DynamoURL)
	os.Setenv("PAYRECON_TEST_SECRETS", st.SecretsURL)
	os.Setenv("PAYRECON_TEST_STRIPE", st.StripeURL)
}

// api is one fuzz process's world: every function mounted on the template's
// routes over a fresh table seeded with the demo partner.
type api struct {
	h      http.Handler
	d      demo.Demo
	routes []samtemplate.Route // the /v1 routes, method resolved
}

func newAPI(f *testing.F) *api {
	f.Helper()
	shareStackWithWorkers(f)
	env := testenv.New(f, func(c *app.Config) {
		qp := qualpayfake.Start(f, qualpayfake.Config{SecurityKey: demo.QualpaySecurityKey})
		if mid, err := strconv.ParseInt(demo.QualpayMerchantID, 10, 64); err == nil {
			qp.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Demo Bakery"})
		}
		c.QualpayBaseURL = qp.URL // vault and Qualpay checks reach the fake, not the internet
	})
	d, err := demo.Seed(context.Background(), env.Env)
	if err != nil {
		f.Fatal(err)
	}
	root, err := localstack.ModuleRoot()
	if err != nil {
		f.Fatal(err)
	}
	tpl := filepath.Join(root, "template.yaml")
	h, err := registry.Mount(env.Env, tpl)
	if err != nil {
		f.Fatal(err)
	}
	routes, err := samtemplate.Routes(tpl)
	if err != nil {
		f.Fatal(err)
	}
	var v1 []samtemplate.Route
	for _, r := range routes {
		if strings.HasPrefix(r.Path, "/v1/") {
			v1 = append(v1, r)
		}
	}
	sort.Slice(v1, func(i, j int) bool { return v1[i].Path+v1[i].Method < v1[j].Path+v1[j].Method })
	return &api{h: h, d: d, routes: v1}
}

// path fills a template path's {params}: the demo's IDs and provider names,
// or (choice 2, 3) an unknown ID or the fuzzed junk.
func (a *api) path(tpl string, choice uint8, junk string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		j := strings.IndexByte(tpl[i:], '}')
		if j < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		b.WriteString(tpl[:i])
		name := tpl[i+1 : i+j]
		var v string
		switch {
		case choice%4 == 3:
			v = url.PathEscape(junk)
			if v == "" {
				v = "x"
			}
		case choice%4 == 2:
			v = "co_01JUNKJUNKJUNKJUNKJUNKJUNK"
		case name == "provider":
			v = [...]string{"stripe", "qualpay"}[choice%2]
		case strings.HasPrefix(tpl[:i], "/v1/companies/") || name == "id" && strings.HasPrefix(tpl, "/v1/companies"):
			v = a.d.CompanyID
		default:
			v = "id_" + strconv.Itoa(int(choice))
		}
		b.WriteString(v)
		tpl = tpl[i+j+1:]
	}
}

func (a *api) do(method, target string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.d.APIKey)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec
}

// checkResponse: never a 5xx; a 4xx carries the JSON error body.
func checkResponse(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body.Bytes())
	}
	if rec.Code >= 400 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%s: %d without a JSON error body: %q", what, rec.Code, rec.Body.Bytes())
		}
	}
}

type writeRoute struct{ method, path string }

// writeRoutes probes each /v1 template path with POST, PUT and PATCH and keeps
// those a handler answers (not 404 no-route / 405), in a stable order.
func (a *api) writeRoutes(f *testing.F) []writeRoute {
	var out []writeRoute
	seen := map[writeRoute]bool{}
	for _, r := range a.routes {
		methods := []string{"POST", "PUT", "PATCH"}
		if !strings.EqualFold(r.Method, "ANY") {
			methods = []string{strings.ToUpper(r.Method)}
		}
		for _, m := range methods {
			wr := writeRoute{m, r.Path}
			if seen[wr] || m == "GET" || m == "DELETE" {
				continue
			}
			seen[wr] = true
			rec := a.do(m, a.path(r.Path, 0, ""), []byte(`{"probe":true}`))
			if rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "no route") {
				continue
			}
			out = append(out, wr)
		}
	}
	if len(out) == 0 {
		f.Fatal("no write routes found in the template")
	}
	return out
}

// eventBodies returns the events/*.json API requests as (method, route path, body),
// placeholders (${COMPANY_ID}, …) left in: the target fills them per process.
func eventBodies(f *testing.F) [][3]string {
	root, _ := localstack.ModuleRoot()
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	var out [][3]string
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var ev struct {
			RouteKey string `json:"routeKey"`
			Body     string `json:"body"`
			Base64   bool   `json:"isBase64Encoded"`
		}
		if json.Unmarshal(raw, &ev) != nil || ev.RouteKey == "" {
			continue
		}
		body := ev.Body
		if ev.Base64 {
			b, _ := base64.StdEncoding.DecodeString(body)
			body = string(b)
		}
		_, path, _ := strings.Cut(ev.RouteKey, " ")
		var method struct {
			RequestContext struct {
				HTTP struct{ Method string } `json:"http"`
			} `json:"requestContext"`
		}
		_ = json.Unmarshal(raw, &method)
		out = append(out, [3]string{method.RequestContext.HTTP.Method, path, body})
	}
	return out
}

// FuzzAPIBodies sends fuzzed JSON bodies to every write route of the template
// (POST/PUT/PATCH on /v1/…) as the demo partner: never a 5xx, and every 4xx
// is a JSON error. The corpus starts from the events/ request bodies.
func FuzzAPIBodies(f *testing.F) {
	a := newAPI(f)
	routes := a.writeRoutes(f)
	f.Logf("%d write routes", len(routes))
	index := map[writeRoute]int{}
	for i, r := range routes {
		index[r] = i
	}
	for _, ev := range eventBodies(f) {
		if i, ok := index[writeRoute{ev[0], ev[1]}]; ok {
			f.Add(uint8(i), uint8(0), "", []byte(ev[2]))
			f.Add(uint8(i), uint8(3), "../x", []byte(ev[2]))
		}
	}
	// One empty object per route; a few hostile shapes spread over the routes.
	for i := range routes {
		f.Add(uint8(i), uint8(0), "", []byte(`{}`))
	}
	for i, b := range []string{`[]`, `null`, `{"amount":1e309}`, `{"amount":"-0.001","currency":"usd"}`, `{"a":` + strings.Repeat("[", 200), "\xff"} {
		f.Add(uint8(i*7), uint8(i), "junk", []byte(b))
	}
	f.Fuzz(func(t *testing.T, route, choice uint8, junk string, body []byte) {
		r := routes[int(route)%len(routes)]
		target := a.path(r.path, choice, junk)
		rec := a.do(r.method, target, []byte(a.d.Fill(string(body))))
		checkResponse(t, r.method+" "+target, rec)
	})
}

// FuzzPagination pages every list route with fuzzed cursor and limit values:
// never a 5xx. A cursor "json:{…}" is base64url-encoded after ${COMPANY_PK}
// and ${PARTNER_PK} are filled, so the fuzzer can shape well-formed cursors
// into this partner's partitions as well as garbage.
func FuzzPagination(f *testing.F) {
	a := newAPI(f)
	var lists []string
	for _, r := range a.routes {
		if r.Method != "ANY" && r.Method != "GET" {
			continue
		}
		p := a.path(r.Path, 0, "")
		rec := a.do("GET", p+"?limit=1", nil)
		var page struct {
			Data json.RawMessage `json:"data"`
		}
		if rec.Code == 200 && json.Unmarshal(rec.Body.Bytes(), &page) == nil && bytes.HasPrefix(page.Data, []byte("[")) {
			lists = append(lists, r.Path)
		}
	}
	if len(lists) == 0 {
		f.Fatal("no list routes answered")
	}
	cpk := store.CompanyPK(a.d.PartnerID, a.d.CompanyID)
	f.Logf("%d list routes", len(lists))
	for i := range lists {
		f.Add(uint8(i), `json:{"pk":"${COMPANY_PK}","sk":"INVOICE#"}`, "2")
	}
	{
		for j, c := range []string{
			"", "x", "json:{}", `json:{"pk":"${COMPANY_PK}","sk":"INVOICE#"}`,
			`json:{"pk":"${COMPANY_PK}","sk":"INVOICE#z","gsi1pk":"${COMPANY_PK}"}`,
			`json:{"pk":"${PARTNER_PK}","sk":"COMPANY#z","gsi1zz":"a"}`,
			`json:{"pk":"${COMPANY_PK}","sk":"A","gsi1pk":"${COMPANY_PK}","gsi1sk":"B"}`,
			`json:{"pk":"${COMPANY_PK}","sk":""}`,
		} {
			l := []string{"", "1", "0", "-1", "101", "1e3", "abc", "99999999999999999999"}[j%8]
			f.Add(uint8(j*5), c, l)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, cursor, limit string) {
		if rest, ok := strings.CutPrefix(cursor, "json:"); ok {
			rest = strings.NewReplacer("${COMPANY_PK}", cpk, "${PARTNER_PK}", store.PartnerPK(a.d.PartnerID)).Replace(rest)
			cursor = base64.RawURLEncoding.EncodeToString([]byte(rest))
		}
		q := url.Values{}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if limit != "" {
			q.Set("limit", limit)
		}
		target := a.path(lists[int(route)%len(lists)], 0, "") + "?" + q.Encode()
		checkResponse(t, "GET "+target, a.do("GET", target, nil))
	})
}
