package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/airsstack/airssys-wasm-go/catalog"
	"github.com/airsstack/airssys-wasm-go/host/admin"
	"github.com/airsstack/airssys-wasm-go/host/config"
	"github.com/airsstack/airssys-wasm-go/host/state"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/storage/jskv"
)

// sharedState is the desired state of a lattice of several hosts: one
// JetStream KV bucket (host/state.JetStream, entries signed by the host
// that wrote them) that every host follows, so that an app deployed on
// any host runs on the lattice, each host running its share (placement).
// Components travel with it: the host that writes an entry first puts
// every version it names into the lattice's object store
// (airssys_<lattice>_components), and a host that lacks a version fetches
// it there and installs it under its own policy (signature, manifest,
// grants), so each host admits what it runs.
//
// Ownership and goroutines: it is the Service's state.Store (s.st). The
// local Bolt file stays the host's own copy of what it applied, read at
// start (Restore runs without waiting for NATS) and by Get and List. Put
// and Delete write the shared bucket first (an error there changes
// nothing: the lattice's state is not reachable), then the local copy. One
// goroutine (follow) opens the bucket, retrying until it is reachable
// (a JetStream cluster needs a quorum of its servers), brings the host to
// the shared state, then applies every change other hosts make, each under
// the operation lock, as a deploy would. A change this host made comes
// back through the watch too and changes nothing (the entry equals the
// local copy). When the watch ends (a connection lost), it lists again.
type sharedState struct {
	s     *Service
	local *state.Bolt
	opts  state.JetStreamOptions
	js    atomic.Pointer[state.JetStream]
	obj   atomic.Pointer[jetstream.ObjectStore]

	ready    chan struct{} // closed once js and obj are set
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	started  atomic.Bool
	// failed are the apps whose settling failed (a fetch, a storage or a
	// JetStream call that may succeed later): follow's goroutine, under op.
	failed map[string]bool
	// failures counts failed settlings (for tests and logs).
	failures atomic.Int64
}

// sharedWait bounds how long a change waits for the shared state to be
// reachable (a host just started, a cluster electing its leader).
const sharedWait = 15 * time.Second

// reachable waits (bounded by sharedWait and ctx) until the shared state
// can be reached.
func (sh *sharedState) reachable(ctx context.Context) (*state.JetStream, error) {
	if js := sh.js.Load(); js != nil {
		return js, nil
	}
	t := time.NewTimer(sharedWait)
	defer t.Stop()
	select {
	case <-sh.ready:
		return sh.js.Load(), nil
	case <-t.C:
	case <-ctx.Done():
	case <-sh.stop:
	}
	return nil, coded(admin.ErrUnavailable, ErrSharedUnavailable)
}

// ErrSharedUnavailable is a change refused because the lattice's desired
// state cannot be reached (not yet, or not now).
var ErrSharedUnavailable = errors.New("host: the lattice's desired state is not reachable (its JetStream has no quorum yet?)")

// componentsBucket is the object store of the component versions the
// desired state names.
func componentsBucket(lattice string) string { return "airssys_" + lattice + "_components" }

// maxBundle bounds a component bundle fetched from the lattice.
const maxBundle = catalog.DefaultMaxComponentBytes + security.MaxManifestFile + security.MaxSignatureFile + 64

// Put implements state.Store: the shared bucket first (with the versions
// it names), then the local copy. An entry equal to the shared one (a
// change that came from the shared state) goes only to the local copy; in
// a restoring reconcile, one equal to the local copy is not written at
// all.
func (sh *sharedState) Put(ctx context.Context, app state.App) error {
	if restoringCtx(ctx) {
		if cur, err := sh.local.Get(ctx, app.Name); err == nil && sameApp(cur, app) {
			// Nothing new (a rebalance, a restore, a change applied from
			// the shared state): a failover must not need the shared
			// state, which may have lost its quorum with the host that
			// died. An operator's deploy always checks the shared state
			// (another host may have changed it since this copy).
			return nil
		}
	}
	js, err := sh.reachable(ctx)
	if err != nil {
		return err
	}
	cur, err := sharedGet(ctx, js, app.Name)
	if err != nil && !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrBadSignature) {
		return coded(admin.ErrUnavailable, fmt.Errorf("%w: %v", ErrSharedUnavailable, err))
	}
	if err != nil || !sameApp(cur, app) {
		if err := sh.publishComponents(ctx, app); err != nil {
			return err
		}
		if err := retryJS(ctx, func() error { return js.Put(ctx, app) }); err != nil {
			return coded(admin.ErrUnavailable, err)
		}
	}
	return sh.local.Put(ctx, app)
}

