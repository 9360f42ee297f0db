package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// embedURL creates an embed session for the demo company through the partner
// API (as a partner's server would) and returns the URL to open (15 minutes, once).
func embedURL(ctx context.Context, l *local, base string) (string, error) {
	raw, err := call(ctx, &http.Client{Timeout: 30 * time.Second}, "POST", base+"/v1/companies/"+l.Demo.CompanyID+"/embed-sessions", l.Demo.APIKey,
		map[string]any{"components": []string{"connect", "payouts", "reconciliation"}})
	if err != nil {
		return "", err
	}
	var s struct {
		URL string `json:"url"`
	}
	err = json.Unmarshal(raw, &s)
	return s.URL, err
}
