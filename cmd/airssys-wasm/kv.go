package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/airsstack/airssys-wasm-go/engine"
	"github.com/airsstack/airssys-wasm-go/security"
	"github.com/airsstack/airssys-wasm-go/storage"
	"github.com/airsstack/airssys-wasm-go/storage/keyvalue"
)

// kvLockTimeout is how long the CLI waits for a database file another
// process (a running host, usually) holds before it gives up.
var kvLockTimeout = time.Second

const kvUsage = `usage:
  airssys-wasm kv ls     --data DIR [--publisher KEY] [COMPONENT [BUCKET]]
  airssys-wasm kv get    --data DIR [--publisher KEY] COMPONENT BUCKET KEY
  airssys-wasm kv put    --data DIR [--publisher KEY] COMPONENT BUCKET KEY [VALUE]
  airssys-wasm kv rm     --data DIR [--publisher KEY] COMPONENT BUCKET KEY
  airssys-wasm kv export --data DIR [--publisher KEY] COMPONENT
  airssys-wasm kv import --data DIR [--publisher KEY] COMPONENT [FILE]

DIR is a host's data directory (the database is DIR/keyvalue.db). COMPONENT
is the component's manifest name; --publisher the key that signed it
("ed25519:..." or a .pub file from keygen). Without --publisher it is the
dev space (unsigned components). ls without COMPONENT lists every
component's data. put reads the value from stdin without VALUE, import
the JSON Lines of export from stdin without FILE (all or nothing).
Exit status: 0 ok, 1 not found or refused (a quota, a database another
process holds), 2 bad usage or bad input.
`

// cmdKV is `airssys-wasm kv VERB ...`: the data of a host's data directory.
// stdin may be nil (empty).
func cmdKV(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, kvUsage)
		return exitUsage
	}
	verb := args[0]
	// The positional arguments each verb takes: at least, at most.
	want := map[string][2]int{"ls": {0, 2}, "get": {3, 3}, "put": {3, 4}, "rm": {3, 3},
		"export": {1, 1}, "import": {1, 2}}
	n, ok := want[verb]
	if !ok {
		if verb == "help" || verb == "-h" || verb == "--help" {
			fmt.Fprint(stdout, kvUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "airssys-wasm: kv: unknown verb %q\n\n%s", verb, kvUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("kv "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, kvUsage) }
	dir := fs.String("data", "", "the host's data directory (DIR/keyvalue.db)")
	pubFlag := fs.String("publisher", "", `the signer's public key ("ed25519:..." or a .pub file); none: the dev space`)
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	pos := fs.Args()
	if *dir == "" {
		return fail(stderr, exitUsage, "kv %s: --data DIR is required", verb)
	}
	if len(pos) < n[0] || len(pos) > n[1] {
		return fail(stderr, exitUsage, "kv %s: wrong number of arguments (%d)\n\n%s", verb, len(pos), kvUsage)
	}
	pub := ""
	if *pubFlag != "" {
		var err error
		if pub, err = loadPublisher(*pubFlag); err != nil {
			return fail(stderr, exitUsage, "kv %s: --publisher: %v", verb, err)
		}
	}
	var owner storage.Owner
	if len(pos) > 0 {
		owner = storage.Owner{Publisher: pub, Name: pos[0]}
		if err := checkOwnerName(owner.Name); err != nil {
			return fail(stderr, exitUsage, "kv %s: %v", verb, err)
		}
	}
	readOnly := verb == "ls" || verb == "get" || verb == "export"
	db, code := openKV(*dir, readOnly, readOnly || verb == "rm", stderr)
	if db == nil {
		return code
	}
	defer db.Close()
	k := kvCmd{ctx: ctx, db: db, owner: owner, stdout: stdout, stderr: stderr}
	switch verb {
	case "ls":
		if len(pos) == 0 {
			return k.owners(pub, *pubFlag != "")
		}
		if len(pos) == 1 {
			return k.buckets()
		}
		return k.keys(pos[1])
	case "get":
		return k.get(pos[1], pos[2])
	case "put":
		var value []byte
		if len(pos) == 4 {
			value = []byte(pos[3])
		} else {
			v, err := readBounded(stdin, storage.MaxValueBytes)
			if err != nil {
				return k.failStore("put", fmt.Errorf("the value on stdin: %w", err))
			}
			value = v
		}
		return k.put(pos[1], pos[2], value)
	case "rm":
		return k.rm(pos[1], pos[2])
	case "export":
		if err := db.Export(ctx, owner, stdout); err != nil {
			return k.failStore("export", err)
		}
		return exitOK
	case "import":
		return k.importFile(pos[1:], stdin)
	}
	return exitUsage
}

// loadPublisher reads a publisher key: "ed25519:..." as security prints
// it, or a file (a .pub from keygen) holding it. It returns the key in
// canonical form, which is how storage names the publisher's space.
func loadPublisher(s string) (string, error) {
	text := s
	if !strings.HasPrefix(strings.TrimSpace(s), "ed25519:") {
		b, err := security.ReadSmallFile(s, "public key", security.MaxSignatureFile)
		if err != nil {
			return "", fmt.Errorf(`%v (want "ed25519:..." or a .pub file)`, err)
		}
		text = string(b)
	}
	k, err := security.ParsePublicKey(text)
	if err != nil {
		return "", err
	}
	return k.String(), nil
}

// checkOwnerName checks a component name as storage takes it.
func checkOwnerName(name string) error {
	switch {
	case name == "":
		return errors.New("empty component name")
	case !utf8.ValidString(name):
		return fmt.Errorf("component name %q is not UTF-8", name)
	case len(name) > storage.MaxBucketBytes:
		return fmt.Errorf("component name is %d bytes (at most %d)", len(name), storage.MaxBucketBytes)
	}
	return nil
}

// openKV opens the database of the data directory dir; with mustExist it
// creates nothing (no database: exit 1). On failure it has reported the
// problem and returns the exit code.
func openKV(dir string, readOnly, mustExist bool, stderr io.Writer) (*storage.DB, int) {
	path := filepath.Join(dir, storage.FileName)
	opts := storage.Options{LockTimeout: kvLockTimeout, ReadOnly: readOnly}
	var db *storage.DB
	var err error
	if mustExist {
		if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) {
			return nil, fail(stderr, exitTrap, "no database in %s (%s does not exist)", dir, path)
		}
		db, err = storage.Open(path, opts)
	} else {
		db, err = storage.OpenDir(dir, opts)
	}
	switch {
	case err == nil:
		return db, exitOK
	case errors.Is(err, storage.ErrLocked):
		return nil, fail(stderr, exitRefused,
			"%s is held by another process (probably a running host using data directory %s); "+
				"gave up after %v: stop it, or try again when it is done", path, dir, kvLockTimeout)
	default:
		return nil, fail(stderr, exitUsage, "%v", err)
	}
}

