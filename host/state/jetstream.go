package state

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream is a Store on a JetStream KV bucket, so that every host of a
// lattice shares one desired state and no host owns it (issue 14).
//
// Bucket: "airssys_<lattice>_state", created by the first host that opens
// it (file storage, JetStreamOptions.Replicas replicas, JetStreamHistory
// revisions per app, values capped at MaxValueSize by the server too); a
// host that finds it already there uses it as it is.
//
// Keys: "app.<name escaped>": every byte of the name outside [A-Za-z0-9_-]
// becomes =XX (uppercase hex), '=' included, so "shop" is app.shop and
// "my app.v2" is app.my=20app=2Ev2. It is reversible and one-to-one (only
// the canonical escape decodes).
//
// Values: an envelope {"app": <the App as JSON, as Bolt stores it>,
// "signer": <ed25519 public key>, "sig": <signature>}, at most
// MaxValueSize bytes (and at most the server's max payload). The signature
// covers a fixed context, the bucket, the key and the App's bytes, so an
// entry cannot be moved to another name or another lattice's bucket.
//
// Signing: Put signs with JetStreamOptions.Signer, this host's key. Get,
// List and Watch accept an entry only if its signer is one of
// JetStreamOptions.Trusted (or the Signer's own public key) and the
// signature holds; anything else is refused with ErrBadSignature. So a
// holder of the lattice's NATS credentials without an accepted key cannot
// make hosts run code by writing the bucket. What signing does not stop:
// a removal (a KV delete or purge leaves nothing to verify: Delete is not
// signed), and a replay of an older entry that an accepted key once signed
// for the same name (a rollback to a version that was once deployed).
// Per-host NATS credentials limiting who may write the bucket (issue 14
// part 5) are the defence there.
//
// Durability: Put returns once JetStream acknowledged the write. With one
// server (Replicas 1) the server has written it to its store file (not
// buffered in the process) before it acknowledges, so a kill -9 of the
// host and its embedded server loses nothing acknowledged; the file is
// fsynced every sync_interval (nats-server's default: two minutes) unless
// sync_interval is "always", so a power loss or kernel crash can lose the
// writes of the last interval. lattice.ServerConfig has no such option yet
// (the embedded server runs with the default). With Replicas 3 on a
// cluster, the acknowledgement comes once a majority of the replicas have
// the write in their log: the loss of one server loses nothing. This is
// weaker than Bolt's (fsync before Put returns) on a single machine.
//
// The connection belongs to the caller: Close stops this store's watches
// and does not close it.
type JetStream struct {
	kv      jetstream.KeyValue
	bucket  string
	signer  ed25519.PrivateKey
	trusted []ed25519.PublicKey
	maxVal  int

	// done ends the watches at Close.
	done      chan struct{}
	closeOnce sync.Once
}

// JetStreamOptions configures OpenJetStream.
type JetStreamOptions struct {
	// Lattice is the lattice's name (1 to 63 of [a-z0-9-], starting with
	// a letter or digit, as lattice names are).
	Lattice string
	// Signer is this host's key; Put signs with it. Nil: a read-only
	// store (Put and Delete fail with ErrReadOnly).
	Signer ed25519.PrivateKey
	// Trusted are the public keys whose entries are accepted, besides
	// Signer's own.
	Trusted []ed25519.PublicKey
	// Replicas of the bucket when this host creates it: 1 for one
	// server, 3 for a cluster that survives the loss of a server
	// (default 1).
	Replicas int
}

// JetStreamHistory is the number of revisions the bucket keeps per app.
const JetStreamHistory = 5

// MaxValueSize caps a stored entry (the signed envelope of an App).
const MaxValueSize = 1 << 20

// Errors of the JetStream store.
var (
	ErrBadSignature = errors.New("state: entry not signed by an accepted key")
	ErrTooLarge     = errors.New("state: app too large for the desired state")
	ErrReadOnly     = errors.New("state: store opened without a signing key")
	ErrClosed       = errors.New("state: store closed")
)

var latticeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// maxNameLen bounds an app name (its key is at most three times as long).
const maxNameLen = 1024

// BucketName is the KV bucket of a lattice's desired state.
func BucketName(lattice string) (string, error) {
	if !latticeNameRE.MatchString(lattice) {
		return "", fmt.Errorf("state: lattice name %q: want 1 to 63 of [a-z0-9-], starting with a letter or digit", lattice)
	}
	return "airssys_" + lattice + "_state", nil
}

// OpenJetStream opens (creating it if missing) the desired-state bucket of
// lattice opts.Lattice on a connection to a NATS server with JetStream.
func OpenJetStream(ctx context.Context, nc *nats.Conn, opts JetStreamOptions) (*JetStream, error) {
	bucket, err := BucketName(opts.Lattice)
	if err != nil {
		return nil, err
	}
	if opts.Signer != nil && len(opts.Signer) != ed25519.PrivateKeySize {
		return nil, errors.New("state: the signing key is not an ed25519 private key")
	}
	var trusted []ed25519.PublicKey
	if opts.Signer != nil {
		trusted = append(trusted, opts.Signer.Public().(ed25519.PublicKey))
	}
	for _, k := range opts.Trusted {
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("state: a trusted key is not an ed25519 public key")
		}
		trusted = append(trusted, k)
	}
	if len(trusted) == 0 {
		return nil, errors.New("state: no signing key and no trusted key: no entry would be accepted")
	}
	replicas := opts.Replicas
	if replicas == 0 {
		replicas = 1
	}
	if replicas < 1 || replicas > 5 {
		return nil, fmt.Errorf("state: %d replicas: want 1 to 5", replicas)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("state: jetstream: %w", err)
	}
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:       bucket,
			Description:  "airssys-wasm desired state of lattice " + opts.Lattice,
			History:      JetStreamHistory,
			MaxValueSize: MaxValueSize,
			Storage:      jetstream.FileStorage,
			Replicas:     replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = js.KeyValue(ctx, bucket) // another host created it meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("state: bucket %s: %w", bucket, err)
	}
	maxVal := MaxValueSize
	if mp := nc.MaxPayload(); mp > 0 && int(mp) < maxVal {
		maxVal = int(mp)
	}
	return &JetStream{kv: kv, bucket: bucket, signer: opts.Signer, trusted: trusted, maxVal: maxVal,
		done: make(chan struct{})}, nil
}

// envelope is a stored entry.
type envelope struct {
	App    json.RawMessage   `json:"app"`
	Signer ed25519.PublicKey `json:"signer"`
	Sig    []byte            `json:"sig"`
}

// signedMessage is what a signature covers.
func (j *JetStream) signedMessage(key string, app []byte) []byte {
	var b bytes.Buffer
	b.WriteString("airssys-wasm desired state v1\x00")
	b.WriteString(j.bucket)
	b.WriteByte(0)
	b.WriteString(key)
	b.WriteByte(0)
	b.Write(app)
	return b.Bytes()
}

// Put implements Store; see JetStream for what it guarantees.
func (j *JetStream) Put(ctx context.Context, app App) error {
	if j.signer == nil {
		return ErrReadOnly
	}
	if err := j.open(); err != nil {
		return err
	}
	key, err := appKey(app.Name)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(app)
	if err != nil {
		return err
	}
	v, err := json.Marshal(envelope{
		App:    raw,
		Signer: j.signer.Public().(ed25519.PublicKey),
		Sig:    ed25519.Sign(j.signer, j.signedMessage(key, raw)),
	})
	if err != nil {
		return err
	}
	if len(v) > j.maxVal {
		return fmt.Errorf("%w: app %s is %d bytes signed, the cap is %d", ErrTooLarge, app.Name, len(v), j.maxVal)
	}
	if _, err := j.kv.Put(ctx, key, v); err != nil {
		return fmt.Errorf("state: put app %s: %w", app.Name, err)
	}
	return nil
}

