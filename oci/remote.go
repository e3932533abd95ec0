package oci

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// maxReferrerPages bounds the pages of a referrers list a registry can make
// us fetch.
const maxReferrerPages = 8

// newRepository makes the client for ref's repository under o.
func newRepository(ref string, o Options) (*remote.Repository, error) {
	r, err := registry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("oci: %q is not a reference (host[:port]/repository[:tag|@digest]): %w", ref, err)
	}
	loopback := isLoopbackHost(r.Host())
	if o.PlainHTTP && !loopback {
		return nil, fmt.Errorf("%w: %s is not a loopback host (localhost, 127.0.0.0/8, ::1); plain HTTP is for a registry on this machine only",
			ErrPlainHTTP, r.Host())
	}
	cred, err := credentialFunc(o)
	if err != nil {
		return nil, err
	}
	client := &auth.Client{
		Client:     &http.Client{Transport: retry.NewTransport(newTransport(o)), CheckRedirect: checkRedirect(o)},
		Header:     http.Header{"User-Agent": {"airssys-wasm"}},
		Credential: cred,
		Cache:      auth.NewCache(),
	}
	if loopback {
		// A registry on this machine may have its token service here too.
		client.BlockedRealmPrefixes = withoutLoopback(auth.DefaultBlockedRealmPrefixes())
	}
	return &remote.Repository{
		Client:               client,
		Reference:            r,
		PlainHTTP:            o.PlainHTTP,
		MaxMetadataBytes:     o.maxManifest(),
		ReferrerListMaxPages: maxReferrerPages,
		TagListMaxPages:      maxReferrerPages,
	}, nil
}

func newTransport(o Options) *http.Transport {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
	}
	if o.PlainHTTP {
		// No proxy (it would fetch from anywhere), and only loopback peers,
		// whatever a name resolves to or a redirect points at.
		t.Proxy = nil
		t.DialContext = dialLoopbackOnly
	}
	return t
}

func dialLoopbackOnly(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 30 * time.Second}
	var firstErr error
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			continue
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, fmt.Errorf("%w: %s resolves to %v, no loopback address", ErrPlainHTTP, host, ips)
}

func checkRedirect(o Options) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("oci: stopped after 10 redirects")
		}
		if !o.PlainHTTP && req.URL.Scheme != "https" {
			return fmt.Errorf("%w: the registry redirected to %s", ErrPlainHTTP, req.URL.Redacted())
		}
		return nil
	}
}

// isLoopbackHost: localhost, 127.0.0.0/8 or ::1, with or without a port.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func withoutLoopback(ps []netip.Prefix) []netip.Prefix {
	out := ps[:0]
	for _, p := range ps {
		if !p.Addr().IsLoopback() {
			out = append(out, p)
		}
	}
	return out
}

// credentialFunc: Options.Credentials, else the docker-style config file.
func credentialFunc(o Options) (auth.CredentialFunc, error) {
	if o.Credentials != nil {
		return func(ctx context.Context, host string) (auth.Credential, error) {
			u, p, err := o.Credentials(ctx, host)
			if err != nil {
				return auth.EmptyCredential, fmt.Errorf("oci: credentials for %s: %w", host, err)
			}
			return auth.Credential{Username: u, Password: p}, nil
		}, nil
	}
	path := o.CredentialsFile
	if path == "" {
		path = dockerConfigPath()
		if path == "" {
			return nil, nil // no home, no $DOCKER_CONFIG: anonymous
		}
	}
	store, err := credentials.NewStore(path, credentials.StoreOptions{})
	if err != nil {
		return nil, fmt.Errorf("oci: reading registry credentials: %w", err)
	}
	return credentials.Credential(store), nil
}

// dockerConfigPath is where docker keeps its config: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json; "" when there is no home either.
func dockerConfigPath() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// openLayout opens (making it if need be) an OCI image layout directory
// for writing.
func openLayout(ctx context.Context, dir string) (*oci.Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("oci: layout %s: %w", dir, err)
	}
	s, err := oci.NewWithContext(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("oci: layout %s: %w", dir, err)
	}
	return s, nil
}

// readLayout opens an existing OCI image layout directory read-only.
func readLayout(ctx context.Context, dir string) (*oci.ReadOnlyStore, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("oci: layout %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("oci: layout %s: not a directory", dir)
	}
	s, err := oci.NewFromFS(ctx, os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("oci: layout %s: %w", dir, err)
	}
	return s, nil
}
