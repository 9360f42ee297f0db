package qualpay

import (
	"context"
	"strconv"
)

// Account Updater reports (spec: browseAusRequests, browseAusSummary). Qualpay
// harvests the cards in a merchant's vault, asks the card networks for
// changes, updates the cards on file itself and reports each card here
// (https://help.qualpay.com/help/account-updater-overview).

// Account Updater reason codes (spec: AccountUpdaterData.reason_code).
const (
	AusExpiryUpdated     = "201"
	AusNumberUpdated     = "202"
	AusAccountClosed     = "203"
	AusContactCardholder = "204"
)

// AusDetail is one card's Account Updater result (spec: AccountUpdaterData).
// Card numbers are masked by Qualpay; the *New fields are empty when unchanged.
type AusDetail struct {
	MerchantID    int64  `json:"merchant_id,omitempty"`
	RequestID     int64  `json:"request_id,omitempty"`
	RequestDate   string `json:"request_date,omitempty"`
	ResponseDate  string `json:"response_date,omitempty"`
	CardID        string `json:"card_id,omitempty"`
	CardNumber    string `json:"card_number,omitempty"`
	ExpDate       string `json:"exp_date,omitempty"`
	CardNumberNew string `json:"card_number_new,omitempty"`
	ExpDateNew    string `json:"exp_date_new,omitempty"`
	ReasonCode    string `json:"reason_code,omitempty"`
	Billable      bool   `json:"billable"`
}

// Changed reports whether the networks changed the card's number or expiry.
func (d AusDetail) Changed() bool { return d.CardNumberNew != "" || d.ExpDateNew != "" }

// AusSummary is one Account Updater request (spec: AccountUpdaterSummaryData).
type AusSummary struct {
	RequestID   int64  `json:"request_id,omitempty"`
	MerchantID  int64  `json:"merchant_id,omitempty"`
	Status      string `json:"status,omitempty"` // INPROGRESS, QUEUED, COMPLETED, CANCELED
	CntRequest  int    `json:"cnt_request"`
	CntResponse int    `json:"cnt_response"`
	CntUpdate   int    `json:"cnt_update"`
	RequestDate string `json:"request_date,omitempty"`
}

// AusDetailsAll reads every Account Updater card result matching q.
func (cl *Client) AusDetailsAll(ctx context.Context, q ReportQuery) ([]AusDetail, error) {
	return walk(ctx, cl, "/reporting/aus/detail", q, func(d AusDetail) string {
		return strconv.FormatInt(d.RequestID, 10) + "/" + d.CardID
	})
}

// AusSummaryPage reads one page (zero-based) of the merchant's Account Updater
// requests, newest first, and the number of pages.
func (cl *Client) AusSummaryPage(ctx context.Context, merchantID int64, pageNo, count int) ([]AusSummary, int, error) {
	return ausPage[AusSummary](ctx, cl, "/reporting/aus/summary", merchantID, pageNo, count)
}

// AusDetailPage reads one page (zero-based) of the merchant's Account Updater
// card results, newest request first, and the number of pages.
func (cl *Client) AusDetailPage(ctx context.Context, merchantID int64, pageNo, count int) ([]AusDetail, int, error) {
	return ausPage[AusDetail](ctx, cl, "/reporting/aus/detail", merchantID, pageNo, count)
}

func ausPage[T any](ctx context.Context, cl *Client, route string, merchantID int64, pageNo, count int) ([]T, int, error) {
	p, err := ReportQuery{MerchantID: merchantID, OrderOn: "request_id", OrderBy: "desc", PageSize: count}.params()
	if err != nil {
		return nil, 0, err
	}
	p.Page = pageNo
	vals, err := p.query()
	if err != nil {
		return nil, 0, err
	}
	rows, env, err := page[T](ctx, cl, route, vals)
	if err != nil {
		return nil, 0, err
	}
	pages := 0
	if env.TotalPages != nil {
		pages = *env.TotalPages
	}
	return rows, pages, nil
}