// readBounded reads r (nil: empty) up to max bytes; more is an error.
func readBounded(r io.Reader, max int64) ([]byte, error) {
	if r == nil {
		return []byte{}, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", storage.ErrValueTooLarge, max)
	}
	return b, nil
}

// ownerText names an owner for people: the dev space is said so.
func ownerText(o storage.Owner) string {
	if o.Dev() {
		return fmt.Sprintf("%q in the dev space (unsigned)", o.Name)
	}
	return fmt.Sprintf("%q of publisher %s", o.Name, o.Publisher)
}

type kvCmd struct {
	ctx            context.Context
	db             *storage.DB
	owner          storage.Owner
	stdout, stderr io.Writer
}

// failStore reports a storage error with the exit code of its kind.
func (k *kvCmd) failStore(verb string, err error) int {
	var ie *storage.ImportError
	switch {
	case errors.As(err, &ie):
		return fail(k.stderr, exitUsage, "kv %s: line %d: %v (nothing was imported)", verb, ie.Line, ie.Err)
	case errors.Is(err, storage.ErrInvalidKey), errors.Is(err, storage.ErrInvalidBucket):
		return fail(k.stderr, exitUsage, "kv %s: %v", verb, err)
	case errors.Is(err, storage.ErrQuota), errors.Is(err, storage.ErrValueTooLarge):
		return fail(k.stderr, exitRefused, "kv %s: refused: %v", verb, err)
	}
	return fail(k.stderr, exitUsage, "kv %s: %v", verb, err)
}

