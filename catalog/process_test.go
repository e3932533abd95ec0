package catalog

// Tests with other processes: the test binary run again as a child
// (TestMain), killed with SIGKILL at a random moment, or holding the lock.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airsstack/airssys-wasm-go/security"
)

// The child's role, directory and arguments.
const (
	childEnv = "AIRSSYS_CATALOG_CHILD"
	dirEnv   = "AIRSSYS_CATALOG_DIR"
	argEnv   = "AIRSSYS_CATALOG_ARG"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := child(role, os.Getenv(dirEnv), os.Getenv(argEnv)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs a role in a child process, printing lines the parent reads.
func child(role, dir, arg string) error {
	switch role {
	case "try-lock": // open with a short timeout, print the result
		c, err := Open(dir, Options{LockTimeout: 200 * time.Millisecond})
		if errors.Is(err, ErrLocked) {
			fmt.Println("locked")
			return nil
		}
		if err != nil {
			return err
		}
		c.Close()
		fmt.Println("opened")
		return nil
	case "hold-lock": // open and wait to be killed
		if _, err := Open(dir, Options{LockTimeout: 10 * time.Second}); err != nil {
			return err
		}
		fmt.Println("open")
		time.Sleep(time.Minute)
		return errors.New("not killed")
	case "install": // install, and collect now and then, until killed
		round, _ := strconv.Atoi(arg[:strings.IndexByte(arg, ' ')])
		priv, err := security.ParsePrivateKey(arg[strings.IndexByte(arg, ' ')+1:])
		if err != nil {
			return err
		}
		c, err := Open(dir, Options{LockTimeout: 10 * time.Second})
		if err != nil {
			return err
		}
		p, err := security.ParsePolicy("policy.toml", []byte("[policy]\nrequire-signatures = false\n"))
		if err != nil {
			return err
		}
		fmt.Println("open")
		for i := 0; ; i++ {
			name := crashNames[i%len(crashNames)]
			version := fmt.Sprintf("%d.%d.0", round, i)
			x := signed(priv, name, version, randomBytes(32<<10+rand.IntN(2<<20)))
			fmt.Println("installing", name, version)
			v, err := x.install(c, p)
			if err != nil {
				return err
			}
			fmt.Println("installed", name, version, v.Digest)
			if i%4 == 3 {
				fmt.Println("gc")
				_, removed, err := c.GC(Retention{Keep: crashKeep})
				if err != nil {
					return err
				}
				for _, v := range removed {
					fmt.Println("removed", v.Name, v.Version)
				}
				fmt.Println("gc done")
			}
		}
	}
	return fmt.Errorf("unknown role %q", role)
}

var crashNames = []string{"alpha", "beta", "gamma"}

const crashKeep = 4

// startChild runs the test binary as a child in role; its output is read
// line by line from the returned reader.
func startChild(t *testing.T, role, dir, arg string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, dirEnv+"="+dir, argEnv+"="+arg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child: %v (so far %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, Options{})
	cmd, out := startChild(t, "try-lock", dir, "")
	if got := readLine(t, out); got != "locked" {
		t.Fatalf("the child, while this process holds the directory: %q, want locked", got)
	}
	cmd.Wait()
	c.Close()
	cmd, out = startChild(t, "try-lock", dir, "")
	if got := readLine(t, out); got != "opened" {
		t.Fatalf("the child, once this process closed the directory: %q, want opened", got)
	}
	cmd.Wait()

	// A process holding the lock, then killed: the lock goes with it.
	cmd, out = startChild(t, "hold-lock", dir, "")
	if got := readLine(t, out); got != "open" {
		t.Fatalf("child: %q", got)
	}
	if _, err := Open(dir, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while the child holds the directory: %v, want ErrLocked", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	open(t, dir, Options{})
}

// TestKillDuringInstall kills a process installing (and collecting) in a
// loop at random moments with SIGKILL. After each kill, Open must work,
// every listed version must load and verify, every install the child
// reported done must be there (unless a collection was under way), and
// nothing the child had not reported may be there except the one install
// under way, whole.
func TestKillDuringInstall(t *testing.T) {
	dir := t.TempDir()
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	priv := key(t)
	pol := openPolicy(t)
	expected := map[string]bool{} // "name version" of the versions installed
	interrupted := 0              // rounds killed while a file was written
	orphaned := 0                 // rounds killed between an install's blobs and its index
	for round := 0; round < rounds; round++ {
		cmd, out := startChild(t, "install", dir, fmt.Sprintf("%d %s", round, priv.String()))
		if got := readLine(t, out); got != "open" {
			t.Fatalf("child: %q", got)
		}
		acks := rand.IntN(4)
		installing, inGC := "", false
		consume := func(line string) {
			f := strings.Fields(line)
			switch {
			case f[0] == "installing":
				installing = f[1] + " " + f[2]
			case f[0] == "installed":
				expected[f[1]+" "+f[2]], installing = true, ""
				acks--
			case line == "gc":
				inGC = true
			case f[0] == "removed":
				delete(expected, f[1]+" "+f[2])
			case line == "gc done":
				inGC = false
			default:
				t.Fatalf("child: %s", line)
			}
		}
		for acks > 0 {
			consume(readLine(t, out))
		}
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		rest, _ := io.ReadAll(out) // what it wrote before it died
		for _, line := range strings.Split(strings.TrimSpace(string(rest)), "\n") {
			if line != "" {
				consume(line)
			}
		}
		cmd.Wait()

		if left, _ := os.ReadDir(filepath.Join(dir, tmpDir)); len(left) > 0 {
			interrupted++
		}
		before := len(blobs(t, dir))
		c, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d: Open after the kill: %v", round, err)
		}
		all, err := c.List()
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		for _, v := range all {
			listed[v.Name+" "+v.Version] = true
			if _, _, err := c.Admit(v, pol); err != nil {
				t.Fatalf("round %d: %s is listed but does not load: %v", round, v, err)
			}
		}
		for nv := range listed {
			if !expected[nv] && nv != installing {
				t.Fatalf("round %d: %s is listed, but was neither reported installed nor under way", round, nv)
			}
		}
		for nv := range expected {
			if !listed[nv] && !(inGC && !topVersion(expected, nv)) {
				t.Fatalf("round %d: %s was reported installed and is gone", round, nv)
			}
		}
		// No file is left that no version uses.
		used := map[string]bool{}
		for _, v := range all {
			for _, d := range []string{v.Digest, v.ManifestDigest, v.SignatureDigest} {
				used[strings.TrimPrefix(d, "sha256:")] = true
			}
		}
		after := blobs(t, dir)
		if len(after) < before {
			orphaned++
		}
		for _, b := range after {
			if !used[b] {
				t.Fatalf("round %d: blob %s is used by no version", round, b)
			}
		}
		if left, _ := os.ReadDir(filepath.Join(dir, tmpDir)); len(left) > 0 {
			t.Fatalf("round %d: Open left %d files in tmp", round, len(left))
		}
		clear(expected)
		for nv := range listed {
			expected[nv] = true
		}
		c.Close()
	}
	t.Logf("%d rounds: %d killed while writing a file, %d between writing an install's files and its index "+
		"(or a removal's index and files); %d versions at the end", rounds, interrupted, orphaned, len(expected))
}

// topVersion reports whether nv is among the crashKeep highest versions of
// its name in set: a collection under way keeps it.
func topVersion(set map[string]bool, nv string) bool {
	name := strings.Fields(nv)[0]
	var vs []semver
	for k := range set {
		if f := strings.Fields(k); f[0] == name {
			vs = append(vs, must(parseSemver(f[1])))
		}
	}
	slices.SortFunc(vs, func(a, b semver) int { return b.compare(a) })
	me := must(parseSemver(strings.Fields(nv)[1]))
	for i := 0; i < len(vs) && i < crashKeep; i++ {
		if vs[i].compare(me) == 0 {
			return true
		}
	}
	return false
}
