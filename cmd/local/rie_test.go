package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/rie"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// want is what one events/ file must produce on the seeded demo data: the
// status (API Gateway responses) and a field of the response body (or of the
// handler's own response for SQS and schedule events) that must be present.
type want struct {
	status int
	field  string
}

// expected covers every events/*.json; a new event file must be added here.
var expected = map[string]want{
	"embedded-create-session":           {201, "url"},
	"embedded-put-settings":             {200, "allowed_origins"},
	"plaid-get-integration":             {404, "error"}, // the demo seed configures no Plaid credentials
	"plaid-list-items":                  {200, "data"},
	"bank-feed-sync-page":               {200, "added"},
	"connections-create-company":        {201, "id"},
	"connections-link-stripe":           {200, "account_id"},
	"connections-list-connections":      {200, "data"},
	"connections-start-stripe-flow":     {409, "error"}, // the demo company is already connected
	"connections-create-stripe-account": {409, "error"}, // likewise: onboarding only for an unconnected company
	"credentials-delete-qualpay":        {204, ""},
	"credentials-get-stripe":            {200, "configured"},
	"credentials-put-qualpay":           {200, "configured"},
	"credentials-put-stripe":            {200, "configured"},
	"payments-create-invoice":           {201, "id"},
	"payments-list-invoices":            {200, "data"},
	"payments-list-payouts":             {200, "data"},
	"qualpay-webhook-batch-settled":     {200, "received"},
	"reconcile-company-sqs":             {0, "batchItemFailures"},
	"reconcile-manual-match":            {422, "error"}, // no payout po_demo on a fresh table
	"reconcile-embed-manual-match":      {401, "error"}, // the Embedded UI's manual match: no embed session cookie
	"reconcile-put-accounts":            {200, "bank"},
	"reconcile-run":                     {200, "matched"},
	"reconcile-schedule":                {0, "due"},
	"reports-journal-entries-csv":       {200, ""},
	"reports-list-bank-transactions":    {200, "data"},
	"reports-list-exceptions":           {200, "data"},
	"reports-list-matches":              {200, "data"},
	"splits-create-intent":              {201, "id"},
	"splits-create-partnership":         {201, "id"},
	"splits-create-split-qualy":         {404, "error"}, // the guide's IDs as printed: no such payment intent here
	"splits-create-tax":                 {201, "id"},
	"splits-list-intents":               {200, "data"},
	"splits-funding-sqs":                {0, "batchItemFailures"}, // an intent not on this table: logged and acknowledged
	"stripe-oauth-callback":             {400, ""},                // a state never issued: the HTML "link expired" page
	"stripe-webhook-payment-succeeded":  {200, "received"},
	"stripe-webhook-payout-paid":        {200, "received"},
	"vault-add-shipping-address":        {404, "error"}, // runs before vault-create-customer
	"vault-create-plan":                 {201, "plan_id"},
	"vault-create-customer":             {201, "customer_id"},
	"vault-get-customer":                {200, "customer_id"},
	"vault-list-customers":              {200, "data"},
	"vault-account-updater-schedule":    {0, "due"}, // the daily Account Updater pass: no vault customers due
	"worker-itemise-payout":             {0, "batchItemFailures"},
	"notifications-list-endpoints":      {200, "data"},
	"notifications-list-events":         {200, "data"},
	"notifications-relay-stream":        {0, "batchItemFailures"}, // the demo partner has no endpoints: nothing queued
	"notifications-relay-sweep":         {0, "pending"},
	"notifications-sender-deliver":      {0, "batchItemFailures"}, // no such event on a fresh table: recorded as dropped
}

// order runs functions so that later events find what earlier ones made, and
// the credentials deletion comes last.
var order = []string{"stripe-webhook", "worker", "qualpay-webhook", "connections", "stripe-oauth", "payments",
	"vault", "splits", "bank-feed", "reconcile", "reports", "embedded", "plaid",
	"notifications", "notifications-relay", "notifications-sender", "credentials"}