func (k *kvCmd) owners(pub string, filter bool) int {
	owners, err := k.db.Owners(k.ctx)
	if err != nil {
		return k.failStore("ls", err)
	}
	tw := tabwriter.NewWriter(k.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PUBLISHER\tCOMPONENT\tKEYS\tBYTES")
	for _, o := range owners {
		if filter && o.Publisher != pub {
			continue
		}
		u, err := k.db.Usage(k.ctx, o)
		if err != nil {
			return k.failStore("ls", err)
		}
		p := o.Publisher
		if o.Dev() {
			p = "dev space (unsigned)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", p, o.Name, u.Keys, u.Bytes)
	}
	tw.Flush()
	return exitOK
}

func (k *kvCmd) buckets() int {
	u, err := k.db.Usage(k.ctx, k.owner)
	if err != nil {
		return k.failStore("ls", err)
	}
	ids, err := k.db.Buckets(k.ctx, k.owner)
	if err != nil {
		return k.failStore("ls", err)
	}
	fmt.Fprintf(k.stdout, "# %s: %d keys, %d bytes, %d buckets\n", ownerText(k.owner), u.Keys, u.Bytes, len(ids))
	for _, id := range ids {
		fmt.Fprintln(k.stdout, id)
	}
	return exitOK
}

func (k *kvCmd) keys(bucket string) int {
	if err := storage.CheckBucket(bucket); err != nil {
		return k.failStore("ls", err)
	}
	var all []string
	for cursor := ""; ; {
		keys, next, err := k.db.ListKeys(k.ctx, k.owner, bucket, cursor)
		if err != nil {
			return k.failStore("ls", err)
		}
		all = append(all, keys...)
		if next == "" {
			break
		}
		cursor = next
	}
	fmt.Fprintf(k.stdout, "# %s, bucket %q: %d keys\n", ownerText(k.owner), bucket, len(all))
	for _, key := range all {
		fmt.Fprintln(k.stdout, key)
	}
	return exitOK
}

func (k *kvCmd) get(bucket, key string) int {
	v, found, err := k.db.Get(k.ctx, k.owner, bucket, key)
	if err != nil {
		return k.failStore("get", err)
	}
	if !found {
		return fail(k.stderr, exitTrap, "kv get: no key %q in bucket %q of %s", key, bucket, ownerText(k.owner))
	}
	if _, err := k.stdout.Write(v); err != nil {
		return fail(k.stderr, exitUsage, "kv get: %v", err)
	}
	return exitOK
}

func (k *kvCmd) put(bucket, key string, value []byte) int {
	if err := k.db.Set(k.ctx, k.owner, bucket, key, value, storage.Limits{}); err != nil {
		return k.failStore("put", err)
	}
	return exitOK
}

func (k *kvCmd) rm(bucket, key string) int {
	// The file is locked for this process: nothing changes between the two.
	found, err := k.db.Exists(k.ctx, k.owner, bucket, key)
	if err != nil {
		return k.failStore("rm", err)
	}
	if !found {
		return fail(k.stderr, exitTrap, "kv rm: no key %q in bucket %q of %s", key, bucket, ownerText(k.owner))
	}
	if err := k.db.Delete(k.ctx, k.owner, bucket, key); err != nil {
		return k.failStore("rm", err)
	}
	return exitOK
}

func (k *kvCmd) importFile(file []string, stdin io.Reader) int {
	var r io.Reader = strings.NewReader("")
	if stdin != nil {
		r = stdin
	}
	if len(file) == 1 && file[0] != "-" {
		f, err := os.Open(file[0])
		if err != nil {
			return fail(k.stderr, exitUsage, "kv import: %v", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			return fail(k.stderr, exitUsage, "kv import: %s is not a regular file", file[0])
		}
		r = f
	}
	if err := k.db.Import(k.ctx, k.owner, r, storage.Limits{}); err != nil {
		return k.failStore("import", err)
	}
	u, err := k.db.Usage(k.ctx, k.owner)
	if err != nil {
		return k.failStore("import", err)
	}
	fmt.Fprintf(k.stdout, "imported into %s: now %d keys, %d bytes\n", ownerText(k.owner), u.Keys, u.Bytes)
	return exitOK
}

// ---- storage for call and run ----------------------------------------------

// kvHost is the Host of call and run: wasi:keyvalue and
// airssys:storage/usage, always defined, so that a component importing them
// instantiates; without --data its calls get access-denied (no session).
func kvHost() *engine.Host {
	h := engine.NewHost()
	keyvalue.Define(h)
	return h
}

// openSession opens the database of --data and the session of the
// component: owner is the manifest's name and signer (g, after admission)
// or --name in the dev space; the grant is what the admission granted, or
// every bucket of the owner's own without a manifest. On failure it has
// reported the problem and returns the exit code.
func openSession(dir, name string, g *security.Grants, audit *security.Audit, stderr io.Writer) (*storage.DB, *keyvalue.Session, int) {
	var owner storage.Owner
	var grant keyvalue.Grant
	if g != nil {
		owner = storage.Owner{Publisher: g.Publisher, Name: g.Component}
		sg := g.Storage()
		grant = keyvalue.Grant{Buckets: sg.Buckets, Read: sg.Read, Write: sg.Write, Delete: sg.Delete,
			Limits: storage.Limits{MaxBytes: sg.MaxBytes, MaxKeys: sg.MaxKeys, MaxValueBytes: sg.MaxValueBytes}}
		if len(sg.Buckets) == 0 {
			fmt.Fprintf(stderr, "airssys-wasm: storage is not granted to %s: its buckets will be refused\n", g.Component)
		}
	} else {
		owner = storage.Owner{Name: name}
		grant = keyvalue.All(storage.Limits{})
	}
	if err := checkOwnerName(owner.Name); err != nil {
		return nil, nil, fail(stderr, exitUsage, "--data: %v", err)
	}
	db, code := openKV(dir, false, false, stderr)
	if db == nil {
		return nil, nil, code
	}
	s := keyvalue.NewSession(db, owner, grant)
	if audit != nil {
		id := owner.Name
		s.Denied = func(op, bucket, why string) { audit.Denied(id, "storage."+op, bucket, why) }
	}
	return db, s, exitOK
}