// Delete implements Store: it writes a KV delete marker (the bucket's
// history keeps the earlier revisions). It is not signed.
func (j *JetStream) Delete(ctx context.Context, name string) error {
	if j.signer == nil {
		return ErrReadOnly
	}
	if err := j.open(); err != nil {
		return err
	}
	key, err := appKey(name)
	if err != nil {
		return err
	}
	if err := j.kv.Delete(ctx, key); err != nil {
		return fmt.Errorf("state: delete app %s: %w", name, err)
	}
	return nil
}

// Get implements Store: ErrNotFound, or ErrBadSignature for an entry not
// signed by an accepted key (or altered since).
func (j *JetStream) Get(ctx context.Context, name string) (App, error) {
	if err := j.open(); err != nil {
		return App{}, err
	}
	key, err := appKey(name)
	if err != nil {
		return App{}, err
	}
	e, err := j.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return App{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return App{}, fmt.Errorf("state: get app %s: %w", name, err)
	}
	return j.open1(key, e.Value())
}

// List implements Store. An entry that is refused (ErrBadSignature, or
// ErrCorrupt) does not hide the others: List returns every accepted app,
// by name, together with an error that names each refused entry and
// matches ErrBadSignature (errors.Is) when one was refused for its
// signature. A caller that reconciles should run the apps it got and
// report the error; one forged entry must not stop every app.
func (j *JetStream) List(ctx context.Context) ([]App, error) {
	if err := j.open(); err != nil {
		return nil, err
	}
	w, err := j.kv.Watch(ctx, "app.>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("state: list: %w", err)
	}
	defer stopWatch(w)
	var out []App
	var errs []error
	for {
		var e jetstream.KeyValueEntry
		var ok bool
		select {
		case e, ok = <-w.Updates():
		case <-ctx.Done():
			return nil, fmt.Errorf("state: list: %w", ctx.Err())
		}
		if !ok {
			return nil, errors.New("state: list: the watch ended before the last entry")
		}
		if e == nil { // every current entry delivered
			break
		}
		if e.Operation() != jetstream.KeyValuePut {
			continue
		}
		app, err := j.open1(e.Key(), e.Value())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, app)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out, errors.Join(errs...)
}

// Change is one change to the desired state seen by Watch.
type Change struct {
	Name     string // the app's name (its raw key if the key is not one of ours)
	Deleted  bool   // deleted (or purged): App is zero
	App      App    // the app as put, when Err is nil and not Deleted
	Revision uint64 // the bucket's revision of the change
	// Err is set when the entry written was refused (ErrBadSignature,
	// ErrCorrupt): App is zero, and a host keeps what it ran.
	Err error
}

// Watch reports every change made to the desired state after Watch
// returns, by any host, in order, until ctx ends or the store is closed
// (then the channel is closed; it is closed too if the connection's
// subscription ends, after which the caller should List and Watch again).
// To follow the state without a gap, Watch first, then List: a change
// made in between is seen by both, which reconciling twice tolerates.
func (j *JetStream) Watch(ctx context.Context) (<-chan Change, error) {
	if err := j.open(); err != nil {
		return nil, err
	}
	w, err := j.kv.Watch(ctx, "app.>", jetstream.UpdatesOnly())
	if err != nil {
		return nil, fmt.Errorf("state: watch: %w", err)
	}
	out := make(chan Change, 16)
	go func() {
		defer close(out)
		defer stopWatch(w)
		for {
			var e jetstream.KeyValueEntry
			var ok bool
			select {
			case e, ok = <-w.Updates():
			case <-ctx.Done():
				return
			case <-j.done:
				return
			}
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			c := Change{Revision: e.Revision()}
			if name, err := keyName(e.Key()); err == nil {
				c.Name = name
			} else {
				c.Name = e.Key()
			}
			if e.Operation() == jetstream.KeyValuePut {
				c.App, c.Err = j.open1(e.Key(), e.Value())
			} else {
				c.Deleted = true
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			case <-j.done:
				return
			}
		}
	}()
	return out, nil
}

