package httpapi

import (
	"strings"
	"testing"
)

// TestMatchSegments: the 405 lookup reads paths as the mux does.
func TestMatchSegments(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, path string
		want                bool
	}{
		{"literal", "/v1/things/create", "/v1/things/create", true},
		{"literal differs", "/v1/things/create", "/v1/things/other", false},
		{"wildcard", "/v1/things/{id}", "/v1/things/th_1", true},
		{"wildcard needs a segment", "/v1/things/{id}", "/v1/things/", false},
		{"one segment more", "/v1/things/{id}", "/v1/things/th_1/x", false},
		{"one segment less", "/v1/things/{id}/x", "/v1/things/th_1", false},
		{"rest wildcard", "/files/{path...}", "/files/a/b/c", true},
		{"rest wildcard, empty", "/files/{path...}", "/files/", true},
		{"end anchor", "/v1/{$}", "/v1/", true},
		{"end anchor, more", "/v1/{$}", "/v1/x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs := strings.Split(strings.TrimPrefix(tc.pattern, "/"), "/")
			if got := matchSegments(segs, splitPath(tc.path)); got != tc.want {
				t.Fatalf("%s ~ %s = %v", tc.pattern, tc.path, got)
			}
		})
	}
}