// restoringKey marks the context of a reconcile that restores (a
// rebalance, a restart, a change from the shared state), not an
// operator's change.
type restoringKey struct{}

func restoringCtx(ctx context.Context) bool { v, _ := ctx.Value(restoringKey{}).(bool); return v }

// seed writes one of this host's apps to a shared state that was never
// written (its local copy is already there).
func (sh *sharedState) seed(ctx context.Context, app state.App) error {
	js, err := sh.reachable(ctx)
	if err != nil {
		return err
	}
	if err := sh.publishComponents(ctx, app); err != nil {
		return err
	}
	return retryJS(ctx, func() error { return js.Put(ctx, app) })
}

// Delete implements state.Store.
func (sh *sharedState) Delete(ctx context.Context, name string) error {
	js, err := sh.reachable(ctx)
	if err != nil {
		return err
	}
	_, err = sharedGet(ctx, js, name)
	switch {
	case errors.Is(err, state.ErrNotFound): // deleted there already
	case err != nil && !errors.Is(err, state.ErrBadSignature):
		return coded(admin.ErrUnavailable, fmt.Errorf("%w: %v", ErrSharedUnavailable, err))
	default:
		if err := js.Delete(ctx, name); err != nil {
			return coded(admin.ErrUnavailable, err)
		}
	}
	return sh.local.Delete(ctx, name)
}

// Get and List implement state.Store: this host's copy.
func (sh *sharedState) Get(ctx context.Context, name string) (state.App, error) {
	return sh.local.Get(ctx, name)
}

func (sh *sharedState) List(ctx context.Context) ([]state.App, error) { return sh.local.List(ctx) }

// Close implements state.Store: it stops following and closes the local
// copy (the connection is the lattice link's).
func (sh *sharedState) Close() error {
	sh.stopFollow()
	if js := sh.js.Load(); js != nil {
		js.Close()
	}
	return sh.local.Close()
}

func (sh *sharedState) stopFollow() {
	sh.stopOnce.Do(func() { close(sh.stop) })
	if sh.started.Load() {
		<-sh.done
	}
}

// sameApp says whether two entries ask for the same thing.
func sameApp(a, b state.App) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// versionsOf are the name@version an entry names.
func versionsOf(app state.App) []string {
	var out []string
	seen := map[string]bool{}
	add := func(nv string) {
		if nv != "" && !seen[nv] {
			seen[nv] = true
			out = append(out, nv)
		}
	}
	for _, nv := range app.Resolved {
		add(nv)
	}
	for _, a := range app.Actors {
		add(a.Component)
		add(a.Previous)
	}
	return out
}

// publishComponents puts every version app names that the object store
// does not have yet, from this host's catalog.
func (sh *sharedState) publishComponents(ctx context.Context, app state.App) error {
	objp := sh.obj.Load()
	if objp == nil {
		return coded(admin.ErrUnavailable, ErrSharedUnavailable)
	}
	obj := *objp
	for _, nv := range versionsOf(app) {
		name, version, _ := cutVersion(nv)
		v, err := sh.s.cat.Get(name, version)
		if err != nil {
			return classify(err)
		}
		var info *jetstream.ObjectInfo
		err = retryJS(ctx, func() error {
			var err error
			info, err = obj.GetInfo(ctx, nv)
			return err
		})
		if err == nil && info.Headers.Get("Airssys-Digest") == v.Digest {
			continue
		}
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return coded(admin.ErrUnavailable, fmt.Errorf("lattice components: %s: %w", nv, err))
		}
		l, err := sh.s.cat.Load(v)
		if err != nil {
			return classify(err)
		}
		var sig []byte
		if l.Signature != nil {
			sig = l.Signature.Marshal()
		}
		meta := jetstream.ObjectMeta{Name: nv, Description: "airssys-wasm component " + nv,
			Headers: map[string][]string{"Airssys-Digest": {v.Digest}}}
		b := bundle(l.Component, l.Manifest, sig)
		if err := retryJS(ctx, func() error {
			_, err := obj.Put(ctx, meta, bytes.NewReader(b))
			return err
		}); err != nil {
			return coded(admin.ErrUnavailable, fmt.Errorf("lattice components: %s: %w", nv, err))
		}
	}
	return nil
}

