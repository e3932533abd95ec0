package lattice

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// ErrAuth is a lattice authentication or authorization setting that
// cannot be used (a bad key, a missing secret, a listener left open).
var ErrAuth = errors.New("lattice: authentication")

// HostKey is a host the lattice's NATS servers admit: its name and its
// public key (an nkey user key, "U..."). It connects as that key and may
// do on NATS what HostPermissions(lattice, Host) allows, no more.
type HostKey struct {
	Host      string
	PublicKey string
}

// Permissions are what one host may do on the lattice's NATS servers:
// the subjects it may publish to and subscribe to (an entry "subject
// queue" allows only queue subscriptions of that group), and the replies
// it may send to the messages it receives (each message with a reply
// subject lets it publish ResponseMax messages there within
// ResponseExpires: nats-server's allow_responses).
type Permissions struct {
	Publish         []string
	Subscribe       []string
	ResponseMax     int
	ResponseExpires time.Duration
}

// ResponseExpires bounds how long a host may answer a message it got
// (a request's reply, an acknowledgement, a loss report): longer than the
// longest request a host serves (Config.RequestTimeout, 30s by default).
const ResponseExpires = time.Minute

// Buckets are the JetStream key-value buckets of a lattice: its desired
// state and the key-value backend. Their streams are "KV_" and the name.
func Buckets(lattice string) []string {
	return []string{"airssys_" + lattice + "_state", "airssys_" + lattice + "_kv"}
}

// ObjectStores are the JetStream object stores of a lattice: its
// components. Their streams are "OBJ_" and the name.
func ObjectStores(lattice string) []string {
	return []string{"airssys_" + lattice + "_components"}
}

// Streams are the JetStream streams a host of the lattice may use: the
// buckets', the object stores' and the durable mailboxes' (one stream,
// "airssys_<lattice>_mbox", whose subjects are not decided yet). Nothing
// else: a JetStream API call on another stream is refused by the server.
func Streams(lattice string) []string {
	var out []string
	for _, b := range Buckets(lattice) {
		out = append(out, "KV_"+b)
	}
	for _, b := range ObjectStores(lattice) {
		out = append(out, "OBJ_"+b)
	}
	return append(out, "airssys_"+lattice+"_mbox")
}

// InboxPrefix is the inbox prefix of a host's connection
// (nats.CustomInboxPrefix): replies to it (its requests', its JetStream
// calls') come there, and no other host may subscribe to it.
func InboxPrefix(lattice, host string) string {
	return "_INBOX.airssys." + lattice + "." + escapeToken(host)
}

// HostPermissions are the permissions of host in lattice (see the package
// doc): publish only with its own name in the subject (actor messages,
// publishes, heartbeats), reply to what it receives, subscribe to the
// lattice's actor subjects (queue group "actor" only), publishes,
// heartbeats and its own inbox, and the JetStream API of the lattice's
// streams only.
func HostPermissions(lattice, host string) (Permissions, error) {
	p, err := prefix(lattice)
	if err != nil {
		return Permissions{}, err
	}
	if !validHost(host) {
		return Permissions{}, fmt.Errorf("lattice: host name %q: not empty, no spaces, '.', '*' or '>'", host)
	}
	h := escapeToken(host)
	pub := []string{
		p + ".actor.*." + h, // messages to actors, from this host
		p + ".topic." + h + ".>",
		p + ".hosts." + h,
		p + ".mbox.*." + h,    // durable mailboxes: JetStream publishes, from this host
		p + ".admin.actors.*", // ps across hosts: asking a host for its actors (a read)
		// Loss reports of fire-and-forget sends, to the sending host: a
		// static permission, so that the servers keep no reply permission
		// per message delivered (allow_responses would, for a minute each).
		p + ".lost.>",
		"$JS.API.INFO",
	}
	for _, s := range Streams(lattice) {
		pub = append(pub,
			"$JS.API.STREAM.INFO."+s,
			"$JS.API.STREAM.CREATE."+s,
			"$JS.API.STREAM.UPDATE."+s,
			"$JS.API.STREAM.PURGE."+s,
			"$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.DIRECT.GET."+s,
			"$JS.API.DIRECT.GET."+s+".>",
			"$JS.API.CONSUMER.CREATE."+s,
			"$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+s+".*",
			"$JS.API.CONSUMER.INFO."+s+".*",
			"$JS.API.CONSUMER.DELETE."+s+".*",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".*",
			"$JS.ACK."+s+".>",
			"$JS.FC."+s+".>",
		)
	}
	for _, b := range Buckets(lattice) {
		pub = append(pub, "$KV."+b+".>")
	}
	for _, b := range ObjectStores(lattice) {
		pub = append(pub, "$O."+b+".>")
	}
	sub := []string{
		p + ".actor.> actor", // serving actors: the queue group only
		p + ".topic.>",
		p + ".hosts.*",
		p + ".admin.actors." + h, // answering ps for this host
		p + ".lost." + h + ".>",
		InboxPrefix(lattice, host) + ".>",
	}
	return Permissions{Publish: pub, Subscribe: sub, ResponseMax: 1, ResponseExpires: ResponseExpires}, nil
}

