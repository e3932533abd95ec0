// Package state keeps the host's desired state, the apps deployed to it,
// durably, so that after a crash (kill -9 included) `serve` brings back the
// same apps. It is one small interface, Store, so that the lattice (many
// hosts) can back it with NATS JetStream KV later; this package's Bolt is
// the single-host one, a bbolt file in the host's data directory.
//
// An app is kept as the bytes of its app file (as deployed, so that what
// is restored is exactly what was asked for) with the digest of its
// canonical form (deploying the same app twice changes nothing).
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// App is one deployed app as the desired state holds it.
type App struct {
	Name     string    `json:"name"`
	Digest   string    `json:"digest"` // of its canonical form
	Source   []byte    `json:"source"` // the app file as deployed
	Deployed time.Time `json:"deployed"`
	// Resolved records the version each of the file's component sources
	// (config.Source.String) resolved to when it was deployed, so that a
	// restart brings back the same versions without asking a registry or
	// reading a path again.
	Resolved map[string]string `json:"resolved,omitempty"` // source -> name@version
	// Actors records what an operator changed on one actor since the
	// deploy (an update or a rollback): a restart brings that back too.
	Actors map[string]ActorState `json:"actors,omitempty"`
}

// ActorState is one actor's departure from its app file.
type ActorState struct {
	Component string `json:"component,omitempty"` // name@version it runs instead of the file's
	Previous  string `json:"previous,omitempty"`  // name@version a rollback returns to
}

// Store is the desired state: the apps that should run.
type Store interface {
	// Put records app (replacing one of the same name); it is durable when
	// Put returns.
	Put(ctx context.Context, app App) error
	// Delete forgets an app (no error if absent).
	Delete(ctx context.Context, name string) error
	// Get returns an app, or ErrNotFound.
	Get(ctx context.Context, name string) (App, error)
	// List returns every app, by name.
	List(ctx context.Context) ([]App, error)
	Close() error
}

// Errors.
var (
	ErrNotFound = errors.New("state: no such app")
	ErrLocked   = errors.New("state: the state file is held by another process")
	ErrCorrupt  = errors.New("state: the state file is not valid")
)

// FileName is the state file in a host's data directory.
const FileName = "state.db"

// Bolt is a Store in a bbolt file.
type Bolt struct{ db *bolt.DB }

var appsBucket = []byte("apps")

// OpenBolt opens (creating, mode 0600) the state file of data directory
// dir; another process holding it is ErrLocked after timeout.
func OpenBolt(dir string, timeout time.Duration) (*Bolt, error) {
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	switch {
	case errors.Is(err, bolterr.ErrTimeout):
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.Is(err, bolterr.ErrInvalid), errors.Is(err, bolterr.ErrVersionMismatch),
		errors.Is(err, bolterr.ErrChecksum):
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	case err != nil:
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(appsBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: %w", err)
	}
	return &Bolt{db: db}, nil
}

// Put implements Store.
func (b *Bolt) Put(ctx context.Context, app App) error {
	if app.Name == "" {
		return errors.New("state: an app needs a name")
	}
	v, err := json.Marshal(app)
	if err != nil {
		return err
	}
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(appsBucket).Put([]byte(app.Name), v) })
}

// Delete implements Store.
func (b *Bolt) Delete(ctx context.Context, name string) error {
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(appsBucket).Delete([]byte(name)) })
}

// Get implements Store.
func (b *Bolt) Get(ctx context.Context, name string) (App, error) {
	var app App
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(appsBucket).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		if err := json.Unmarshal(v, &app); err != nil {
			return fmt.Errorf("%w: app %s: %v", ErrCorrupt, name, err)
		}
		return nil
	})
	return app, err
}

// List implements Store.
func (b *Bolt) List(ctx context.Context) ([]App, error) {
	var out []App
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(appsBucket).ForEach(func(k, v []byte) error {
			var app App
			if err := json.Unmarshal(v, &app); err != nil {
				return fmt.Errorf("%w: app %s: %v", ErrCorrupt, k, err)
			}
			out = append(out, app)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Close implements Store.
func (b *Bolt) Close() error { return b.db.Close() }

var _ Store = (*Bolt)(nil)
