package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDashboardKey: only the holder of the printed key gets through, by
// the address's key then by the cookie it sets; the key is compared whole.
func TestDashboardKey(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	h := dashboardHandler("k3y", next)
	do := func(target, cookie string) *http.Response {
		r := httptest.NewRequest("GET", target, nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: dashboardCookie, Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result()
	}
	for _, c := range []struct{ target, cookie string }{{"/ui/", ""}, {"/ui/", "k3"}, {"/?key=k3", ""}, {"/?key=k3yy", ""}, {"/ui/", "k3y "}} {
		if r := do(c.target, c.cookie); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s with cookie %q: %d, want 403", c.target, c.cookie, r.StatusCode)
		}
	}
	r := do("/?key=k3y", "")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ui/" {
		t.Fatalf("the key: %d %v", r.StatusCode, r.Header)
	}
	set := r.Cookies()
	if len(set) != 1 || set[0].Value != "k3y" || !set[0].HttpOnly || set[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie: %+v", set)
	}
	r = do("/ui/", "k3y")
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || !strings.Contains(string(b), "page") {
		t.Fatalf("with the cookie: %d %q", r.StatusCode, b)
	}
}
