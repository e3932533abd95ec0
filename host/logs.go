package host

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"

	"github.com/airsstack/airssys-wasm-go/host/admin"
)

// logbook is a slog.Handler in front of the host's own: it passes every
// record on, keeps the most recent lines in a ring (bounded: lines, and
// each line's text by the actor system's caps) and feeds followers. A
// follower is a buffered channel; one that does not keep up loses lines,
// which are counted and reported to it, never buffered without bound.
type logbook struct {
	next  slog.Handler
	level slog.Leveler // what the book keeps, whatever next writes
	// version names the version an actor runs ("" unknown): it is added to
	// the lines of actors.
	version func(actor string) string
	attrs   []slog.Attr // from WithAttrs
	group   string      // from WithGroup (attributes under it are flattened with a prefix)
	core    *bookCore
}

type bookCore struct {
	mu        sync.Mutex
	ring      []admin.LogLine
	start, n  int
	followers map[*follower]struct{}
}

type follower struct {
	actor   string
	ch      chan admin.LogLine
	dropped uint64 // guarded by bookCore.mu
}

// followerBuffer is how many lines a follower may be behind.
const followerBuffer = 1024

func newLogbook(next slog.Handler, level slog.Leveler, lines int) *logbook {
	return &logbook{next: next, level: level, core: &bookCore{ring: make([]admin.LogLine, lines), followers: map[*follower]struct{}{}}}
}

func (b *logbook) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= b.level.Level() || b.next.Enabled(ctx, l)
}

func (b *logbook) WithAttrs(as []slog.Attr) slog.Handler {
	c := *b
	c.next = b.next.WithAttrs(as)
	c.attrs = slices.Clip(b.attrs)
	for _, a := range as {
		if b.group != "" {
			a.Key = b.group + "." + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (b *logbook) WithGroup(name string) slog.Handler {
	c := *b
	c.next = b.next.WithGroup(name)
	if b.group != "" {
		name = b.group + "." + name
	}
	c.group = name
	return &c
}

func (b *logbook) Handle(ctx context.Context, r slog.Record) error {
	line := admin.LogLine{Time: r.Time, Level: r.Level.String(), Message: r.Message}
	add := func(a slog.Attr) {
		if a.Key == "actor" {
			line.Actor = a.Value.String()
			return
		}
		if line.Attrs == nil {
			line.Attrs = map[string]string{}
		}
		if len(line.Attrs) < 32 {
			line.Attrs[a.Key] = a.Value.String()
		}
	}
	for _, a := range b.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		if b.group != "" {
			a.Key = b.group + "." + a.Key
		}
		add(a)
		return true
	})
	if line.Actor != "" && b.version != nil && (line.Attrs == nil || line.Attrs["version"] == "") {
		if v := b.version(line.Actor); v != "" {
			r.AddAttrs(slog.String("version", v))
			if line.Attrs == nil {
				line.Attrs = map[string]string{}
			}
			line.Attrs["version"] = v
		}
	}
	if r.Level >= b.level.Level() {
		b.core.add(line)
	}
	if !b.next.Enabled(ctx, r.Level) {
		return nil
	}
	return b.next.Handle(ctx, r)
}

func (c *bookCore) add(l admin.LogLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := (c.start + c.n) % len(c.ring)
	if c.n == len(c.ring) {
		c.start = (c.start + 1) % len(c.ring)
	} else {
		c.n++
	}
	c.ring[i] = l
	for f := range c.followers {
		if f.actor != "" && f.actor != l.Actor {
			continue
		}
		select {
		case f.ch <- l:
		default:
			f.dropped++
		}
	}
}

// recent returns up to tail of the latest lines of actor ("" every line).
func (c *bookCore) recent(actor string, tail int) []admin.LogLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []admin.LogLine
	for k := c.n - 1; k >= 0 && len(out) < tail; k-- {
		l := c.ring[(c.start+k)%len(c.ring)]
		if actor == "" || l.Actor == actor {
			out = append(out, l)
		}
	}
	slices.Reverse(out)
	return out
}

// Logs implements admin.Backend.
func (s *Service) Logs(ctx context.Context, q admin.LogQuery, fn func(admin.LogLine) error) error {
	if q.Tail <= 0 {
		q.Tail = admin.DefaultTail
	}
	c := s.book.core
	var f *follower
	if q.Follow {
		// Subscribe before reading the backlog: a line may come twice, never
		// be lost between the two.
		f = &follower{actor: q.Actor, ch: make(chan admin.LogLine, followerBuffer)}
		c.mu.Lock()
		c.followers[f] = struct{}{}
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.followers, f)
			c.mu.Unlock()
		}()
	}
	backlog := c.recent(q.Actor, q.Tail)
	for _, l := range backlog {
		if err := fn(l); err != nil {
			return err
		}
	}
	if f == nil {
		return nil
	}
	last := len(backlog)
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-f.ch:
			if last > 0 && containsLine(backlog, l) {
				continue // sent with the backlog already
			}
			last = 0
			if err := fn(l); err != nil {
				return err
			}
			c.mu.Lock()
			d := f.dropped
			f.dropped = 0
			c.mu.Unlock()
			if d > 0 {
				if err := fn(admin.LogLine{Time: l.Time, Level: "WARN", Message: fmt.Sprintf("%d lines dropped: this follower fell behind", d), Dropped: d}); err != nil {
					return err
				}
			}
		}
	}
}

func containsLine(ls []admin.LogLine, l admin.LogLine) bool {
	for i := len(ls) - 1; i >= 0 && i >= len(ls)-followerBuffer; i-- {
		if ls[i].Time.Equal(l.Time) && ls[i].Message == l.Message && ls[i].Actor == l.Actor {
			return true
		}
	}
	return false
}

func sortStrings(s []string) { sort.Strings(s) }
