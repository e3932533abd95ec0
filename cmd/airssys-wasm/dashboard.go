package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// dashboardCookie holds the key of `airssys-wasm dashboard` in the browser.
const dashboardCookie = "airssys_dashboard"

// dashboardCmd is `airssys-wasm dashboard`: the host's web page, served to
// a browser on this machine through a loopback listener that forwards to
// the admin API (a browser reaches neither a unix socket nor a bearer
// token). The listener answers only whoever holds the key of the address
// it prints (then a cookie).
func (e *cliEnv) dashboardCmd() *cobra.Command {
	var listen string
	c := &cobra.Command{
		Use:   "dashboard [--listen 127.0.0.1:PORT]",
		Short: "open the host's dashboard in a browser on this machine",
		Long: "dashboard listens on a loopback address and forwards the host's web page (/ui/ on the\n" +
			"admin API) to it. It prints the address to open, with a key only that address holds:\n" +
			"other local users and other web pages cannot use it. Ctrl-C stops it.",
		Args: nArgs(0, 0, "no arguments"),
	}
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "the loopback address to listen on")
	e.addHostFlags(c)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		host, _, err := net.SplitHostPort(listen)
		if err != nil || !admin.IsLoopbackHost(host) {
			return usagef("--listen %q: a loopback host:port only", listen)
		}
		b, err := e.dialHost(cmd)
		if err != nil {
			return err
		}
		defer closeBackend(b)
		p, ok := b.(interface {
			Proxy(prefixes ...string) http.Handler
		})
		if !ok {
			return errors.New("this host connection cannot forward a web page")
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return err
		}
		key := make([]byte, 16)
		rand.Read(key)
		h := dashboardHandler(hex.EncodeToString(key), p.Proxy("/ui/"))
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		fmt.Fprintf(e.stdout, "dashboard: http://%s/?key=%s (Ctrl-C to stop)\n", ln.Addr(), hex.EncodeToString(key))
		go func() {
			<-cmd.Context().Done()
			srv.Close()
		}()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return c
}

// dashboardHandler lets in the holder of key: "/?key=KEY" sets the cookie
// and goes to the page; every other request needs the cookie.
func dashboardHandler(key string, next http.Handler) http.Handler {
	ok := func(s string) bool { return subtle.ConstantTimeCompare([]byte(s), []byte(key)) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			if ok(r.URL.Query().Get("key")) {
				http.SetCookie(w, &http.Cookie{Name: dashboardCookie, Value: key, Path: "/", HttpOnly: true,
					SameSite: http.SameSiteStrictMode})
				http.Redirect(w, r, "/ui/", http.StatusSeeOther)
				return
			}
			if c, err := r.Cookie(dashboardCookie); err == nil && ok(c.Value) {
				http.Redirect(w, r, "/ui/", http.StatusSeeOther)
				return
			}
		}
		if c, err := r.Cookie(dashboardCookie); err != nil || !ok(c.Value) {
			http.Error(w, "open the address `airssys-wasm dashboard` printed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