// fetch installs version name@version from the lattice's object store:
// the catalog admits it under this host's policy as any install.
func (sh *sharedState) fetch(ctx context.Context, name, version string) (*catalog.Version, error) {
	objp := sh.obj.Load()
	if objp == nil {
		return nil, coded(admin.ErrUnavailable, ErrSharedUnavailable)
	}
	obj := *objp
	nv := name + "@" + version
	var info *jetstream.ObjectInfo
	err := retryJS(ctx, func() error {
		var err error
		info, err = obj.GetInfo(ctx, nv)
		return err
	})
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, coded(admin.ErrNotFound, fmt.Errorf("%s is neither installed here nor in the lattice", nv))
	}
	if err != nil {
		return nil, coded(admin.ErrUnavailable, fmt.Errorf("lattice components: %s: %w", nv, err))
	}
	if info.Size > maxBundle {
		return nil, coded(admin.ErrDenied, fmt.Errorf("lattice components: %s is %d bytes, more than %d", nv, info.Size, maxBundle))
	}
	// Read at most maxBundle bytes, whatever the object grew to since its
	// info was read.
	var b []byte
	err = retryJS(ctx, func() error {
		r, err := obj.Get(ctx, nv)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err = io.ReadAll(io.LimitReader(r, maxBundle+1))
		return err
	})
	if err != nil {
		return nil, coded(admin.ErrUnavailable, fmt.Errorf("lattice components: %s: %w", nv, err))
	}
	if int64(len(b)) > maxBundle {
		return nil, coded(admin.ErrDenied, fmt.Errorf("lattice components: %s is more than %d bytes", nv, maxBundle))
	}
	wasm, man, sigb, err := unbundle(b)
	if err != nil {
		return nil, coded(admin.ErrDenied, fmt.Errorf("lattice components: %s: %w", nv, err))
	}
	var sig *security.Signature
	if len(sigb) > 0 {
		sg, err := security.ParseSignature(sigb)
		if err != nil {
			return nil, coded(admin.ErrDenied, fmt.Errorf("lattice components: %s: its signature: %w", nv, err))
		}
		sig = &sg
	}
	v, err := sh.s.install(ctx, wasm, man, sig)
	if err != nil {
		return nil, err
	}
	if v.Name != name || v.Version != version {
		return nil, coded(admin.ErrDenied, fmt.Errorf("lattice components: %s holds %s", nv, v))
	}
	sh.s.log.Info("installed from the lattice", "component", nv, "digest", v.Digest)
	return v, nil
}

// bundle frames a component's three files: a magic line, then each file
// preceded by its length (uvarint).
func bundle(wasm, man, sig []byte) []byte {
	var b bytes.Buffer
	b.WriteString(bundleMagic)
	for _, part := range [][]byte{wasm, man, sig} {
		b.Write(binary.AppendUvarint(nil, uint64(len(part))))
		b.Write(part)
	}
	return b.Bytes()
}

const bundleMagic = "airssys-wasm bundle 1\n"

func unbundle(b []byte) (wasm, man, sig []byte, err error) {
	if !bytes.HasPrefix(b, []byte(bundleMagic)) {
		return nil, nil, nil, errors.New("not a component bundle")
	}
	b = b[len(bundleMagic):]
	var parts [3][]byte
	for i := range parts {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, nil, nil, errors.New("a truncated component bundle")
		}
		parts[i], b = b[k:k+int(n)], b[k+int(n):]
	}
	if len(b) != 0 {
		return nil, nil, nil, errors.New("bytes after the component bundle")
	}
	return parts[0], parts[1], parts[2], nil
}

