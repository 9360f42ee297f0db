package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/webhooks"
)

const (
	qpKey    = "3888ab7bba98452987cdf69ae917561a"
	qpSecret = "qpwebhooksecret1"
	qpMID    = "212000000001"
)

func TestQualpaySignatureVectors(t *testing.T) {
	// Vectors computed independently (Python hmac + base64).
	tests := []struct {
		name, body, secret, sig string
	}{
		{"event", `{"event":"batch_settled","merchant_id":212000000001}`, "qpwebhooksecret1", "FKFURCSYBXb7koCXTErHFQHl5zshtgaIBEFgC/maBtw="},
		{"empty body", ``, "qpwebhooksecret1", "dDVOe14LXr66vc3AHeSScSAbYt+iYgWeGY2GSsP1JgM="},
		{"plain text", `hello world`, "abcdefgh", "iMF2e8ZOI3f+Pb2uK+C+7ZulrmcUqRDHRpMFl1olZlY="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := webhooks.SignQualpay([]byte(tc.body), tc.secret); got != tc.sig {
				t.Fatalf("sign = %s, want %s", got, tc.sig)
			}
			if !webhooks.VerifyQualpay([]byte(tc.body), tc.sig, tc.secret) {
				t.Fatal("valid signature rejected")
			}
			for name, bad := range map[string][3]string{
				"other secret": {tc.body, tc.sig, tc.secret + "x"},
				"tampered":     {tc.body + " ", tc.sig, tc.secret},
				"truncated":    {tc.body, tc.sig[:20], tc.secret},
				"not base64":   {tc.body, "!!!" + tc.sig, tc.secret},
				"empty":        {tc.body, "", tc.secret},
				"empty secret": {tc.body, tc.sig, ""},
			} {
				if webhooks.VerifyQualpay([]byte(bad[0]), bad[1], bad[2]) {
					t.Errorf("%s accepted", name)
				}
			}
		})
	}
}

// qpFake is a Qualpay reporting server for one merchant. Every row it serves is
// checked against the row schema of ../shared/specs/qualpay-openapi.yaml
// (declared property, declared JSON type), and it enforces basic auth and the
// filter grammar the client sends.
type qpFake struct {
	srv      *httptest.Server
	mu       sync.Mutex
	rows     map[string][]map[string]any // path -> rows
	schemas  map[string]map[string]string
	requests []string
	t        testing.TB
}

var qpRowSchemas = map[string]string{
	"/platform/reporting/deposits":                    "DepositData",
	"/platform/reporting/transactions":                "SettledTransactionRequest",
	"/platform/reporting/statement-report/settlement": "StatementSettlementData",
	"/platform/reporting/statement-report/fees":       "StatementFeeData",
}

func loadRowSchemas(t testing.TB) map[string]map[string]string {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "..", "shared", "specs", "qualpay-openapi.yaml"))
	if err != nil {
		t.Skipf("qualpay spec not available: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Type string `yaml:"type"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for path, name := range qpRowSchemas {
		props := map[string]string{}
		for k, v := range doc.Components.Schemas[name].Properties {
			props[k] = v.Type
		}
		if len(props) == 0 {
			t.Fatalf("schema %s not in spec", name)
		}
		out[path] = props
	}
	return out
}