func (p Permissions) server() *server.Permissions {
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: slices.Clone(p.Publish)},
		Subscribe: &server.SubjectPermission{Allow: slices.Clone(p.Subscribe)},
		Response:  &server.ResponsePermission{MaxMsgs: p.ResponseMax, Expires: p.ResponseExpires},
	}
}

// checkHosts checks the hosts a server admits: valid names and keys, each
// once.
func checkHosts(hosts []HostKey) error {
	names, keys := map[string]bool{}, map[string]bool{}
	for _, h := range hosts {
		if !validHost(h.Host) {
			return fmt.Errorf("%w: host name %q", ErrAuth, h.Host)
		}
		if !nkeys.IsValidPublicUserKey(h.PublicKey) {
			return fmt.Errorf("%w: host %s: %q is not an nkey user public key", ErrAuth, h.Host, h.PublicKey)
		}
		if names[h.Host] || keys[h.PublicKey] {
			return fmt.Errorf("%w: host %s or its key listed twice", ErrAuth, h.Host)
		}
		names[h.Host], keys[h.PublicKey] = true, true
	}
	return nil
}

// AuthorizationConfig is the nats-server configuration block that admits
// hosts to lattice with exactly the permissions an embedded server gives
// them (HostPermissions): for the operator of an external NATS cluster
// (docs/lattice.md).
func AuthorizationConfig(lattice string, hosts []HostKey) (string, error) {
	if err := checkHosts(hosts); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("authorization {\n  users = [\n")
	for _, h := range hosts {
		p, err := HostPermissions(lattice, h.Host)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "    # host %s of lattice %s\n", h.Host, lattice)
		fmt.Fprintf(&b, "    {\n      nkey: %s\n      permissions: {\n", strconv.Quote(h.PublicKey))
		list := func(name string, subjects []string) {
			fmt.Fprintf(&b, "        %s: { allow: [\n", name)
			for _, s := range subjects {
				fmt.Fprintf(&b, "          %s\n", strconv.Quote(s))
			}
			b.WriteString("        ] }\n")
		}
		list("publish", p.Publish)
		list("subscribe", p.Subscribe)
		fmt.Fprintf(&b, "        allow_responses: { max: %d, expires: %q }\n", p.ResponseMax, p.ResponseExpires.String())
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String(), nil
}

// NkeyOption authenticates a connection with the nkey user seed ("SU...").
func NkeyOption(seed []byte) (nats.Option, error) {
	kp, err := nkeys.FromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: the key: %v", ErrAuth, err)
	}
	pub, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return nil, fmt.Errorf("%w: the key is not an nkey user seed", ErrAuth)
	}
	return nats.Nkey(pub, kp.Sign), nil
}

// HostOptions are the options of host's connection to lattice: its inbox
// prefix (InboxPrefix) and, when seed is set, its nkey (NkeyOption).
func HostOptions(lattice, host string, seed []byte) ([]nats.Option, error) {
	if _, err := prefix(lattice); err != nil {
		return nil, err
	}
	opts := []nats.Option{nats.CustomInboxPrefix(InboxPrefix(lattice, host))}
	if seed != nil {
		o, err := NkeyOption(seed)
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// TLSFiles are PEM files: this host's certificate and key, and the CA
// that signs the certificates of the lattice's servers and hosts.
type TLSFiles struct {
	Cert, Key, CA string
}

// Config is the mutual TLS configuration of the files: the certificate
// is presented, and a peer is accepted only with a certificate the CA
// signed (clients of a listener, servers dialed, routes both ways).
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return nil, fmt.Errorf("%w: TLS needs a certificate, its key and a CA", ErrAuth)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS certificate: %v", ErrAuth, err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS CA: %v", ErrAuth, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: TLS CA: %s holds no PEM certificate", ErrAuth, f.CA)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}

// isLoopback tells whether host (of host:port) is a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHost says whether s may name a host: one subject token.
func validHost(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n.*>")
}

// routeUser is the user name routes authenticate with (the password is
// the cluster secret).
const routeUser = "airssys-route"

// MinSecret is the shortest cluster secret accepted.
const MinSecret = 16
