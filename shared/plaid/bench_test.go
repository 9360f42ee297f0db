package plaid_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app/plaidfn"
	"github.com/payrecon/payrecon/shared/local/plaidfake"
)

// BenchmarkSyncUpdate1000 is one whole Plaid update of 1,000 new transactions
// at Plaid's production page size (2 pages of 500): plaid-go → the spec-checked
// fake → the bank feed on DynamoDB Local, cursor written at the end. It reports
// pages and lines per update; time is dominated by the feed's writes.
func BenchmarkSyncUpdate1000(b *testing.B) {
	const n = 1000
	w := newWorld(b)
	w.configure()
	it := w.link()
	svc := plaidfn.Service(w.env.Env)
	svc.Reconcile = nil // the sync alone
	day := time.Now().UTC().Format(time.DateOnly)
	var pages, lines int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		txns := make([]plaidfake.Txn, n)
		for j := range txns {
			txns[j] = plaidfake.Txn{ID: fmt.Sprintf("b%d-%d", i, j), AccountID: "acc_checking", Amount: fmt.Sprintf("%d.%02d", 1+j%500, j%100), Date: day, Name: "CARD"}
		}
		w.fake.Add(it.ItemID, txns...)
		b.StartTimer()
		res, err := svc.Sync(context.Background(), w.pid, w.cid, it.ItemID)
		if err != nil || res.Added != n {
			b.Fatalf("sync: %+v %v", res, err)
		}
		pages, lines = pages+res.Pages, lines+res.Added
	}
	b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
	b.ReportMetric(float64(lines)/float64(b.N), "lines/op")
}