func newQPFake(t testing.TB) *qpFake {
	f := &qpFake{rows: map[string][]map[string]any{}, schemas: loadRowSchemas(t), t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *qpFake) add(path string, row map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	props := f.schemas[path]
	for k, v := range row {
		typ, ok := props[k]
		if !ok {
			f.t.Errorf("%s: field %q is not in the spec", path, k)
			continue
		}
		var good bool
		switch v.(type) {
		case string:
			good = typ == "string"
		case int, int64:
			good = typ == "integer" || typ == "number"
		case json.Number, float64:
			good = typ == "number"
		}
		if !good {
			f.t.Errorf("%s: field %q is %T, spec says %s", path, k, v, typ)
		}
	}
	f.rows[path] = append(f.rows[path], row)
}

func (f *qpFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.URL.Path+"?"+r.URL.RawQuery)
	user, pass, ok := r.BasicAuth()
	if !ok || user != qpKey || pass != "" {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"code":401,"message":"Unauthorized"}`)
		return
	}
	rows, known := f.rows[r.URL.Path]
	if _, declared := qpRowSchemas[r.URL.Path]; !declared && !known {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"code":404,"message":"Not found"}`)
		return
	}
	q := r.URL.Query()
	var kept []map[string]any
	for _, row := range rows {
		match := true
		for _, flt := range q["filter"] {
			parts := strings.Split(flt, ",")
			if len(parts) < 3 {
				w.WriteHeader(400)
				fmt.Fprint(w, `{"code":2,"message":"invalid filter"}`)
				return
			}
			v := fmt.Sprint(row[parts[0]])
			if len(v) > 10 && parts[0] != "merchant_id" {
				v = v[:10] // dates compare by calendar day
			}
			switch parts[1] {
			case "EQ":
				match = match && v == parts[2]
			case "BETWEEN":
				match = match && len(parts) == 4 && v >= parts[2] && v <= parts[3]
			default:
				w.WriteHeader(400)
				fmt.Fprint(w, `{"code":2,"message":"unsupported operator"}`)
				return
			}
		}
		if match {
			kept = append(kept, row)
		}
	}
	count, _ := strconv.Atoi(q.Get("count"))
	if count < 1 || count > 100 {
		count = 10
	}
	page, _ := strconv.Atoi(q.Get("page"))
	start, end := min(page*count, len(kept)), min(page*count+count, len(kept))
	pages := (len(kept) + count - 1) / count
	data := kept[start:end]
	if data == nil {
		data = []map[string]any{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": 0, "message": "Success", "totalPages": pages, "totalRecords": len(kept), "data": data})
}

func TestQualpayWebhookAndDepositPull(t *testing.T) {
	fake := newQPFake(t)
	w := newWorld(t, func(c *app.Config) { c.QualpayBaseURL = fake.srv.URL })
	ctx := context.Background()
	res := testenv.Do(t, "PUT", w.env.Server("credentials").URL+"/v1/integrations/qualpay", w.key,
		map[string]any{"security_key": qpKey, "integrator_id": 301, "webhook_secret": qpSecret, "environment": "sandbox"})
	if res.Status != 200 {
		t.Fatalf("configure qualpay: %d %s", res.Status, res.Body)
	}
	if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: w.pid, CompanyID: w.cid, Provider: "qualpay",
		AccountID: qpMID, Method: "linked", ConnectedAt: w.env.Now()}); err != nil {
		t.Fatal(err)
	}
	// Exercise paging: the worker's puller reads two rows per request.
	wk := workerfn.Worker(w.env.Env)
	wk.Qualpay.(*webhooks.QualpayPuller).PageSize = 2
	today := time.Now().UTC().Format(time.DateOnly)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	mid, _ := strconv.ParseInt(qpMID, 10, 64)
	fake.add("/platform/reporting/deposits", map[string]any{"rec_id": 9001, "merchant_id": mid, "dba_name": "Bakery",
		"reference_number": "5550001", "amt_ach": "2890.57", "ach_description": "QUALPAY DEP", "post_date_actual": today})
	fake.add("/platform/reporting/deposits", map[string]any{"rec_id": 9002, "merchant_id": mid, "dba_name": "Bakery",
		"reference_number": "5550002", "amt_ach": "0.00", "ach_description": "QUALPAY DEP", "post_date_actual": "2020-01-01"})
	for i, tx := range [][2]string{{"1000.00", "975.00"}, {"2000.10", "1950.07"}, {"-30.00", "-30.00"}} {
		fake.add("/platform/reporting/transactions", map[string]any{"rec_id": 100 + i, "merchant_id": mid, "batch_date": yesterday,
			"settle_date": today, "tran_date": yesterday, "amt_tran": tx[0], "amt_funded": tx[1], "tran_currency": "840",
			"funded_currency": "840", "pg_id": fmt.Sprintf("pg%032d", i), "batch_id": 55})
	}
	fake.add("/platform/reporting/statement-report/settlement", map[string]any{"merchant_id": mid, "batch_date": yesterday + "T00:00:00Z",
		"amt_purch": json.Number("3000.10"), "amt_return": json.Number("30.00"), "discount_paid": json.Number("4.50"), "amt_net": json.Number("2890.57")})

	body := []byte(`{"webhook_id":77,"event":"batch_settled","merchant_id":` + qpMID + `,"timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","data":{"merchant_id":` + qpMID + `}}`)
	sig := webhooks.SignQualpay(body, qpSecret)
	t.Run("bad signatures write nothing", func(t *testing.T) {
		before := w.writes.n.Load()
		for name, s := range map[string]string{"missing": "", "wrong": webhooks.SignQualpay(body, "otherSecret1"), "garbage": "***"} {
			if r := post(t, w.srv.URL+"/qualpay", body, webhooks.QualpaySignatureHeader, s); r.status != 400 {
				t.Fatalf("%s: %d %s", name, r.status, r.body)
			}
		}
		// On the partner URL the signature is checked before the body is parsed.
		if r := post(t, w.srv.URL+"/qualpay/"+w.pid, []byte("not json"), webhooks.QualpaySignatureHeader, sig); r.status != 400 || !strings.Contains(string(r.body), "signature") {
			t.Fatalf("partner url: %d %s", r.status, r.body)
		}
		tampered := []byte(strings.Replace(string(body), "batch_settled", "batch_settlef", 1))
		if r := post(t, w.srv.URL+"/qualpay", tampered, webhooks.QualpaySignatureHeader, sig); r.status != 400 {
			t.Fatalf("tampered: %d", r.status)
		}
		unknown := []byte(`{"event":"batch_settled","merchant_id":999999999999}`)
		if r := post(t, w.srv.URL+"/qualpay", unknown, webhooks.QualpaySignatureHeader, webhooks.SignQualpay(unknown, qpSecret)); r.status != 400 {
			t.Fatalf("unknown merchant: %d", r.status)
		}
		if r := post(t, w.srv.URL+"/qualpay", []byte(`{"pad":"`+strings.Repeat("x", 1<<20)+`"}`), webhooks.QualpaySignatureHeader, sig); r.status != 413 {
			t.Fatalf("oversized: %d", r.status)
		}
		if n := w.writes.n.Load() - before; n != 0 {
			t.Fatalf("rejected deliveries wrote %d times", n)
		}
	})
	t.Run("recorded, deduplicated, pull queued", func(t *testing.T) {
		// Run the pull through this test's worker (paging) by delivering to a service on it.
		w.svc.Queue = &syncQueue{h: wk}
		r := post(t, w.srv.URL+"/qualpay", body, webhooks.QualpaySignatureHeader, sig)
		if r.status != 200 || r.res.Duplicate || r.res.Outcome != "applied" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := post(t, w.srv.URL+"/qualpay/"+w.pid, body, webhooks.QualpaySignatureHeader, sig); r.status != 200 || !r.res.Duplicate {
			t.Fatalf("redelivery: %d %s", r.status, r.body)
		}
	})
	t.Run("deposit itemised to amt_ach", func(t *testing.T) {
		id := webhooks.DepositPayoutID(qpMID, 9001)
		p, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, id)
		if err != nil {
			t.Fatal(err)
		}
		items, err := w.svc.Payouts.Items(ctx, w.pid, w.cid, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Provider != "qualpay" || p.Amount != 289057 || p.Status != "paid" || p.ArrivalDate != today || p.Descriptor != "QUALPAY DEP" ||
			p.Reference != "5550001" || p.ItemisationStatus != payouts.ItemisationComplete || len(items) != 4 || payouts.SumNet(items) != 289057 {
			t.Fatalf("deposit %+v items %+v", p, items)
		}
		if _, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, webhooks.DepositPayoutID(qpMID, 9002)); err == nil {
			t.Fatal("a deposit outside the window was pulled")
		}
		paged := 0
		for _, rq := range fake.requests {
			if strings.Contains(rq, "/transactions") && strings.Contains(rq, "page=1") {
				paged++
			}
		}
		if paged == 0 {
			t.Fatalf("transactions were not paged: %v", fake.requests)
		}
		// The same deposits again change nothing.
		before := w.writes.n.Load()
		if err := wk.Handle(ctx, queueJob(w)); err != nil {
			t.Fatal(err)
		}
		if n := w.writes.n.Load() - before; n != 0 {
			t.Fatalf("re-pull wrote %d times", n)
		}
	})
}

