// The key-value actor in Go (testdata/goactor_counter.wasm): the command
// protocol of the C actor actor2_kv.wasm (src/actorskv/kvagent.c, whose
// header comment is the reference), so that the same tests run against
// both. Built by src/goactor/build.sh with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
//
// Commands are text payloads, fields separated by "|". Each one that names
// a bucket opens it, does its work and closes the bucket before replying
// (a cas is consumed by its swap or closed). A refusal by the host is the
// reply "error:<e>" ("no-such-store", "access-denied", "other:<text>");
// nothing traps.
//
//	"open|<bucket>"              -> "ok"
//	"get|<bucket>|<key>"         -> "some:<value>" or "none"
//	"get64|<bucket>|<key>"       -> as get, but a found value is the reply
//	                                itself, a bytes body
//	"set|<bucket>|<key>|<value>" -> "ok" (value: the rest)
//	"del|<bucket>|<key>"         -> "ok"
//	"exists|<bucket>|<key>"      -> "true" or "false"
//	"list|<bucket>|<cursor>"     -> "<k1>,<k2>,...;<next cursor>"
//	"inc|<bucket>|<key>|<delta>" -> "<new value>"
//	"count|<bucket>|<key>"       -> increment by 1: "<new value>"
//	"cas|<bucket>|<key>|<value>" -> "swapped:<value seen, or none>" or
//	                                "cas-failed"
//	"getmany|<bucket>|<k1>,<k2>" -> "<k1>=<v1>,<k2>=none,..."
//	"setmany|<bucket>|<k1>=<v1>,<k2>=<v2>" -> "ok"
//	"delmany|<bucket>|<k1>,<k2>" -> "ok"
//	"usage"                      -> "<bytes> <keys> <max-bytes> <max-keys>
//	                                <max-value-bytes>"
//	anything else                -> "bad-command"
//
// One command more than the C actor's, to test a failed swap (the host
// hands back a token on the newer value) without a race:
//
//	"casretry|<bucket>|<key>|<value>" -> takes a token, sets the key to
//	                                "<old>+" behind its back, swap(value)
//	                                (fails), then swaps again with the
//	                                token handed back: "cas-failed,
//	                                current:<value it saw>,swapped"
//
// Replies are text when valid UTF-8, else bytes (as the C glue's
// actor_some).
package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/airsstack/airssys-wasm-go/guest"
)

type counter struct{ guest.Base }

func some(s string) *guest.Reply {
	if utf8.ValidString(s) {
		return guest.TextReply(s)
	}
	return guest.BytesReply([]byte(s))
}

var bad = some("bad-command")

func errorReply(err error) *guest.Reply { return some("error:" + err.Error()) }

func okReply(err error) *guest.Reply {
	if err != nil {
		return errorReply(err)
	}
	return some("ok")
}

// parseS64 is a whole decimal s64 with an optional "-" (no "+", no
// spaces).
func parseS64(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// split splits s at every sep; an empty s is no parts.
func split(s string, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

var bucketCommands = map[string]bool{
	"open": true, "get": true, "set": true, "del": true, "exists": true, "list": true, "inc": true,
	"cas": true, "getmany": true, "setmany": true, "delmany": true, "get64": true, "count": true,
	"casretry": true, "badkeys": true,
}

func (counter) HandleMessage(msg *guest.Message) (*guest.Reply, error) {
	p, err := msg.Text()
	if err != nil {
		return bad, nil
	}
	if p == "usage" {
		q, err := guest.Usage()
		if err != nil {
			return errorReply(err), nil
		}
		v := []uint64{q.Bytes, q.Keys, q.MaxBytes, q.MaxKeys, q.MaxValueBytes}
		var b strings.Builder
		for i, n := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(n, 10))
		}
		return some(b.String()), nil
	}
	cmd, rest, ok := strings.Cut(p, "|")
	if !ok || !bucketCommands[cmd] {
		return bad, nil
	}
	// open's bucket is the whole rest; the others' ends at the next "|".
	name, hasRest := rest, false
	if cmd != "open" {
		name, rest, hasRest = strings.Cut(rest, "|")
	}
	if !hasRest {
		rest = ""
	}
	b, err := guest.OpenBucket(name)
	if err != nil {
		return errorReply(err), nil
	}
	defer b.Close()
	return withBucket(cmd, b, hasRest, rest), nil
}