// TestBootstrapsUnderRIE runs every function's real bootstrap (built as
// deployment builds it, for this host's architecture) under aws-lambda-rie on
// the local stack and the seeded demo partner, feeds it its events/ files as
// shipped and one rejected request of each, and records each init time from the
// emulator's INIT REPORT line.
func TestBootstrapsUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack and aws-lambda-rie")
	}
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := rie.Binary(root)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := samtemplate.FunctionSettings(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	byDir := map[string]samtemplate.Function{}
	for _, f := range fns {
		byDir[f.Dir] = f
	}
	if len(byDir) != len(order) {
		t.Fatalf("template has %d functions, the test orders %d: add the new one to order", len(byDir), len(order))
	}
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	events := map[string][]string{} // function dir -> event names
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if _, ok := expected[name]; !ok {
			t.Errorf("events/%s.json has no expectation in this test", name)
		}
		dir := ""
		for d := range byDir {
			if strings.HasPrefix(name, d+"-") && len(d) > len(dir) {
				dir = d
			}
		}
		if dir == "" {
			t.Fatalf("events/%s.json names no function (file names start with the function's folder)", name)
		}
		events[dir] = append(events[dir], name)
	}

	ctx := context.Background()
	stack, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := buildLocal(ctx, stack, "http://127.0.0.1:3000", uniqueTable(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLocal()

	// Build every bootstrap first, two at a time (the machine has two cores).
	out := t.TempDir()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	errs := make([]error, len(order))
	for i, dir := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = rie.Build(ctx, root, "./functions/"+dir, filepath.Join(out, dir, "bootstrap"), "")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	inits := map[string]time.Duration{}
	for _, dir := range order {
		f := byDir[dir]
		t.Run(f.LogicalID, func(t *testing.T) {
			p, err := rie.Start(ctx, rie.Options{RIE: bin, Bootstrap: filepath.Join(out, dir, "bootstrap"), Env: l.FunctionEnv,
				Timeout: time.Duration(f.Timeout) * time.Second, MemoryMB: f.MemoryMB})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			defer func() {
				if t.Failed() {
					t.Logf("emulator and function log:\n%s", p.Logs())
				}
			}()
			ok, rejected := 0, 0
			names := events[dir]
			sort.Strings(names)
			for _, name := range names {
				raw, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
				if err != nil {
					t.Fatal(err)
				}
				w := expected[name]
				status, body := invoke(t, p, raw)
				if status != w.status {
					t.Errorf("%s: status %d, want %d: %s", name, status, w.status, body)
					continue
				}
				if w.field != "" && !hasField(body, w.field) {
					t.Errorf("%s: no %q in %s", name, w.field, body)
				}
				if failed := batchFailures(body); status/100 == 2 || (status == 0 && failed == 0) {
					ok++
				} else {
					rejected++
				}
				if bad, wantStatus, ok := rejectedVariant(raw); ok {
					status, body := invoke(t, p, bad)
					if status != wantStatus || (status == 0 && batchFailures(body) != 0) || (status != 0 && !hasField(body, "error")) {
						t.Errorf("%s (rejected variant): status %d, want %d: %s", name, status, wantStatus, body)
					} else {
						rejected++
					}
				}
			}
			if dir == "stripe-webhook" {
				// payout.paid queued its itemisation on the stack's SQS work queue.
				if n, err := queuedJobs(ctx, l.FunctionEnv); err != nil || n < 1 {
					t.Errorf("work queue after payout.paid: %d jobs, %v", n, err)
				}
			}
			if dir == "stripe-oauth" {
				// The shipped callback's state was never issued; a real round trip
				// (Start Stripe Flow, the local authorize stand-in) gives one that is.
				status, body := invoke(t, p, oauthCallback(t, l, root))
				if status != 302 {
					t.Errorf("oauth callback with an issued state: status %d, want 302: %s", status, body)
				} else {
					ok++
				}
			}
			if ok == 0 || rejected == 0 {
				t.Errorf("%s: %d accepted and %d rejected requests; want at least one of each", f.LogicalID, ok, rejected)
			}
			d, err := p.InitDuration()
			if err != nil {
				t.Fatal(err)
			}
			inits[f.LogicalID] = d
		})
	}
	var lines []string
	for _, dir := range order {
		id := byDir[dir].LogicalID
		lines = append(lines, fmt.Sprintf("%-26s init %6.2f ms", id, float64(inits[id])/float64(time.Millisecond)))
	}
	t.Logf("init under aws-lambda-rie (INIT REPORT, one cold start each, machine shared):\n%s", strings.Join(lines, "\n"))
}

// invoke posts an event and returns the API Gateway status (0 for non-HTTP
// handlers) and the body (the handler's response for non-HTTP handlers).
func invoke(t *testing.T, p *rie.Process, event []byte) (int, string) {
	t.Helper()
	res, err := p.Invoke(context.Background(), event)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var gw struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if json.Unmarshal(res, &gw) == nil && gw.StatusCode != 0 {
		return gw.StatusCode, gw.Body
	}
	return 0, string(res)
}

func hasField(body, field string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &m) != nil {
		return false
	}
	_, ok := m[field]
	return ok
}