// TestQualpayPullAgainstQualpayfake runs the deposit pull against the shared
// Qualpay fake, which validates every request and response against the spec.
func TestQualpayPullAgainstQualpayfake(t *testing.T) {
	fake := qualpayfake.Start(t, qualpayfake.Config{SecurityKey: qpKey})
	w := newWorld(t, func(c *app.Config) { c.QualpayBaseURL = fake.URL })
	ctx := context.Background()
	configureQualpay(t, w)
	if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: w.pid, CompanyID: w.cid, Provider: "qualpay",
		AccountID: qpMID, Method: "linked", ConnectedAt: w.env.Now()}); err != nil {
		t.Fatal(err)
	}
	mid, _ := strconv.ParseInt(qpMID, 10, 64)
	today := time.Now().UTC().Format(time.DateOnly)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	amt := func(s string) qualpay.Amount {
		a, err := qualpay.ParseAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	num := func(s string) qualpay.Number {
		n, err := qualpay.ParseNumber(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	fake.SeedDeposits(qualpay.Deposit{RecID: 7001, MerchantID: mid, DBAName: "Bakery", ReferenceNumber: "880001",
		AmtACH: amt("1945.55"), ACHDescription: "QUALPAY DEP", PostDateActual: today})
	for i, tx := range [][2]string{{"1000.00", "970.80"}, {"1000.00", "970.80"}, {"5.00", "4.95"}} {
		fake.SeedTransactions(qualpay.SettledTransaction{RecID: int64(500 + i), MerchantID: mid, BatchDate: yesterday, BatchID: 31,
			SettleDate: today, TranDate: yesterday, AmtTran: amt(tx[0]), AmtFunded: amt(tx[1]), TranCurrency: "840", FundedCurrency: "840",
			PgID: fmt.Sprintf("%032d", i+1)})
	}
	fake.SeedSettlements(qualpay.SettlementRecord{MerchantID: mid, BatchDate: yesterday + "T00:00:00Z",
		AmtPurch: num("2005.00"), DiscountPaid: num("1.00"), AmtNet: num("1945.55")})

	wk := workerfn.Worker(w.env.Env)
	wk.Qualpay.(*webhooks.QualpayPuller).PageSize = 2
	if err := wk.Handle(ctx, queueJob(w)); err != nil {
		t.Fatal(err)
	}
	id := webhooks.DepositPayoutID(qpMID, 7001)
	p, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, id)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := w.svc.Payouts.Items(ctx, w.pid, w.cid, id)
	if p.Amount != 194555 || p.ItemisationStatus != payouts.ItemisationComplete || payouts.SumNet(items) != 194555 || len(items) != 4 {
		t.Fatalf("deposit %+v items %+v", p, items)
	}
	// The deposit itemised is announced once, as the API shows it; a second
	// pull of the same deposit announces nothing.
	outboxtest.One(t, w.env.Store, w.pid, w.cid, outbox.PayoutItemised, id, w.apiGet(t, "/payouts/"+id))
	if err := wk.Handle(ctx, queueJob(w)); err != nil {
		t.Fatal(err)
	}
	outboxtest.Count(t, w.env.Store, w.pid, outbox.PayoutItemised, id, 1)
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("contract violations: %v", v)
	}
}
