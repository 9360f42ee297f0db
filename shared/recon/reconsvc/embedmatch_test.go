package reconsvc_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/embed"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// browser is an Embedded UI page open in a browser, with its CSRF token.
type browser struct {
	*testenv.Browser
	csrf string
}

// do sends to the absolute URL u (the page's servers differ by port; the
// cookie jar keys by host only).
func (b *browser) do(method, u string, hdr map[string]string, body string) (int, string) {
	res, out := b.Do(method, u, hdr, body)
	return res.StatusCode, out
}

var csrfMeta = regexp.MustCompile(`name="csrf-token" content="([0-9a-f]{64})"`)

// embedBrowser opens company cid's Embedded UI with components through the
// embedded function (srv): the token is exchanged for the session cookie and
// the page's CSRF token read.
func embedBrowser(t *testing.T, w *world, srv, cid string, components ...string) *browser {
	t.Helper()
	b := &browser{Browser: testenv.NewBrowser(t, "")}
	if len(components) == 0 {
		return b
	}
	res := testenv.Do(t, "POST", srv+"/v1/companies/"+cid+"/embed-sessions", w.key, map[string]any{"components": components})
	var s embed.Created
	if res.Status != 201 {
		t.Fatalf("embed session: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &s)
	u, _ := url.Parse(s.URL)
	if st, body := b.do("GET", srv+u.RequestURI(), nil, ""); st != 303 {
		t.Fatalf("token exchange: %d %s", st, body)
	}
	st, page := b.do("GET", srv+"/embed", nil, "")
	m := csrfMeta.FindStringSubmatch(page)
	if st != 200 || m == nil {
		t.Fatalf("page: %d", st)
	}
	b.csrf = m[1]
	return b
}

// TestEmbedMatchRoutesOnReconcile: the Embedded UI's manual match and unmatch
// moved to the reconcile function (embed.MatchRoutes, template routes
// EmbedCreateMatch/EmbedDeleteMatch). Served by that function alone, they keep
// the page's checks: a session, its reconciliation component, the CSRF token,
// the same origin, and the session's company only.
func TestEmbedMatchRoutesOnReconcile(t *testing.T) {
	w := newWorld(t)
	full := w.env.Server()
	recon := w.env.Server("reconcile").URL // the deployed routing: only the reconcile function
	today := time.Now().UTC()
	ctx := context.Background()

	// Another company of the same partner, with a match and an unmatched pair.
	other, _, err := w.env.Companies.Create(ctx, w.pid, "cafe", "Cafe")
	if err != nil {
		t.Fatal(err)
	}
	wb := *w
	wb.cid = other.ID
	wb.payout("po_b1", today, charge("tb1", 5000, 175, ""))
	wb.payout("po_b2", today, charge("tb2", 2000, 88, ""))
	wb.do(full.URL, "POST", "/bank-transactions", page([]map[string]any{plaid("dep_b1", "-48.25", today, "DEPOSIT"), plaid("dep_b2", "-19.12", today, "DEPOSIT")}), nil)
	var mb reconsvc.Match
	if res := wb.do(full.URL, "POST", "/matches", map[string]any{"bank_transaction_id": "dep_b1", "payout_ids": []string{"po_b1"}}, &mb); res.Status != 201 {
		t.Fatalf("company B's match: %d %s", res.Status, res.Body)
	}
	// The session's company: one matchable pair.
	w.payout("po_a", today, charge("ta", 10000, 320, ""))
	w.do(full.URL, "POST", "/bank-transactions", page([]map[string]any{plaid("dep_a", "-96.80", today, "DEPOSIT")}), nil)

	mine := embedBrowser(t, w, full.URL, w.cid, embed.Reconciliation)
	payoutsOnly := embedBrowser(t, w, full.URL, w.cid, embed.Payouts)
	anon := embedBrowser(t, w, full.URL, w.cid)
	origin := strings.TrimRight(w.env.Cfg.PublicBaseURL, "/")
	hdr := func(b *browser, o string) map[string]string {
		h := map[string]string{"X-CSRF-Token": b.csrf, "Content-Type": "application/json"}
		if o != "" {
			h["Origin"] = o
		}
		return h
	}
	foreign := `{"bank_transaction_id":"dep_b2","payout_ids":["po_b2"]}`
	for _, tc := range []struct {
		name, method, path string
		b                  *browser
		hdr                map[string]string
		body               string
		want               []int
	}{
		{"match without a session", "POST", "/embed/api/matches", anon, hdr(mine, origin), `{"bank_transaction_id":"dep_a","payout_ids":["po_a"]}`, []int{401}},
		{"unmatch without a session", "DELETE", "/embed/api/matches/" + mb.ID, anon, hdr(mine, origin), "", []int{401}},
		{"match without the CSRF token", "POST", "/embed/api/matches", mine, map[string]string{"Origin": origin}, `{"bank_transaction_id":"dep_a","payout_ids":["po_a"]}`, []int{403}},
		{"match from another origin", "POST", "/embed/api/matches", mine, hdr(mine, "https://evil.example"), `{"bank_transaction_id":"dep_a","payout_ids":["po_a"]}`, []int{403}},
		{"match with a session without reconciliation", "POST", "/embed/api/matches", payoutsOnly, hdr(payoutsOnly, origin), `{"bank_transaction_id":"dep_a","payout_ids":["po_a"]}`, []int{403}},
		{"another company's bank line and payout", "POST", "/embed/api/matches", mine, hdr(mine, origin), foreign, []int{404, 422}},
		{"another company's match", "DELETE", "/embed/api/matches/" + mb.ID, mine, hdr(mine, origin), "", []int{404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := tc.b.do(tc.method, recon+tc.path, tc.hdr, tc.body)
			ok := false
			for _, s := range tc.want {
				ok = ok || st == s
			}
			if !ok || !strings.Contains(body, `"error"`) {
				t.Fatalf("%d %s, want one of %v", st, body, tc.want)
			}
		})
	}
	t.Run("the page's other routes are not the reconcile function's", func(t *testing.T) {
		if st, _ := mine.do("GET", recon+"/embed/api/payouts", nil, ""); st != 404 {
			t.Fatalf("GET /embed/api/payouts on the reconcile function: %d", st)
		}
	})
	t.Run("company B unchanged", func(t *testing.T) {
		var ms reconsvc.Page[reconsvc.Match]
		if res := wb.do(full.URL, "GET", "/matches", nil, &ms); res.Status != 200 || len(ms.Data) != 1 || ms.Data[0].ID != mb.ID || ms.Data[0].Status != mb.Status {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("the session's own company: matched and unmatched", func(t *testing.T) {
		st, body := mine.do("POST", recon+"/embed/api/matches", hdr(mine, origin), `{"bank_transaction_id":"dep_a","payout_ids":["po_a"]}`)
		var m reconsvc.Match
		if err := json.Unmarshal([]byte(body), &m); st != 201 || err != nil || m.ID == "" {
			t.Fatalf("match: %d %s", st, body)
		}
		if st, body := mine.do("DELETE", recon+"/embed/api/matches/"+m.ID, hdr(mine, origin), ""); st != 200 {
			t.Fatalf("unmatch: %d %s", st, body)
		}
	})
}