// Fresh says whether the bucket was never written: no entry, no delete
// marker (a lattice whose first host seeds it with the apps it has).
func (j *JetStream) Fresh(ctx context.Context) (bool, error) {
	st, err := j.kv.Status(ctx)
	if err != nil {
		return false, fmt.Errorf("state: %w", err)
	}
	if kst, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		return kst.StreamInfo().State.LastSeq == 0, nil
	}
	return st.Values() == 0, nil
}

// Close implements Store: it ends the watches; the connection is the
// caller's.
func (j *JetStream) Close() error {
	j.closeOnce.Do(func() { close(j.done) })
	return nil
}

// stopWatch stops w and drains it: its NATS callback may be blocked on
// a full channel, and closes the channel only once it gets through.
func stopWatch(w jetstream.KeyWatcher) {
	w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}

func (j *JetStream) open() error {
	select {
	case <-j.done:
		return ErrClosed
	default:
		return nil
	}
}

// open1 verifies and decodes the entry stored under key.
func (j *JetStream) open1(key string, v []byte) (App, error) {
	name, err := keyName(key)
	if err != nil {
		return App{}, fmt.Errorf("%w: key %s: not an app key", ErrBadSignature, key)
	}
	var env envelope
	if err := json.Unmarshal(v, &env); err != nil || len(env.App) == 0 {
		return App{}, fmt.Errorf("%w: app %q: not a signed entry", ErrBadSignature, name)
	}
	if !j.accepts(env.Signer) {
		return App{}, fmt.Errorf("%w: app %q: signed by %s, not an accepted key", ErrBadSignature, name,
			base64.RawStdEncoding.EncodeToString(env.Signer))
	}
	if !ed25519.Verify(env.Signer, j.signedMessage(key, env.App), env.Sig) {
		return App{}, fmt.Errorf("%w: app %q: the signature does not match the entry", ErrBadSignature, name)
	}
	var app App
	if err := json.Unmarshal(env.App, &app); err != nil {
		return App{}, fmt.Errorf("%w: app %q: %v", ErrCorrupt, name, err)
	}
	if app.Name != name {
		return App{}, fmt.Errorf("%w: app %q: the entry names app %q", ErrCorrupt, name, app.Name)
	}
	return app, nil
}

func (j *JetStream) accepts(k ed25519.PublicKey) bool {
	if len(k) != ed25519.PublicKeySize {
		return false
	}
	for _, t := range j.trusted {
		if t.Equal(k) {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789ABCDEF"

// appKey is the KV key of app name: "app." and the name with every byte
// outside [A-Za-z0-9_-] as =XX.
func appKey(name string) (string, error) {
	if name == "" {
		return "", errors.New("state: an app needs a name")
	}
	if len(name) > maxNameLen {
		return "", fmt.Errorf("state: app name of %d bytes: at most %d", len(name), maxNameLen)
	}
	var b strings.Builder
	b.WriteString("app.")
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String(), nil
}

// keyName is appKey's inverse; a key that is not appKey's canonical
// output is an error.
func keyName(key string) (string, error) {
	enc, ok := strings.CutPrefix(key, "app.")
	if !ok {
		return "", fmt.Errorf("state: key %q is not an app key", key)
	}
	var b strings.Builder
	for i := 0; i < len(enc); i++ {
		if enc[i] != '=' {
			b.WriteByte(enc[i])
			continue
		}
		if i+2 >= len(enc) {
			return "", fmt.Errorf("state: key %q: bad escape", key)
		}
		hi, lo := strings.IndexByte(hexDigits, enc[i+1]), strings.IndexByte(hexDigits, enc[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("state: key %q: bad escape", key)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	name := b.String()
	if k, err := appKey(name); err != nil || k != key {
		return "", fmt.Errorf("state: key %q is not canonical", key)
	}
	return name, nil
}

var _ Store = (*JetStream)(nil)