func cutVersion(nv string) (name, version string, ok bool) {
	for i := len(nv) - 1; i >= 0; i-- {
		if nv[i] == '@' {
			return nv[:i], nv[i+1:], true
		}
	}
	return nv, "", false
}

// follow keeps this host on the shared state until stop.
func (sh *sharedState) follow(nc jetstreamConn) {
	defer close(sh.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sh.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := sh.connect(ctx, nc); err != nil {
			sh.s.log.Debug("lattice desired state not reachable yet", "err", err)
			sleep(ctx, wait)
			wait = min(2*wait, 2*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		sh.round(ctx)
	}
}

// retrySettle is how often apps whose settling failed are tried again.
const retrySettle = 2 * time.Second

// round watches the shared state, lists it, brings this host to it, then
// applies each change until the watch ends (or a list fails: then it
// returns at once, and follow starts another round).
func (sh *sharedState) round(ctx context.Context) {
	js := sh.js.Load()
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel() // the watch ends with the round
	changes, err := js.Watch(wctx)
	if err != nil {
		sh.s.log.Warn("lattice desired state: watch", "err", err)
		sleep(ctx, 100*time.Millisecond)
		return
	}
	var apps []state.App
	lerr := retryJS(ctx, func() error {
		var err error
		apps, err = js.List(ctx)
		if errors.Is(err, state.ErrBadSignature) {
			return nil // the apps it could read, with the refused named below
		}
		return err
	})
	if lerr != nil {
		// Nothing is known of the shared state: change nothing here.
		sh.s.log.Warn("lattice desired state: list", "err", lerr)
		sleep(ctx, 500*time.Millisecond)
		return
	}
	var fresh bool
	ferr := retryJS(ctx, func() error {
		var err error
		fresh, err = js.Fresh(ctx)
		return err
	})
	if ctx.Err() != nil {
		return
	}
	// Not knowing whether the state was ever written: neither seed it
	// nor delete this host's apps it does not name.
	sh.syncAll(ctx, apps, fresh, ferr != nil)
	t := time.NewTicker(retrySettle)
	defer t.Stop()
	for {
		select {
		case c, ok := <-changes:
			if !ok {
				return
			}
			sh.apply(ctx, c)
		case <-t.C:
			sh.retryFailed(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// retryFailed settles again the apps whose settling failed.
func (sh *sharedState) retryFailed(ctx context.Context) {
	if len(sh.failed) == 0 {
		return
	}
	s := sh.s
	s.op.Lock()
	defer s.op.Unlock()
	if s.usable() != nil {
		return
	}
	for name := range sh.failed {
		sh.settle(ctx, name)
	}
}

// jetstreamConn is what follow needs of the lattice's connection.
type jetstreamConn interface {
	openState(ctx context.Context, opts state.JetStreamOptions) (*state.JetStream, jetstream.ObjectStore, error)
}

// connect opens the shared bucket and the object store once.
func (sh *sharedState) connect(ctx context.Context, nc jetstreamConn) error {
	if sh.js.Load() != nil {
		return nil
	}
	// A JetStream that is not ready answers nothing: a short wait, and
	// the caller asks again.
	octx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	js, obj, err := nc.openState(octx, sh.opts)
	if err != nil {
		return err
	}
	sh.obj.Store(&obj)
	sh.js.Store(js)
	close(sh.ready)
	sh.s.log.Info("lattice desired state reachable", "lattice", sh.opts.Lattice)
	return nil
}

// sharedGet reads an entry, again while JetStream is not ready.
func sharedGet(ctx context.Context, js *state.JetStream, name string) (state.App, error) {
	var app state.App
	err := retryJS(ctx, func() error {
		var err error
		app, err = js.Get(ctx, name)
		return err
	})
	return app, err
}

// jsErrClusterNoPeers is JetStream's error code for "no suitable peers for
// placement" (nats-server's JSClusterNoPeersErrF).
const jsErrClusterNoPeers jetstream.ErrorCode = 10005

// retryJS runs op again while JetStream answers that it is not ready (a
// stream just created whose leader is not elected yet: no responders),
// for at most sharedWait.
func retryJS(ctx context.Context, op func() error) error {
	deadline := time.Now().Add(sharedWait)
	wait := 20 * time.Millisecond
	for {
		err := op()
		var apiErr *jetstream.APIError
		transient := errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
			errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil ||
			// a cluster that just formed: its servers not all known to the
			// meta leader yet ("no suitable peers for placement")
			errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrClusterNoPeers
		if err == nil || !transient || time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return err
		}
		sleep(ctx, wait)
		wait = min(2*wait, 500*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// syncAll brings this host to the shared state: every app named there
// or in this host's copy is brought to what the shared state holds now
// (settle); apps the shared state never had are written to it instead
// when it was never written (a new lattice: this host's apps seed it).
func (sh *sharedState) syncAll(ctx context.Context, shared []state.App, fresh, unsure bool) {
	s := sh.s
	s.op.Lock()
	defer s.op.Unlock()
	if s.usable() != nil {
		return
	}
	local, err := sh.local.List(ctx)
	if err != nil {
		s.log.Error("lattice desired state: reading this host's copy", "err", err)
		return
	}
	names := map[string]bool{}
	for _, app := range shared {
		names[app.Name] = true
	}
	for _, app := range local {
		if !names[app.Name] && unsure {
			continue // keep it: the shared state may never have been written
		}
		if !names[app.Name] && fresh {
			if err := sh.seed(ctx, app); err != nil {
				s.log.Error("lattice desired state: seeding it with this host's app", "app", app.Name, "err", err)
			} else {
				s.log.Info("lattice desired state: seeded with this host's app", "app", app.Name)
			}
			continue
		}
		names[app.Name] = true
	}
	for name := range names {
		sh.settle(ctx, name)
	}
}

// apply applies a change another host (or this one) made: what the
// shared state holds for that app now, read again (a change may be older
// than what a list already applied).
func (sh *sharedState) apply(ctx context.Context, c state.Change) {
	s := sh.s
	if c.Err != nil {
		s.log.Error("lattice desired state: an entry was refused; this host keeps what it runs", "app", c.Name, "err", c.Err)
		return
	}
	s.op.Lock()
	defer s.op.Unlock()
	if s.usable() != nil {
		return
	}
	sh.settle(ctx, c.Name)
}

// settle brings app name to what the shared state holds now (the caller
// holds op, so no change of this host's is between the read and the
// apply): applied, deleted when the shared state has no such app, left as
// it is when the entry is refused or cannot be read.
func (sh *sharedState) settle(ctx context.Context, name string) {
	s := sh.s
	cur, err := sharedGet(ctx, sh.js.Load(), name)
	switch {
	case err == nil:
		err = sh.applyLocked(ctx, cur)
	case errors.Is(err, state.ErrNotFound):
		err = sh.deleteLocked(ctx, name)
	case errors.Is(err, state.ErrBadSignature), errors.Is(err, state.ErrCorrupt):
		s.log.Error("lattice desired state: this host keeps what it runs for an app whose entry it cannot accept", "app", name, "err", err)
		err = nil // nothing to try again until the entry changes
	}
	if err != nil && ctx.Err() == nil {
		if sh.failed == nil {
			sh.failed = map[string]bool{}
		}
		sh.failed[name] = true // tried again every retrySettle
		sh.failures.Add(1)
		return
	}
	delete(sh.failed, name)
}

// applyLocked brings app to rec as Restore does (the caller holds op).
func (sh *sharedState) applyLocked(ctx context.Context, rec state.App) error {
	s := sh.s
	if cur, err := sh.local.Get(ctx, rec.Name); err == nil && sameApp(cur, rec) {
		s.mu.RLock()
		run := s.apps[rec.Name]
		s.mu.RUnlock()
		if run != nil {
			return nil // already applied
		}
	}
	app, err := config.ParseApp(rec.Name+" (lattice)", rec.Source, s.config())
	if err == nil {
		var rep admin.Report
		rep, err = s.reconcile(ctx, app, rec, nil, true)
		for _, r := range rep.Actors {
			if r.Action == admin.ActionFailed {
				s.log.Error("lattice desired state: actor did not start", "app", rec.Name, "actor", r.ID, "err", r.Error)
			}
		}
	}
	if err != nil {
		s.log.Error("lattice desired state: app not applied (tried again later)", "app", rec.Name, "err", err)
		return err
	}
	s.log.Info("lattice desired state applied", "app", rec.Name, "digest", rec.Digest)
	return nil
}

// deleteLocked stops an app the shared state no longer has.
func (sh *sharedState) deleteLocked(ctx context.Context, name string) error {
	s := sh.s
	if _, err := s.deleteApp(ctx, name); err != nil && !errors.Is(err, admin.ErrNotFound) {
		s.log.Error("lattice desired state: app not deleted", "app", name, "err", err)
		return err
	}
	if err := sh.local.Delete(ctx, name); err != nil {
		s.log.Error("lattice desired state: app not deleted from this host's copy", "app", name, "err", err)
		return err
	}
	return nil
}

// shareState makes the desired state the lattice's (Open, for a host
// that shares a lattice): s.st becomes a sharedState over the local file,
// and its follower starts.
func (s *Service) shareState() error {
	local, ok := s.st.(*state.Bolt)
	if !ok {
		return errors.New("host: the desired state is not the local file")
	}
	_, keys, err := peerKeys(s.cfg.Lattice.Peers)
	if err != nil {
		return err
	}
	sh := &sharedState{s: s, local: local, ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
		opts: state.JetStreamOptions{Lattice: s.cfg.Lattice.Name, Signer: s.lat.key.signer, Trusted: keys,
			Replicas: min(3, 1+len(s.cfg.Lattice.Routes))}}
	s.st = sh // Open starts sh.follow once the host is whole
	if _, err := s.servePS(); err != nil {
		return fmt.Errorf("host: lattice: %w", err)
	}
	return nil
}

// openState opens the shared desired state and the component store on
// the link's connection (jetstreamConn).
func (l *latticeLink) openState(ctx context.Context, opts state.JetStreamOptions) (*state.JetStream, jetstream.ObjectStore, error) {
	st, err := state.OpenJetStream(ctx, l.nc, opts)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(l.nc)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	bucket := componentsBucket(opts.Lattice)
	obj, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obj, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: bucket,
			Description: "airssys-wasm components of lattice " + opts.Lattice,
			Storage:     jetstream.FileStorage, Replicas: max(1, opts.Replicas)})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			obj, err = js.ObjectStore(ctx, bucket)
		}
	}
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("lattice components: %w", err)
	}
	return st, obj, nil
}

// latticeStorage is the lattice's key-value backend (storage/jskv) for
// the apps that keep their data there ([app] storage = "lattice"), opened
// on first use on the lattice's connection.
func (s *Service) latticeStorage(ctx context.Context) (storage.Backend, error) {
	if s.lat == nil || s.lat.nc == nil || !s.cfg.Lattice.Shared() {
		return nil, coded(admin.ErrInvalid, errors.New(`storage = "lattice" needs a host that shares a lattice ([lattice] with a cluster or peers in host.toml)`))
	}
	s.kvMu.Lock()
	defer s.kvMu.Unlock()
	if s.latKV != nil {
		return s.latKV, nil
	}
	ctx, cancel := context.WithTimeout(ctx, sharedWait)
	defer cancel()
	var kv *jskv.Backend
	err := retryJS(ctx, func() error {
		var err error
		// A write waits at most 3 s for its commit's acknowledgement (jskv's
		// default is 10 s): when the stream's leader dies, the election
		// takes a few seconds, and an actor's message should not wait for
		// longer than that (the write then fails with an unknown outcome).
		kv, err = jskv.Open(ctx, s.lat.nc, jskv.Options{Lattice: s.cfg.Lattice.Name,
			Replicas: min(3, 1+len(s.cfg.Lattice.Routes)), Timeout: 3 * time.Second})
		return err
	})
	if err != nil {
		return nil, coded(admin.ErrUnavailable, fmt.Errorf("the lattice's key-value store: %w", err))
	}
	s.latKV = kv
	return kv, nil
}