func withBucket(cmd string, b *guest.Bucket, hasRest bool, rest string) *guest.Reply {
	if cmd == "open" {
		return some("ok")
	}
	if !hasRest && cmd != "list" {
		return bad
	}
	switch cmd {
	case "get", "get64":
		v, found, err := b.Get(rest)
		switch {
		case err != nil:
			return errorReply(err)
		case !found:
			return some("none")
		case cmd == "get64":
			return guest.BytesReply(v)
		}
		return some("some:" + string(v))
	case "set":
		key, value, ok := strings.Cut(rest, "|")
		if !ok {
			return bad
		}
		return okReply(b.Set(key, []byte(value)))
	case "del":
		return okReply(b.Delete(rest))
	case "exists":
		found, err := b.Exists(rest)
		if err != nil {
			return errorReply(err)
		}
		return some(strconv.FormatBool(found))
	case "list":
		keys, next, err := b.ListKeys(rest)
		if err != nil {
			return errorReply(err)
		}
		return some(strings.Join(keys, ",") + ";" + next)
	case "inc", "count":
		key, delta := rest, int64(1)
		if cmd == "inc" {
			k, d, ok := strings.Cut(rest, "|")
			if !ok {
				return bad
			}
			if delta, ok = parseS64(d); !ok {
				return bad
			}
			key = k
		}
		v, err := b.Increment(key, delta)
		if err != nil {
			return errorReply(err)
		}
		return some(strconv.FormatInt(v, 10))
	case "cas":
		key, value, ok := strings.Cut(rest, "|")
		if !ok {
			return bad
		}
		c, err := b.NewCAS(key)
		if err != nil {
			return errorReply(err)
		}
		defer c.Close()
		old, found, err := c.Current()
		if err != nil {
			return errorReply(err)
		}
		seen := "none"
		if found {
			seen = string(old)
		}
		switch err := c.Swap([]byte(value)); {
		case err == nil:
			return some("swapped:" + seen)
		case errors.Is(err, guest.ErrCASFailed):
			return some("cas-failed")
		default:
			return errorReply(err)
		}
	case "badkeys":
		// Every call with a name, key or cursor that is not UTF-8: each
		// must be refused with ErrKeyNotUTF8, the instance alive.
		k := "\xff"
		var errs []error
		_, err := guest.OpenBucket(k)
		errs = append(errs, err)
		_, _, err = b.Get(k)
		errs = append(errs, err, b.Set(k, nil), b.Delete(k))
		_, err = b.Exists(k)
		errs = append(errs, err)
		_, _, err = b.ListKeys(k)
		errs = append(errs, err)
		_, err = b.Increment(k, 1)
		errs = append(errs, err)
		_, err = b.NewCAS(k)
		errs = append(errs, err)
		_, err = b.GetMany([]string{"ok", k})
		errs = append(errs, err, b.SetMany([]guest.KeyValue{{Key: k}}), b.DeleteMany([]string{k}))
		n := 0
		for _, err := range errs {
			if errors.Is(err, guest.ErrKeyNotUTF8) {
				n++
			}
		}
		return some(fmt.Sprintf("refused=%d/%d", n, len(errs)))
	case "casretry":
		key, value, ok := strings.Cut(rest, "|")
		if !ok {
			return bad
		}
		c, err := b.NewCAS(key)
		if err != nil {
			return errorReply(err)
		}
		defer c.Close()
		old, _, err := c.Current()
		if err != nil {
			return errorReply(err)
		}
		if err := b.Set(key, append(old, '+')); err != nil {
			return errorReply(err)
		}
		if err := c.Swap([]byte(value)); !errors.Is(err, guest.ErrCASFailed) {
			return some(fmt.Sprintf("first swap: %v", err))
		}
		now, _, err := c.Current()
		if err != nil {
			return errorReply(err)
		}
		if err := c.Swap([]byte(value)); err != nil {
			return errorReply(err)
		}
		return some("cas-failed,current:" + string(now) + ",swapped")
	case "getmany":
		keys := split(rest, ",")
		entries, err := b.GetMany(keys)
		if err != nil {
			return errorReply(err)
		}
		var out strings.Builder
		for i, e := range entries {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteString(e.Key)
			if e.Found {
				out.WriteByte('=')
				out.Write(e.Value)
			} else {
				out.WriteString("=none")
			}
		}
		return some(out.String())
	case "setmany":
		items := split(rest, ",")
		pairs := make([]guest.KeyValue, len(items))
		for i, item := range items {
			key, value, ok := strings.Cut(item, "=")
			if !ok {
				return bad
			}
			pairs[i] = guest.KeyValue{Key: key, Value: []byte(value)}
		}
		return okReply(b.SetMany(pairs))
	case "delmany":
		return okReply(b.DeleteMany(split(rest, ",")))
	}
	return bad
}

func init() { guest.Register(counter{}) }

func main() {}