func batchFailures(body string) int {
	var r struct {
		BatchItemFailures []json.RawMessage `json:"batchItemFailures"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	return len(r.BatchItemFailures)
}

// rejectedVariant derives a request the function must refuse from an event:
// no API key (401), a webhook body changed after signing (400), an SQS message
// that is not a job, or a stream record without its image (acknowledged and
// logged: redelivery cannot help, so it is not a failed item; the relay's sweep
// reads such an event from the table). The schedule has none.
func rejectedVariant(raw []byte) ([]byte, int, bool) {
	var ev map[string]any
	if json.Unmarshal(raw, &ev) != nil {
		return nil, 0, false
	}
	if recs, ok := ev["Records"].([]any); ok && len(recs) > 0 {
		rec := recs[0].(map[string]any)
		if change, ok := rec["dynamodb"].(map[string]any); ok {
			// A stream record without its image: the relay cannot fan it out.
			delete(change, "NewImage")
			b, _ := json.Marshal(ev)
			return b, 0, true
		}
		rec["body"] = "{not a job"
		ev["Records"] = []any{rec}
		b, _ := json.Marshal(ev)
		return b, 0, true
	}
	headers, ok := ev["headers"].(map[string]any)
	if !ok {
		return nil, 0, false
	}
	switch {
	case headers["authorization"] != nil:
		delete(headers, "authorization")
		b, _ := json.Marshal(ev)
		return b, 401, true
	case headers["stripe-signature"] != nil || headers["x-qualpay-webhook-signature"] != nil:
		ev["body"] = strings.Replace(ev["body"].(string), "{", "{ ", 1) // same JSON, other bytes
		b, _ := json.Marshal(ev)
		return b, 400, true
	}
	return nil, 0, false
}

// oauthCallback starts the Stripe flow for a new company on the in-process
// handlers, opens its start link (which binds the flow to a cookie), approves
// it on the local authorize stand-in, and returns the shipped callback event
// carrying the code, the state and the binding cookie.
func oauthCallback(t *testing.T, l *local, root string) []byte {
	t.Helper()
	srv := httptest.NewServer(l.Handler)
	defer srv.Close()
	co := testenv.Do(t, "POST", srv.URL+"/v1/companies", l.Demo.APIKey, map[string]string{"external_id": "oauth-rie", "name": "OAuth RIE"})
	var c struct{ ID string }
	if err := json.Unmarshal(co.Body, &c); err != nil || c.ID == "" {
		t.Fatalf("create company: %d %s", co.Status, co.Body)
	}
	flow := testenv.Do(t, "POST", srv.URL+"/v1/companies/"+c.ID+"/stripe/connect", l.Demo.APIKey, map[string]string{"return_url": "https://partner.example/done"})
	var f struct{ URL string }
	if err := json.Unmarshal(flow.Body, &f); err != nil || f.URL == "" {
		t.Fatalf("start stripe flow: %d %s", flow.Status, flow.Body)
	}
	// The start link binds the flow to this "browser" (a cookie) and redirects to the authorize page.
	start, err := url.Parse(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bind, err := noRedirect.Get(srv.URL + start.RequestURI())
	if err != nil {
		t.Fatal(err)
	}
	bind.Body.Close()
	cookies := bind.Cookies()
	u, err := url.Parse(bind.Header.Get("Location"))
	if err != nil || len(cookies) == 0 {
		t.Fatalf("start link: %d %q, %d cookies", bind.StatusCode, bind.Header.Get("Location"), len(cookies))
	}
	q := u.Query()
	form := url.Values{"client_id": {q.Get("client_id")}, "redirect_uri": {q.Get("redirect_uri")}, "state": {q.Get("state")},
		"scope": {q.Get("scope")}, "account_id": {"acct_1RieOAuthTest0001"}, "decision": {"approve"}}
	res, err := noRedirect.PostForm(srv.URL+standInPath, form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("stand-in did not redirect with a code: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	raw, err := os.ReadFile(filepath.Join(root, "events", "stripe-oauth-callback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["rawQueryString"] = back.RawQuery
	params := map[string]string{}
	for k := range back.Query() {
		params[k] = back.Query().Get(k)
	}
	ev["queryStringParameters"] = params
	var jar []string
	for _, c := range cookies {
		jar = append(jar, c.Name+"="+c.Value)
	}
	ev["cookies"] = jar // API Gateway v2 carries the browser's cookies here
	b, _ := json.Marshal(ev)
	return b
}
