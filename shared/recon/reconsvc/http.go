package reconsvc

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// Companies checks that a company belongs to the caller (404 otherwise).
type Companies interface {
	Get(ctx context.Context, partnerID, companyID string) (companies.Company, error)
}

// Page is a paginated list.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// MaxCSVBytes is where a CSV export stops adding pages (one page past it at
// most: < 4 MB + one page ≈ 1 MB, under Lambda's 6 MB response).
const MaxCSVBytes = 3 << 20

// MaxFeedBody caps a Plaid page (500 transactions of a few KB each).
const MaxFeedBody = 6 << 20

func limit(r *http.Request) (int32, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, apperr.FieldErrors(map[string]string{"limit": "must be an integer from 1 to 100"})
	}
	return int32(n), nil
}

func filter(r *http.Request) Filter {
	q := r.URL.Query()
	return Filter{From: q.Get("from"), To: q.Get("to"), Status: q.Get("status"), Reason: q.Get("reason"), MatchID: q.Get("match_id")}
}

func company(cos Companies, r *http.Request) (string, string, error) {
	pid, cid := httpapi.PartnerID(r.Context()), r.PathValue("id")
	if _, err := cos.Get(r.Context(), pid, cid); err != nil {
		return "", "", err
	}
	return pid, cid, nil
}

// FeedRoutes mounts the bank-feed function: POST /v1/companies/{id}/bank-transactions.
func FeedRoutes(rt *httpapi.Router, s *Service, cos Companies) {
	rt.Handle(http.MethodPost, "/v1/companies/{id}/bank-transactions", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		var page recon.SyncPage
		if err := httpapi.DecodeJSON(r, &page); err != nil {
			return err
		}
		res, err := s.Ingest(r.Context(), pid, cid, page)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, res)
	}, httpapi.MaxBody(MaxFeedBody))
}

// ReconcileRoutes mounts the reconcile function's HTTP side: on-demand runs,
// manual matches, unmatching and the account names.
func ReconcileRoutes(rt *httpapi.Router, s *Service, cos Companies) {
	rt.Handle(http.MethodPost, "/v1/companies/{id}/reconcile", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		full := r.URL.Query().Get("full") == "true"
		sum, err := s.Reconcile(r.Context(), pid, cid, full)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, sum)
	})
	rt.Handle(http.MethodGet, "/v1/companies/{id}/reconcile", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		var st state
		err = s.Store.Get(r.Context(), store.CompanyPK(pid, cid), skState, &st)
		if err != nil && err != store.ErrNotFound {
			return err
		}
		out := State{DirtyFrom: st.DirtyFrom, Due: st.GSI1PK != "", LastSummary: st.LastSummary}
		if !st.LastRunAt.IsZero() {
			out.LastRunAt = st.LastRunAt.Format("2006-01-02T15:04:05Z")
		}
		return httpapi.WriteJSON(w, http.StatusOK, out)
	})
	rt.Handle(http.MethodPost, "/v1/companies/{id}/matches", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		var in ManualMatchInput
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		m, err := s.ManualMatch(r.Context(), pid, cid, in)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusCreated, m)
	})
	rt.Handle(http.MethodDelete, "/v1/companies/{id}/matches/{match_id}", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		m, err := s.Unmatch(r.Context(), pid, cid, r.PathValue("match_id"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, m)
	})
	rt.Handle(http.MethodPut, "/v1/companies/{id}/accounts", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		var in map[string]string
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		out, err := s.SetAccounts(r.Context(), pid, cid, in)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, out)
	})
	rt.Handle(http.MethodGet, "/v1/companies/{id}/accounts", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		out, err := s.Accounts(r.Context(), pid, cid)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, out)
	})
}

// ReportRoutes mounts the reports function: matches, journal entries (JSON or
// CSV), exceptions and bank transactions, with filters and cursor pagination.
func ReportRoutes(rt *httpapi.Router, s *Service, cos Companies) {
	rt.Handle(http.MethodGet, "/v1/companies/{id}/matches", listRoute(cos, s.Matches))
	rt.Handle(http.MethodGet, "/v1/companies/{id}/matches/{match_id}", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		m, err := s.GetMatch(r.Context(), pid, cid, r.PathValue("match_id"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, m)
	})
	rt.Handle(http.MethodGet, "/v1/companies/{id}/journal-entries", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		n, err := limit(r)
		if err != nil {
			return err
		}
		f, cursor := filter(r), r.URL.Query().Get("cursor")
		if !wantsCSV(r) {
			list, next, err := s.JournalEntries(r.Context(), pid, cid, f, n, cursor)
			if err != nil {
				return err
			}
			return httpapi.WriteJSON(w, http.StatusOK, Page[JournalEntry]{Data: list, NextCursor: next})
		}
		// CSV export: pages of entry parts until about MaxCSVBytes; the cursor
		// to continue from, if any, is in X-Next-Cursor.
		var buf bytes.Buffer
		next := cursor
		for i := 0; buf.Len() < MaxCSVBytes; i++ {
			list, nx, err := s.JournalEntries(r.Context(), pid, cid, f, MaxJournalPage, next)
			if err != nil {
				return err
			}
			if err := WriteJournalCSV(&buf, list, i == 0); err != nil {
				return err
			}
			if next = nx; next == "" {
				break
			}
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="journal-entries.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		if next != "" {
			w.Header().Set("X-Next-Cursor", next)
		}
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(buf.Bytes())
		return err
	})
	rt.Handle(http.MethodGet, "/v1/companies/{id}/exceptions", listRoute(cos, s.Exceptions))
	rt.Handle(http.MethodGet, "/v1/companies/{id}/bank-transactions", listRoute(cos, s.BankTransactions))
}

// listRoute serves a paginated report of one company: the company check, limit,
// from/to/status/reason filters and the cursor are the same for every list.
func listRoute[T any](cos Companies, list func(ctx context.Context, pid, cid string, f Filter, n int32, cursor string) ([]T, string, error)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(cos, r)
		if err != nil {
			return err
		}
		n, err := limit(r)
		if err != nil {
			return err
		}
		items, next, err := list(r.Context(), pid, cid, filter(r), n, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, Page[T]{Data: items, NextCursor: next})
	}
}

func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(mt, "text/csv") {
			return true
		}
	}
	return r.URL.Query().Get("format") == "csv"
}
